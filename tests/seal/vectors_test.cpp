// cairn's own vectors (tests/seal/data, see its README): signatures the service made and
// hand-damaged copies, each with its expected verdict. They pin the format: a change that
// breaks them breaks every signature already handed out.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "seal/publication.hpp"
#include "seal/verify.hpp"
#include "testing/testing.hpp"

namespace cairn::seal {
namespace {

namespace fs = std::filesystem;

fs::path data_dir() {
  return testing::source_dir() / "tests" / "seal" / "data";
}

TEST(SealVectors, EachGivesItsExpectedVerdict) {
  const fs::path dir = data_dir();
  auto pubfile = PublicationsFile::parse(testing::read_file(dir / "publications.bin"));
  ASSERT_TRUE(pubfile) << pubfile.error().to_string();
  ASSERT_TRUE(verify_publications_file(*pubfile, {{(dir / "publications-cert.pem").string()}, {}}));
  std::string pub_text;
  std::ifstream(dir / "publication-string.txt") >> pub_text;
  auto user_publication = decode_publication_string(pub_text);
  ASSERT_TRUE(user_publication);

  std::ifstream csv(dir / "vectors.csv");
  std::string line;
  int rows = 0;
  while (std::getline(csv, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream fields(line);
    for (std::string field; std::getline(fields, field, ';');)
      f.push_back(field);
    ASSERT_EQ(f.size(), 4u) << line;
    ++rows;
    const Bytes bytes = testing::read_file(dir / f[0]);
    auto signature = Signature::parse(bytes);
    if (f[3] == "PARSE") {
      EXPECT_FALSE(signature) << f[0];
      continue;
    }
    ASSERT_TRUE(signature) << f[0] << ": " << signature.error().to_string();
    VerificationContext ctx;
    ctx.signature = &*signature;
    ctx.publications_file = &*pubfile;
    ctx.user_publication = *user_publication;
    if (f[1].starts_with("hash:")) {
      ctx.document_hash = *Imprint::from_hex(f[1].substr(5));
    } else if (!f[1].empty()) {
      ctx.document_hash = hash_data(HashId::sha2_256, testing::read_file(dir / f[1]));
    }
    const auto result = verify(ctx, *policy_from_name(f[2]));
    if (f[3] == "OK") {
      EXPECT_EQ(result.verdict, Verdict::ok)
          << line << ": " << result.error_code << " " << result.message;
    } else {
      EXPECT_EQ(result.error_code, f[3]) << line << ": " << result.message;
      EXPECT_NE(result.verdict, Verdict::ok) << line;
    }
  }
  EXPECT_GE(rows, 15);
}

}  // namespace
}  // namespace cairn::seal

#include "learn/params.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cairn::learn {
namespace {

ParameterSet sample() {
  ParameterSet p;
  p.model_version = 7;
  p.tensors = {{"fc.weight", {2, 3}}, {"fc.bias", {2}}};
  p.values = {1.5f, -2.25f, 0.0f, 3.0f, 1e-7f, -1e7f, 0.5f, -0.5f};
  return p;
}

TEST(ParameterFormat, RoundTripsExactly) {
  const auto p = sample();
  const auto blob = encode_parameters(p);
  const auto back = decode_parameters(blob);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->model_version, 7u);
  EXPECT_EQ(back->tensors, p.tensors);
  EXPECT_EQ(back->values, p.values);
  EXPECT_EQ(back->layout_digest(), p.layout_digest());
}

TEST(ParameterFormat, HasDocumentedHeader) {
  const auto blob = encode_parameters(sample());
  EXPECT_EQ(as_chars(ByteView(blob).first(8)), "CRNPARAM");
  EXPECT_EQ(read_be(ByteView(blob).subspan(8, 2)), 1u);
  EXPECT_EQ(read_be(ByteView(blob).subspan(10, 8)), 7u);
  EXPECT_EQ(read_be(ByteView(blob).subspan(18, 4)), 2u);
  // floats little-endian: the first value 1.5f = 0x3fc00000
  const std::size_t values_at = blob.size() - 32 - 8 * 4;
  EXPECT_EQ(static_cast<int>(blob[values_at + 3]), 0x3f);
  EXPECT_EQ(static_cast<int>(blob[values_at + 2]), 0xc0);
}

TEST(ParameterFormat, RejectsEveryTruncation) {
  const auto blob = encode_parameters(sample());
  for (std::size_t n = 0; n < blob.size(); ++n) {
    EXPECT_FALSE(decode_parameters(ByteView(blob).first(n)))
        << "accepted a blob cut to " << n << " bytes";
  }
}

TEST(ParameterFormat, RejectsCorruptionByChecksum) {
  auto blob = encode_parameters(sample());
  blob[blob.size() - 40] ^= std::byte{0x01};
  const auto back = decode_parameters(blob);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().code, Errc::integrity);
  EXPECT_NE(back.error().message.find("checksum"), std::string::npos);
}

TEST(ParameterFormat, RejectsBadMagicAndVersion) {
  auto blob = encode_parameters(sample());
  auto bad_magic = blob;
  bad_magic[0] = std::byte{'X'};
  EXPECT_NE(decode_parameters(bad_magic).error().message.find("magic"), std::string::npos);
}

TEST(ParameterFormat, RejectsShapeValueMismatchEvenWithValidChecksum) {
  auto p = sample();
  p.values.pop_back();  // 7 values for shapes that need 8
  const auto back = decode_parameters(encode_parameters(p));
  ASSERT_FALSE(back);
  EXPECT_NE(back.error().message.find("does not match"), std::string::npos);
}

TEST(ParameterFormat, CheckFiniteNamesTheTensor) {
  auto p = sample();
  p.values[7] = std::numeric_limits<float>::quiet_NaN();
  const auto status = check_finite(p);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("fc.bias"), std::string::npos);
  EXPECT_TRUE(check_finite(sample()));
}

}  // namespace
}  // namespace cairn::learn

// Malformed input: every structure is bounds-checked and refused with a message, never
// read past its end; and every change to a signed file or to a covered byte of a signature
// is detected.
#include <gtest/gtest.h>

#include "seal/publication.hpp"
#include "seal/service.hpp"
#include "seal/verify.hpp"
#include "testing/testing.hpp"

namespace cairn::seal {
namespace {

Bytes hex_bytes(std::string_view hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::byte>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

TEST(Tlv, ReadsBothHeaderFormsAndFlags) {
  const Bytes tlv8 = hex_bytes("6302aabb");
  std::size_t offset = 0;
  auto element = read_tlv(tlv8, offset);
  ASSERT_TRUE(element);
  EXPECT_EQ(element->tag, 3);
  EXPECT_TRUE(element->non_critical);
  EXPECT_TRUE(element->forward);
  EXPECT_FALSE(element->tlv16);
  EXPECT_EQ(element->value.size(), 2u);
  EXPECT_EQ(offset, 4u);

  const Bytes tlv16 = hex_bytes("88010003010203");
  auto wide = read_single_tlv(tlv16);
  ASSERT_TRUE(wide);
  EXPECT_EQ(wide->tag, 0x801);
  EXPECT_TRUE(wide->tlv16);
  EXPECT_EQ(wide->value.size(), 3u);
}

TEST(Tlv, RefusesTruncatedAndOversizedInput) {
  for (const char* hex : {"", "03", "0305aabb", "8801", "880100", "88010005aabbccdd"}) {
    const Bytes input = hex_bytes(hex);
    auto element = read_single_tlv(input);
    EXPECT_FALSE(element) << hex;
    if (!element) {
      EXPECT_EQ(element.error().code, Errc::parse);
    }
  }
  EXPECT_FALSE(read_single_tlv(hex_bytes("0301aabb")));  // trailing byte after the element
  const Bytes nine_bytes = hex_bytes("010203040506070809");
  EXPECT_FALSE(tlv_uint(TlvElement{2, false, false, false, nine_bytes, nine_bytes}));
}

TEST(Tlv, StringsNeedTheirTerminatingZero) {
  const Bytes good = hex_bytes("616200");
  const Bytes bad = hex_bytes("6162");
  const Bytes embedded = hex_bytes("610000");
  EXPECT_EQ(*tlv_utf8(TlvElement{1, false, false, false, good, good}), "ab");
  EXPECT_FALSE(tlv_utf8(TlvElement{1, false, false, false, bad, bad}));
  EXPECT_FALSE(tlv_utf8(TlvElement{1, false, false, false, embedded, embedded}));
}

class SignedFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto keys = ServiceKeys::generate();
    ServiceOptions options;
    options.round = std::chrono::milliseconds(60'000);
    service_ = std::move(*SigningService::in_memory(options, *keys));
    document_ = testing::pseudo_random_bytes(300, 11);
    auto future = service_->submit(hash_data(HashId::sha2_256, document_), 0, "fixture");
    service_->tick(true);
    signature_bytes_ = future.get()->serialize();
    pubfile_bytes_ = *service_->publications_file();
  }
  static void TearDownTestSuite() { service_.reset(); }

  static VerificationResult check(ByteView signature_bytes, ByteView document) {
    auto signature = Signature::parse(signature_bytes);
    if (!signature) return {Verdict::fail, "PARSE", "", signature.error().message};
    auto file = PublicationsFile::parse(pubfile_bytes_);
    VerificationContext ctx;
    ctx.signature = &*signature;
    ctx.document_hash = hash_data(HashId::sha2_256, document);
    ctx.publications_file = &*file;
    return verify(ctx, Policy::key_based);
  }

  static inline std::unique_ptr<SigningService> service_;
  static inline Bytes document_;
  static inline Bytes signature_bytes_;
  static inline Bytes pubfile_bytes_;
};

TEST_F(SignedFixture, TheUntouchedSignatureVerifies) {
  const auto result = check(signature_bytes_, document_);
  EXPECT_EQ(result.verdict, Verdict::ok) << result.error_code << " " << result.message;
}

TEST_F(SignedFixture, ChangingAnyByteOfTheSignedFileIsDetected) {
  for (std::size_t i = 0; i < document_.size(); ++i) {
    Bytes changed = document_;
    changed[i] ^= std::byte{0x01};
    const auto result = check(signature_bytes_, changed);
    EXPECT_EQ(result.error_code, "GEN-01") << "byte " << i;
  }
  Bytes longer = document_;
  longer.push_back(std::byte{0});
  EXPECT_EQ(check(signature_bytes_, longer).error_code, "GEN-01");
}

TEST_F(SignedFixture, ChangingAnyByteOfTheSignatureIsDetected) {
  // Every byte of a cairn signature is covered: by the chain hashes, the chain shape and
  // time rules, or the Ed25519 signature; each flip must end in a parse error, FAIL or NA.
  for (std::size_t i = 0; i < signature_bytes_.size(); ++i) {
    for (std::byte mask : {std::byte{0x01}, std::byte{0x80}}) {
      Bytes changed = signature_bytes_;
      changed[i] ^= mask;
      const auto result = check(changed, document_);
      EXPECT_NE(result.verdict, Verdict::ok) << "byte " << i << " mask " << int(mask);
    }
  }
}

TEST_F(SignedFixture, TruncationsNeverParse) {
  for (std::size_t length = 0; length < signature_bytes_.size(); ++length) {
    EXPECT_FALSE(Signature::parse(ByteView(signature_bytes_).first(length))) << length;
  }
}

TEST_F(SignedFixture, UnknownNonCriticalElementsAreSkippedAndCriticalOnesRefused) {
  auto parsed = Signature::parse(signature_bytes_);
  ASSERT_TRUE(parsed);
  const TlvElement root = *read_single_tlv(signature_bytes_);
  Bytes extra_noncritical(root.value.begin(), root.value.end());
  write_tlv(extra_noncritical, 0x1F, hex_bytes("0102"), /*non_critical=*/true);
  Bytes with_noncritical;
  write_tlv(with_noncritical, tag::signature, extra_noncritical);
  auto skipped = Signature::parse(with_noncritical);
  ASSERT_TRUE(skipped) << skipped.error().to_string();
  EXPECT_EQ(check(with_noncritical, document_).verdict, Verdict::ok);

  Bytes extra_critical(root.value.begin(), root.value.end());
  write_tlv(extra_critical, 0x1F, hex_bytes("0102"));
  Bytes with_critical;
  write_tlv(with_critical, tag::signature, extra_critical);
  auto refused = Signature::parse(with_critical);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("unknown critical element"), std::string::npos);
}

TEST(SignatureParser, RefusesDeepNestingAndGarbageWithoutCrashing) {
  Bytes nested = hex_bytes("0100");
  for (int depth = 0; depth < 2000; ++depth) {
    Bytes outer;
    write_tlv(outer, depth % 2 ? 0x801 : 0x800, nested);
    nested = std::move(outer);
    if (nested.size() > 60000) break;
  }
  EXPECT_FALSE(Signature::parse(nested));
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    const Bytes noise = testing::pseudo_random_bytes(seed % 97 + 1, seed);
    EXPECT_FALSE(Signature::parse(noise));
    EXPECT_FALSE(PublicationsFile::parse(noise));
    EXPECT_FALSE(parse_extend_response(noise));
  }
}

TEST(PublicationString, RoundTripsAndCatchesTypos) {
  PublishedData data;
  data.publication_time = 1710452045;
  data.published_hash = hash_data(HashId::sha2_256, as_bytes("root"));
  const std::string text = encode_publication_string(data);
  EXPECT_EQ(text.size(), 72u + 11u);  // 72 base32 letters in groups of six
  auto decoded = decode_publication_string(text);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, data);
  std::string typo = text;
  typo[10] = typo[10] == 'A' ? 'B' : 'A';
  auto refused = decode_publication_string(typo);
  ASSERT_FALSE(refused);
  EXPECT_FALSE(decode_publication_string("AAAA"));
}

TEST(PublicationString, DecodesAKnownGuardtimePublication) {
  // A publication string from the KSI test pack's csv (signature-extended.ksig row).
  auto decoded = decode_publication_string(
      "AAAAAA-DF6NWU-2ANERL-ZQKP5E-WEEQEF-JT76EI-HLTKXG-FQKRZC-ZJJV4E-LAJNHZ-2WY22Z-C3V2JA");
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->publication_time, 1710452045u);
  EXPECT_EQ(decoded->published_hash.hex(),
            "01a48af3053fa4b109021533ff8883ae6ab98b054722ca535e11604b4f9d5b1ad6");
}

TEST(AggregationTree, EveryLeafChainReachesTheRootAtItsLevel) {
  for (std::size_t n : {1u, 2u, 3u, 5u, 8u, 13u, 100u}) {
    std::vector<TreeLeaf> leaves;
    for (std::size_t i = 0; i < n; ++i) {
      leaves.push_back({hash_data(HashId::sha2_256, as_bytes(std::to_string(i))),
                        static_cast<std::uint8_t>(i % 3)});
    }
    auto tree = AggregationTree::build(leaves, HashId::sha2_256);
    ASSERT_TRUE(tree);
    for (std::size_t i = 0; i < n; ++i) {
      AggregationChain chain = make_chain(leaves[i].hash, tree->path(i), HashId::sha2_256, 1, {});
      if (chain.links.empty()) {
        EXPECT_EQ(tree->root(), leaves[i].hash);
        continue;
      }
      auto result = compute_aggregation_chain(chain, leaves[i].hash, leaves[i].level);
      ASSERT_TRUE(result);
      EXPECT_EQ(result->hash, tree->root()) << n << "/" << i;
      EXPECT_EQ(result->level, tree->root_level());
    }
  }
}

}  // namespace
}  // namespace cairn::seal

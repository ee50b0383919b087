#include "store/cid.hpp"

#include <gtest/gtest.h>

#include "base/encoding.hpp"

namespace cairn::store {
namespace {

TEST(Cid, RawLeafOfHelloWorldMatchesIpfs) {
  const auto cid = Cid::of(codec::kRaw, as_bytes(std::string_view("hello world")));
  EXPECT_EQ(cid.to_string(), "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
  EXPECT_EQ(Cid::of(codec::kRaw, {}).to_string(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
}

TEST(Cid, ParsesAndPrintsV1RoundTrip) {
  const std::string text = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
  const auto cid = Cid::parse(text).value();
  EXPECT_EQ(cid.version(), 1);
  EXPECT_EQ(cid.codec(), codec::kDagPb);
  EXPECT_EQ(cid.hash().code, multihash_code::kSha2_256);
  EXPECT_EQ(cid.to_string(), text);
  EXPECT_EQ(Cid::decode(cid.bytes()).value(), cid);
}

TEST(Cid, ParsesV0AndConvertsToV1) {
  const auto v0 = Cid::parse("QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n").value();
  EXPECT_EQ(v0.version(), 0);
  EXPECT_EQ(v0.to_string(), "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n");
  EXPECT_EQ(v0.to_v1().to_string(), "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
}

TEST(Cid, Base58V1IsAccepted) {
  const auto cid = Cid::of(codec::kRaw, as_bytes(std::string_view("x")));
  const auto z = "z" + base58btc_encode(cid.bytes());
  EXPECT_EQ(Cid::parse(z).value(), cid);
}

TEST(Cid, VerifiesBlocks) {
  const auto data = as_bytes(std::string_view("block"));
  const auto cid = Cid::of(codec::kRaw, data);
  EXPECT_TRUE(cid.matches(data).value());
  EXPECT_FALSE(cid.matches(as_bytes(std::string_view("blocK"))).value());
  const auto odd = Cid::v1(codec::kRaw, Multihash{0x1e, Bytes(32)});  // blake3: unsupported
  EXPECT_EQ(odd.matches(data).error().code, Errc::unsupported);
}

TEST(Cid, RejectsMalformedText) {
  for (const char* bad : {"", "b", "bafy", "Qm", "xafkrei",
                          "bAFKREIFZJUT3TE2NHYEKKLSS27NH3K72YSCO7Y32KOAO5EEI66WOF36N5E",
                          "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5", "z0OIl",
                          "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5eaa"}) {
    const auto r = Cid::parse(bad);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::parse) << bad;
    }
  }
}

TEST(Cid, RejectsMalformedBinary) {
  const auto good = Cid::of(codec::kRaw, {}).bytes();
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_FALSE(Cid::decode(ByteView(good).first(cut)).has_value()) << cut;
  }
  auto v2 = good;
  v2[0] = std::byte{2};
  EXPECT_FALSE(Cid::decode(v2).has_value());
  auto long_digest = from_hex("0155128101").value();  // sha2-256 claiming 129 bytes
  EXPECT_FALSE(Cid::decode(long_digest).has_value());
  auto wrong_length = from_hex("01551210").value();  // sha2-256 with 16 bytes
  wrong_length.resize(wrong_length.size() + 16);
  EXPECT_FALSE(Cid::decode(wrong_length).has_value());
}

TEST(Cid, DecodePrefixReportsItsLength) {
  const auto cid = Cid::of(codec::kDagPb, as_bytes(std::string_view("x")));
  Bytes buffer = cid.bytes();
  buffer.push_back(std::byte{0xaa});
  std::size_t consumed = 0;
  EXPECT_EQ(Cid::decode_prefix(buffer, consumed).value(), cid);
  EXPECT_EQ(consumed, cid.bytes().size());
}

}  // namespace
}  // namespace cairn::store

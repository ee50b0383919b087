#include "base/encoding.hpp"

#include <gtest/gtest.h>

#include "testing/testing.hpp"

namespace cairn {
namespace {

TEST(Hex, RoundTripsAllByteValues) {
  Bytes all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::byte>(i));
  const auto text = to_hex(all);
  EXPECT_EQ(text.substr(0, 8), "00010203");
  EXPECT_EQ(text.substr(text.size() - 4), "feff");
  EXPECT_EQ(from_hex(text).value(), all);
}

TEST(Hex, AcceptsUpperCaseAndOptionalPrefix) {
  EXPECT_EQ(from_hex("ABcd").value(), to_bytes(std::string_view("\xab\xcd")));
  EXPECT_EQ(from_hex("0xabcd", true).value(), to_bytes(std::string_view("\xab\xcd")));
  EXPECT_FALSE(from_hex("0xabcd", false).has_value());
}

TEST(Hex, RejectsOddLengthAndBadDigits) {
  EXPECT_EQ(from_hex("abc").error().code, Errc::parse);
  EXPECT_EQ(from_hex("zz").error().code, Errc::parse);
}

// RFC 4648 section 10 vectors, lower case and without padding.
TEST(Base32, MatchesRfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},         {"f", "my"},          {"fo", "mzxq"},          {"foo", "mzxw6"},
      {"foob", "mzxw6yq"}, {"fooba", "mzxw6ytb"}, {"foobar", "mzxw6ytboi"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base32_encode(as_bytes(plain)), encoded);
    EXPECT_EQ(base32_decode(encoded).value(), to_bytes(plain));
  }
  EXPECT_EQ(base32_encode(as_bytes(std::string_view("foobar")), Base32Case::upper), "MZXW6YTBOI");
  EXPECT_EQ(base32_decode("MZXW6YTBOI").value(), to_bytes(std::string_view("foobar")));
}

TEST(Base32, RejectsBadCharactersAndNonCanonicalEndings) {
  EXPECT_FALSE(base32_decode("mzxw6yt1").has_value());  // '1' is not in the alphabet
  EXPECT_FALSE(base32_decode("mzxw6=").has_value());
  EXPECT_FALSE(base32_decode("mz").has_value());   // "my" is the encoding of "f"; "mz" has stray bits
  EXPECT_FALSE(base32_decode("m").has_value());    // 5 bits cannot end a byte string
}

TEST(Base32, RoundTripsRandomInputs) {
  for (std::size_t n = 0; n < 100; ++n) {
    const auto data = testing::pseudo_random_bytes(n, n);
    EXPECT_EQ(base32_decode(base32_encode(data)).value(), data);
  }
}

TEST(Base58, MatchesKnownVectors) {
  EXPECT_EQ(base58btc_encode(as_bytes(std::string_view("hello world"))), "StV1DL6CwTryKyV");
  EXPECT_EQ(base58btc_encode(to_bytes(std::string_view("\0\0\x01", 3))), "112");
  EXPECT_EQ(base58btc_encode({}), "");
  // The CIDv0 of the empty UnixFS directory.
  const auto multihash =
      from_hex("12205991d4e9e3b3f5b2e8ba0ea0b7da63d0c1f1d92b1bf98f1ec8f1c7dd9aa6bf23").value();
  EXPECT_EQ(base58btc_decode(base58btc_encode(multihash)).value(), multihash);
  EXPECT_EQ(base58btc_decode("StV1DL6CwTryKyV").value(), to_bytes(std::string_view("hello world")));
}

TEST(Base58, RejectsCharactersOutsideTheAlphabet) {
  EXPECT_FALSE(base58btc_decode("0OIl").has_value());
  EXPECT_FALSE(base58btc_decode("abc\xff").has_value());
}

TEST(Base58, RoundTripsRandomInputsWithLeadingZeros) {
  for (std::size_t n = 0; n < 64; ++n) {
    auto data = testing::pseudo_random_bytes(n, 1000 + n);
    if (n > 2) data[0] = data[1] = std::byte{0};
    EXPECT_EQ(base58btc_decode(base58btc_encode(data)).value(), data);
  }
}

}  // namespace
}  // namespace cairn

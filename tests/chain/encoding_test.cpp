// RLP, U256, EIP-55 addresses: known vectors and malformed input.
#include "base/encoding.hpp"

#include <gtest/gtest.h>

#include "chain/address.hpp"
#include "chain/rlp.hpp"
#include "chain/u256.hpp"

namespace cairn::chain {
namespace {

Bytes hex(std::string_view text) {
  return from_hex(text, true).value();
}

TEST(Rlp, EncodesYellowPaperExamples) {
  EXPECT_EQ(to_hex(rlp::encode_bytes(as_bytes(std::string_view("dog")))), "83646f67");
  EXPECT_EQ(to_hex(rlp::encode_list({rlp::encode_bytes(as_bytes(std::string_view("cat"))),
                                     rlp::encode_bytes(as_bytes(std::string_view("dog")))})),
            "c88363617483646f67");
  EXPECT_EQ(to_hex(rlp::encode_bytes({})), "80");
  EXPECT_EQ(to_hex(rlp::encode_list({})), "c0");
  EXPECT_EQ(to_hex(rlp::encode_uint(std::uint64_t{0})), "80");
  EXPECT_EQ(to_hex(rlp::encode_uint(std::uint64_t{15})), "0f");
  EXPECT_EQ(to_hex(rlp::encode_uint(std::uint64_t{1024})), "820400");
  // The set-theoretical representation of three: [ [], [[]], [ [], [[]] ] ].
  const Bytes empty = rlp::encode_list({});
  const Bytes one = rlp::encode_list({empty});
  EXPECT_EQ(to_hex(rlp::encode_list({empty, one, rlp::encode_list({empty, one})})),
            "c7c0c1c0c3c0c1c0");
  const std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
  EXPECT_EQ(to_hex(rlp::encode_bytes(as_bytes(lorem))).substr(0, 4), "b838");
}

TEST(Rlp, RoundTripsNestedItems) {
  rlp::Item item{std::vector<rlp::Item>{rlp::Item{Bytes(60, std::byte{7})},
                                        rlp::Item{std::vector<rlp::Item>{rlp::Item{Bytes{}}}},
                                        rlp::Item{Bytes{std::byte{0x7f}}}}};
  const Bytes encoded = rlp::encode(item);
  const auto decoded = rlp::decode(encoded);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(rlp::encode(*decoded), encoded);
  EXPECT_EQ(decoded->list()[0].bytes().size(), 60u);
}

TEST(Rlp, RejectsNonCanonicalAndTruncatedInput) {
  const auto rejects = [](std::string_view hex_text, std::string_view why) {
    const auto result = rlp::decode(hex(hex_text));
    ASSERT_FALSE(result) << hex_text;
    EXPECT_NE(result.error().message.find(why), std::string::npos) << result.error().message;
  };
  rejects("", "unexpected end");
  rejects("8100", "single byte below 0x80");  // 0x00 must be encoded as itself
  rejects("83646f", "only 2 remain");         // truncated string
  rejects("b80100", "long form used for a short length");
  rejects("b9000100", "leading zero");
  rejects("c883636174", "remain");  // list longer than input
  rejects("8080", "trailing");
  rejects("bf", "truncated length");
  // Nesting is bounded, so hostile input cannot exhaust the stack.
  Bytes deep = rlp::encode_list({});
  for (int i = 0; i < 100; ++i)
    deep = rlp::encode_list({deep});
  const auto nested = rlp::decode(deep);
  ASSERT_FALSE(nested);
  EXPECT_NE(nested.error().message.find("nested deeper"), std::string::npos);
}

TEST(Rlp, IntegerFieldsMustBeCanonical) {
  EXPECT_FALSE(rlp::to_uint(rlp::Item{hex("0001")}));
  EXPECT_FALSE(rlp::to_u64(rlp::Item{Bytes(9, std::byte{1})}));
  EXPECT_EQ(rlp::to_u64(rlp::Item{hex("0400")}).value(), 1024u);
}

TEST(U256, ParsesAndFormats) {
  const auto max =
      U256::parse("115792089237316195423570985008687907853269984665640564039457584007913129639935")
          .value();
  EXPECT_EQ(max, U256::max());
  EXPECT_FALSE(U256::parse(
      "115792089237316195423570985008687907853269984665640564039457584007913129639936"));
  EXPECT_EQ(U256::parse("0x0de0b6b3a7640000").value().to_decimal(), "1000000000000000000");
  EXPECT_EQ(U256::parse_amount("1.5ether").value().to_decimal(), "1500000000000000000");
  EXPECT_EQ(U256::parse_amount("2gwei").value().to_decimal(), "2000000000");
  EXPECT_EQ(U256::parse_amount("7").value().to_decimal(), "7");
  EXPECT_FALSE(U256::parse_amount("1.5wei"));
  EXPECT_FALSE(U256::parse("12a"));
  EXPECT_EQ(U256(1500000000000000000ULL).to_ether_string(), "1.5");
  EXPECT_EQ(U256(0).to_hex(), "0x0");
  EXPECT_EQ(U256(255).to_hex(), "0xff");
  EXPECT_FALSE(U256::max().checked_add(U256(1)));
  EXPECT_FALSE(U256(1).checked_sub(U256(2)));
}

// EIP-55's own examples.
TEST(Address, Eip55Checksums) {
  for (const char* text :
       {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
    const auto address = Address::parse(text);
    ASSERT_TRUE(address) << text;
    EXPECT_EQ(address->to_checksum(), text);
  }
}

TEST(Address, RejectsBadChecksumAndShapes) {
  const auto typo = Address::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD");
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("EIP-55"), std::string::npos);
  EXPECT_TRUE(
      Address::parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"));  // unchecked lower case
  EXPECT_FALSE(Address::parse("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"));
  EXPECT_FALSE(Address::parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea"));
  EXPECT_FALSE(Address::parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg"));
}

}  // namespace
}  // namespace cairn::chain

#include "chain/abi.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "chain/contracts.hpp"

namespace cairn::chain::abi {
namespace {

Bytes hex(std::string_view text) {
  return from_hex(text, true).value();
}

// The examples of the Solidity ABI specification.
TEST(Abi, SpecExampleBaz) {
  Function baz{"baz", {{"", Type::uint(32)}, {"", Type::boolean()}}, {}, "nonpayable"};
  EXPECT_EQ(to_hex(baz.selector()), "cdcd77c0");
  const auto call = baz.encode_call({Value(69), Value(true)}).value();
  EXPECT_EQ(to_hex(call),
            "cdcd77c0"
            "0000000000000000000000000000000000000000000000000000000000000045"
            "0000000000000000000000000000000000000000000000000000000000000001");
}

TEST(Abi, SpecExampleDynamicTypes) {
  // sam(bytes,bool,uint256[]) with ("dave", true, [1,2,3])
  Function sam{
      "sam", {{"", Type::bytes()}, {"", Type::boolean()}, {"", Type::array(Type::uint())}}, {}, ""};
  EXPECT_EQ(to_hex(sam.selector()), "a5643bf2");
  const auto call =
      sam.encode_call({Value::text("dave"), Value(true), Value(ValueList{1, 2, 3})}).value();
  EXPECT_EQ(to_hex(call),
            "a5643bf2"
            "0000000000000000000000000000000000000000000000000000000000000060"
            "0000000000000000000000000000000000000000000000000000000000000001"
            "00000000000000000000000000000000000000000000000000000000000000a0"
            "0000000000000000000000000000000000000000000000000000000000000004"
            "6461766500000000000000000000000000000000000000000000000000000000"
            "0000000000000000000000000000000000000000000000000000000000000003"
            "0000000000000000000000000000000000000000000000000000000000000001"
            "0000000000000000000000000000000000000000000000000000000000000002"
            "0000000000000000000000000000000000000000000000000000000000000003");
  const auto decoded = decode(types_of(sam.inputs), ByteView(call).subspan(4)).value();
  EXPECT_EQ(decoded[0].as_string().value(), "dave");
  EXPECT_EQ(decoded[2].as_list().value().size(), 3u);
}

TEST(Abi, SpecExampleNestedDynamicArrays) {
  // f(uint256,uint32[],bytes10,bytes) with (0x123, [0x456, 0x789], "1234567890", "Hello, world!")
  const std::vector<Type> types{Type::uint(), Type::array(Type::uint(32)), Type::fixed_bytes(10),
                                Type::bytes()};
  const ValueList values{Value(0x123), Value(ValueList{0x456, 0x789}), Value::text("1234567890"),
                         Value::text("Hello, world!")};
  const auto encoded = encode(types, values).value();
  EXPECT_EQ(to_hex(encoded),
            "0000000000000000000000000000000000000000000000000000000000000123"
            "0000000000000000000000000000000000000000000000000000000000000080"
            "3132333435363738393000000000000000000000000000000000000000000000"
            "00000000000000000000000000000000000000000000000000000000000000e0"
            "0000000000000000000000000000000000000000000000000000000000000002"
            "0000000000000000000000000000000000000000000000000000000000000456"
            "0000000000000000000000000000000000000000000000000000000000000789"
            "000000000000000000000000000000000000000000000000000000000000000d"
            "48656c6c6f2c20776f726c642100000000000000000000000000000000000000");
  const auto decoded = decode(types, encoded).value();
  EXPECT_EQ(decoded[3].as_string().value(), "Hello, world!");
  EXPECT_EQ(decoded[1].as_list().value()[1].as_uint().value(), U256(0x789));
}

TEST(Abi, TuplesAndStaticArraysRoundTrip) {
  const auto type = Type::parse("(address,uint256[2],(string,bool)[])").value();
  EXPECT_EQ(type.canonical(), "(address,uint256[2],(string,bool)[])");
  EXPECT_TRUE(type.is_dynamic());
  const Address a = Address::parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").value();
  const Value value(ValueList{Value(a), Value(ValueList{7, 8}),
                              Value(ValueList{Value(ValueList{Value::text("x"), Value(true)}),
                                              Value(ValueList{Value::text("yz"), Value(false)})})});
  const auto encoded = encode({type}, {value}).value();
  const auto decoded = decode({type}, encoded).value();
  EXPECT_EQ(encode({type}, decoded).value(), encoded);
  const auto json = to_json(type, decoded[0]);
  EXPECT_EQ(json[0], "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  EXPECT_EQ(json[2][1][0], "yz");
}

TEST(Abi, RejectsMalformedData) {
  const std::vector<Type> types{Type::bytes()};
  // Offset pointing past the end.
  Bytes data = hex("00000000000000000000000000000000000000000000000000000000000000ff");
  EXPECT_FALSE(decode(types, data));
  // Length larger than the data.
  data =
      hex("0000000000000000000000000000000000000000000000000000000000000020"
          "0000000000000000000000000000000000000000000000000000000000000040");
  EXPECT_FALSE(decode(types, data));
  // Truncated static word.
  EXPECT_FALSE(decode({Type::uint()}, hex("00")));
  // Address with dirty upper bytes, bool of 2, uint8 out of range.
  EXPECT_FALSE(decode({Type::address()},
                      hex("ff00000000000000000000005aaeb6053f3e94c9b9a09f33669435e7ef1beaed")));
  EXPECT_FALSE(decode({Type::boolean()},
                      hex("0000000000000000000000000000000000000000000000000000000000000002")));
  EXPECT_FALSE(decode({Type::uint(8)},
                      hex("0000000000000000000000000000000000000000000000000000000000000100")));
  // A hostile array length does not allocate: it is refused.
  data =
      hex("0000000000000000000000000000000000000000000000000000000000000020"
          "00000000000000000000000000000000000000000000000000000000ffffffff");
  const auto huge = decode({Type::array(Type::uint())}, data);
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("exceeds the data size"), std::string::npos);
  // A length that is small enough to pass the size check but still too many elements.
  data =
      hex("0000000000000000000000000000000000000000000000000000000000000020"
          "0000000000000000000000000000000000000000000000000000000000000002"
          "0000000000000000000000000000000000000000000000000000000000000001");
  const auto short_array = decode({Type::array(Type::uint())}, data);
  ASSERT_FALSE(short_array);
  EXPECT_NE(short_array.error().message.find("does not fit"), std::string::npos);
}

TEST(Abi, RejectsBadTypesAndValues) {
  EXPECT_FALSE(Type::parse("uint7"));
  EXPECT_FALSE(Type::parse("bytes33"));
  EXPECT_FALSE(Type::parse("(uint256"));
  EXPECT_FALSE(Type::parse("fixed128x18"));
  EXPECT_FALSE(encode({Type::uint(8)}, {Value(256)}));
  EXPECT_FALSE(encode({Type::fixed_bytes(32)}, {Value(Bytes(31))}));
  EXPECT_FALSE(encode({Type::address()}, {Value(1)}));
  EXPECT_FALSE(encode({Type::uint()}, {}));
}

TEST(Abi, SignedIntegers) {
  const U256 minus_one = U256::max();
  const auto encoded = encode({Type::int_(8)}, {Value(minus_one)}).value();
  const auto decoded = decode({Type::int_(8)}, encoded).value();
  EXPECT_EQ(to_json(Type::int_(8), decoded[0]), "-1");
  // Not sign-extended: rejected.
  EXPECT_FALSE(decode({Type::int_(8)},
                      hex("00000000000000000000000000000000000000000000000000000000000000ff")));
}

TEST(Abi, RevertReasons) {
  // Error(string) as solc and every node return it.
  const auto error =
      decode_revert(hex("08c379a0"
                        "0000000000000000000000000000000000000000000000000000000000000020"
                        "000000000000000000000000000000000000000000000000000000000000001a"
                        "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000"),
                    nullptr);
  EXPECT_EQ(error.kind, RevertReason::Kind::error_string);
  EXPECT_EQ(error.message, "Not enough Ether provided.");
  const auto panic = decode_revert(encode_panic(0x11), nullptr);
  EXPECT_EQ(panic.kind, RevertReason::Kind::panic);
  EXPECT_EQ(panic.message, "Panic(0x11): arithmetic overflow or underflow");
  EXPECT_EQ(decode_revert({}, nullptr).kind, RevertReason::Kind::empty);
  EXPECT_EQ(decode_revert(hex("0102"), nullptr).kind, RevertReason::Kind::unknown);
  // A truncated Error(string) is reported as unrecognised, not misread.
  EXPECT_EQ(decode_revert(hex("08c379a00000"), nullptr).kind, RevertReason::Kind::unknown);
}

TEST(Abi, CustomErrorsAndEventsFromTheDataTransferAbi) {
  const auto artifact = find_contract("DataTransfer").value();
  const auto abi = ContractAbi::parse(artifact.abi_json).value();
  ASSERT_NE(abi.function("initTransaction"), nullptr);
  EXPECT_EQ(abi.function("initTransaction")->signature(),
            "initTransaction(address,bytes32,bytes32)");
  EXPECT_EQ(abi.function("provideData")->signature(), "provideData(uint256,bytes32,bytes32)");
  for (const char* name :
       {"verifiedData", "cancel", "requestForcefulRefund", "requestForcefulSettle",
        "executeForcefulRefund", "executeForcefulSettle"}) {
    ASSERT_NE(abi.function(name), nullptr) << name;
    EXPECT_EQ(abi.function(name)->signature(), std::string(name) + "(uint256)");
  }
  ASSERT_TRUE(abi.constructor());
  EXPECT_EQ(abi.constructor()->signature(), "(address,uint256)");
  // Custom error with an argument.
  const ErrorDef* unknown = nullptr;
  for (const auto& e : abi.errors()) {
    if (e.name == "UnknownDeal") unknown = &e;
  }
  ASSERT_NE(unknown, nullptr);
  const auto selector = unknown->selector();
  Bytes data(selector.begin(), selector.end());
  append(data, encode({Type::uint()}, {Value(42)}).value());
  const auto reason = decode_revert(data, &abi);
  EXPECT_EQ(reason.kind, RevertReason::Kind::custom);
  EXPECT_EQ(reason.message, "UnknownDeal(42)");
  // Events: topic0 is keccak of the signature, indexed arguments come from topics.
  const Event* provided = abi.event("DataProvided");
  ASSERT_NE(provided, nullptr);
  EXPECT_EQ(provided->signature(), "DataProvided(uint256,bytes32,bytes32)");
  ByteArray<32> deal_topic{};
  deal_topic[31] = std::byte{5};
  const ByteArray<32> key_digest = [] {
    ByteArray<32> k;
    k.fill(std::byte{0xaa});
    return k;
  }();
  const ByteArray<32> data_digest = [] {
    ByteArray<32> k;
    k.fill(std::byte{0xbb});
    return k;
  }();
  const auto log_data = encode({Type::fixed_bytes(32), Type::fixed_bytes(32)},
                               {Value(key_digest), Value(data_digest)})
                            .value();
  const auto values = provided->decode_log({provided->topic0(), deal_topic}, log_data).value();
  EXPECT_EQ(values[0].as_uint().value(), U256(5));
  EXPECT_EQ(values[2].as_bytes32().value(), data_digest);
  EXPECT_EQ(abi.event_by_topic(provided->topic0()), provided);
  // Wrong topic count is refused.
  EXPECT_FALSE(provided->decode_log({provided->topic0()}, log_data));
}

TEST(Abi, As64BitIntegerRefusesWiderValues) {
  EXPECT_EQ(Value(U256(0)).as_u64().value(), 0u);
  EXPECT_EQ(Value(U256(~std::uint64_t{0})).as_u64().value(), ~std::uint64_t{0});
  // 2^64 would wrap to 0 if truncated: an id or a round number must not.
  const U256 two_to_64 = U256(~std::uint64_t{0}).wrapping_add(U256(1));
  const auto wide = Value(two_to_64).as_u64();
  ASSERT_FALSE(wide);
  EXPECT_NE(wide.error().message.find("18446744073709551616"), std::string::npos)
      << wide.error().message;
  EXPECT_FALSE(Value(U256::max()).as_u64());
  EXPECT_FALSE(Value(true).as_u64());
}

TEST(Abi, RejectsMalformedAbiJson) {
  EXPECT_FALSE(ContractAbi::parse("not json"));
  EXPECT_FALSE(ContractAbi::parse("{}"));
  EXPECT_FALSE(ContractAbi::parse(R"([{"name": "x"}])"));
  EXPECT_FALSE(
      ContractAbi::parse(R"([{"type": "function", "name": "f", "inputs": [{"type": "uint7"}]}])"));
  EXPECT_FALSE(
      ContractAbi::parse(R"([{"type": "function", "name": "f", "inputs": [{"type": "tuple"}]}])"));
}

}  // namespace
}  // namespace cairn::chain::abi

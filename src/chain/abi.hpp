#pragma once
// The Solidity contract ABI: types, values, head/tail encoding, function calls, events
// (topics and data), custom errors and the built-in revert payloads Error(string) and
// Panic(uint256). Descriptors are read from the compiler's ABI JSON.
//
// The decoder is strict and bounded: every offset and length is checked against the input
// before use, values must be canonically padded, and nesting is limited.
#include <concepts>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "chain/address.hpp"
#include "chain/u256.hpp"

namespace cairn::chain::abi {

struct Type {
  enum class Kind {
    uint_,
    int_,
    address,
    bool_,
    fixed_bytes,
    bytes,
    string,
    array,
    fixed_array,
    tuple
  };
  Kind kind = Kind::uint_;
  // Bits for uint/int (8..256), bytes for fixed_bytes (1..32), length for fixed_array.
  std::size_t size = 256;
  // The element type (one, for arrays) or the members (tuples).
  std::vector<Type> components;
  std::vector<std::string> component_names;  // tuple member names, when known

  static Type uint(std::size_t bits = 256) { return {Kind::uint_, bits, {}, {}}; }
  static Type int_(std::size_t bits = 256) { return {Kind::int_, bits, {}, {}}; }
  static Type address() { return {Kind::address, 160, {}, {}}; }
  static Type boolean() { return {Kind::bool_, 8, {}, {}}; }
  static Type fixed_bytes(std::size_t n) { return {Kind::fixed_bytes, n, {}, {}}; }
  static Type bytes() { return {Kind::bytes, 0, {}, {}}; }
  static Type string() { return {Kind::string, 0, {}, {}}; }
  static Type array(Type element) { return {Kind::array, 0, {std::move(element)}, {}}; }
  static Type fixed_array(Type element, std::size_t n) {
    return {Kind::fixed_array, n, {std::move(element)}, {}};
  }
  static Type tuple(std::vector<Type> members) { return {Kind::tuple, 0, std::move(members), {}}; }

  // A canonical type string: "uint256", "bytes32[]", "(address,uint256)[3]".
  static Result<Type> parse(std::string_view text);
  // An ABI JSON parameter: {"type": "tuple[]", "components": [...]}.
  static Result<Type> from_json(const nlohmann::json& param);

  std::string canonical() const;
  bool is_dynamic() const;
  // Bytes the type takes in the head of its enclosing tuple.
  std::size_t head_size() const;
};

struct Value;
using ValueList = std::vector<Value>;

// A decoded or to-be-encoded value. int values are held as two's complement U256 words;
// fixed bytes, bytes and string as Bytes; arrays and tuples as lists.
struct Value {
  std::variant<U256, Address, bool, Bytes, ValueList> data;

  Value() : data(U256{}) {}
  Value(U256 v) : data(v) {}  // NOLINT: implicit on purpose
  // Non-negative integers (negative int values are built as two's complement U256).
  template <std::integral T>
  requires(!std::same_as<T, bool>) Value(T v)
      : data(U256(static_cast<std::uint64_t>(v))) {}  // NOLINT
  Value(Address v) : data(v) {}                       // NOLINT
  Value(bool v) : data(v) {}                          // NOLINT
  Value(Bytes v) : data(std::move(v)) {}              // NOLINT
  Value(ValueList v) : data(std::move(v)) {}          // NOLINT
  template <std::size_t N>
  Value(const ByteArray<N>& v) : data(Bytes(v.begin(), v.end())) {}  // NOLINT
  static Value text(std::string_view s) { return Value(to_bytes(s)); }

  Result<U256> as_uint() const;
  // An integer that fits 64 bits (ids, counts, rounds, timestamps); larger fails.
  Result<std::uint64_t> as_u64() const;
  Result<Address> as_address() const;
  Result<bool> as_bool() const;
  Result<Bytes> as_bytes() const;
  Result<std::string> as_string() const;
  Result<ByteArray<32>> as_bytes32() const;
  Result<ValueList> as_list() const;
};

// Encodes `values` as the tuple of `types` (function arguments, return data, event data).
Result<Bytes> encode(const std::vector<Type>& types, const ValueList& values);
Result<ValueList> decode(const std::vector<Type>& types, ByteView data);

// A value as JSON for humans and scripts: integers as decimal strings, addresses in EIP-55
// form, bytes as 0x-hex, tuples as objects when their members are named.
nlohmann::json to_json(const Type& type, const Value& value);

struct Param {
  std::string name;
  Type type;
  bool indexed = false;
};

std::string signature_of(std::string_view name, const std::vector<Param>& params);
std::vector<Type> types_of(const std::vector<Param>& params);

struct Function {
  std::string name;
  std::vector<Param> inputs;
  std::vector<Param> outputs;
  std::string state_mutability;  // "view", "pure", "payable", "nonpayable"

  std::string signature() const { return signature_of(name, inputs); }
  ByteArray<4> selector() const;
  Result<Bytes> encode_call(const ValueList& args) const;
  Result<ValueList> decode_output(ByteView data) const;
};

struct Event {
  std::string name;
  std::vector<Param> inputs;
  bool anonymous = false;

  std::string signature() const { return signature_of(name, inputs); }
  ByteArray<32> topic0() const;
  // Decodes a log into its inputs in declaration order. Indexed dynamic values (strings,
  // bytes, arrays, tuples) appear as the 32-byte hash the topic holds.
  Result<ValueList> decode_log(const std::vector<ByteArray<32>>& topics, ByteView data) const;
};

struct ErrorDef {
  std::string name;
  std::vector<Param> inputs;
  std::string signature() const { return signature_of(name, inputs); }
  ByteArray<4> selector() const;
};

class ContractAbi {
 public:
  static Result<ContractAbi> parse(std::string_view json_text);

  const Function* function(std::string_view name) const;
  const Event* event(std::string_view name) const;
  const Event* event_by_topic(const ByteArray<32>& topic0) const;
  const ErrorDef* error_by_selector(ByteView selector) const;
  const std::optional<Function>& constructor() const { return constructor_; }
  const std::vector<Function>& functions() const { return functions_; }
  const std::vector<Event>& events() const { return events_; }
  const std::vector<ErrorDef>& errors() const { return errors_; }

 private:
  std::vector<Function> functions_;
  std::vector<Event> events_;
  std::vector<ErrorDef> errors_;
  std::optional<Function> constructor_;
};

// Why a call reverted, decoded from its return data.
struct RevertReason {
  enum class Kind { empty, error_string, panic, custom, unknown };
  Kind kind = Kind::empty;
  std::string name;     // "Error", "Panic", the custom error's name
  std::string message;  // human readable: "Unauthorized(0xabc…)", "insufficient balance"
  ValueList args;
  U256 panic_code;
};

// `abi` may be null; custom errors are then reported by selector only.
RevertReason decode_revert(ByteView data, const ContractAbi* abi);
std::string_view panic_description(const U256& code);

// Builds Error(string) / Panic(uint256) payloads (for tests and local simulation).
Bytes encode_error_string(std::string_view message);
Bytes encode_panic(std::uint64_t code);

}  // namespace cairn::chain::abi

#include "chain/abi.hpp"

#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/json.hpp"
#include "crypto/keccak.hpp"

namespace cairn::chain::abi {
namespace {

constexpr std::size_t kMaxDepth = 32;
using Kind = Type::Kind;

std::string kind_name(const Value& value) {
  switch (value.data.index()) {
    case 0:
      return "an integer";
    case 1:
      return "an address";
    case 2:
      return "a bool";
    case 3:
      return "bytes";
    default:
      return "a list";
  }
}

Result<std::size_t> parse_size(std::string_view digits, std::string_view whole) {
  if (digits.empty() || digits.size() > 6 || digits.front() == '0') {
    return fail(Errc::parse, "abi: bad size in type '" + std::string(whole) + "'");
  }
  std::size_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9')
      return fail(Errc::parse, "abi: bad size in type '" + std::string(whole) + "'");
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

// Splits "a,(b,c),d" at top-level commas.
Result<std::vector<std::string_view>> split_members(std::string_view inner) {
  std::vector<std::string_view> parts;
  if (inner.empty()) return parts;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == '(') ++depth;
    if (inner[i] == ')') --depth;
    if (depth < 0) return fail(Errc::parse, "abi: unbalanced parentheses in tuple type");
    if (inner[i] == ',' && depth == 0) {
      parts.push_back(inner.substr(start, i - start));
      start = i + 1;
    }
  }
  if (depth != 0) return fail(Errc::parse, "abi: unbalanced parentheses in tuple type");
  parts.push_back(inner.substr(start));
  return parts;
}

Result<Type> parse_type(std::string_view text, std::size_t depth) {
  if (depth > kMaxDepth) return fail(Errc::parse, "abi: type nested too deeply");
  if (text.empty()) return fail(Errc::parse, "abi: empty type");
  // Array suffixes bind last: "T[2][]" is a dynamic array of T[2].
  if (text.back() == ']') {
    const auto open = text.rfind('[');
    if (open == std::string_view::npos)
      return fail(Errc::parse, "abi: unbalanced ']' in type '" + std::string(text) + "'");
    CAIRN_TRY_ASSIGN(Type element, parse_type(text.substr(0, open), depth + 1));
    const auto length = text.substr(open + 1, text.size() - open - 2);
    if (length.empty()) return Type::array(std::move(element));
    CAIRN_TRY_ASSIGN(std::size_t n, parse_size(length, text));
    return Type::fixed_array(std::move(element), n);
  }
  if (text.front() == '(') {
    if (text.back() != ')')
      return fail(Errc::parse, "abi: bad tuple type '" + std::string(text) + "'");
    CAIRN_TRY_ASSIGN(auto parts, split_members(text.substr(1, text.size() - 2)));
    std::vector<Type> members;
    for (auto part : parts) {
      CAIRN_TRY_ASSIGN(Type member, parse_type(part, depth + 1));
      members.push_back(std::move(member));
    }
    return Type::tuple(std::move(members));
  }
  if (text == "address") return Type::address();
  if (text == "bool") return Type::boolean();
  if (text == "string") return Type::string();
  if (text == "bytes") return Type::bytes();
  if (text == "uint") return Type::uint(256);
  if (text == "int") return Type::int_(256);
  const auto sized = [&](std::string_view prefix, Kind kind) -> std::optional<Result<Type>> {
    if (!text.starts_with(prefix)) return std::nullopt;
    auto n = parse_size(text.substr(prefix.size()), text);
    if (!n) return Result<Type>(std::unexpected(n.error()));
    if (kind == Kind::fixed_bytes) {
      if (*n < 1 || *n > 32)
        return Result<Type>(fail(Errc::parse, "abi: bytesN needs 1 <= N <= 32"));
      return Result<Type>(Type::fixed_bytes(*n));
    }
    if (*n % 8 != 0 || *n < 8 || *n > 256) {
      return Result<Type>(
          fail(Errc::parse, "abi: integer width must be a multiple of 8 up to 256"));
    }
    return Result<Type>(kind == Kind::uint_ ? Type::uint(*n) : Type::int_(*n));
  };
  if (auto t = sized("uint", Kind::uint_)) return *t;
  if (auto t = sized("int", Kind::int_)) return *t;
  if (auto t = sized("bytes", Kind::fixed_bytes)) return *t;
  return fail(Errc::unsupported, "abi: unsupported type '" + std::string(text) + "'");
}

ByteArray<32> word_of(const U256& value) {
  return value.to_be_bytes();
}

void append_word(Bytes& out, const U256& value) {
  append(out, word_of(value));
}

void append_padded(Bytes& out, ByteView bytes) {
  append(out, bytes);
  out.resize(out.size() + (32 - bytes.size() % 32) % 32, std::byte{0});
}

Result<Bytes> encode_value(const Type& type, const Value& value, std::size_t depth);

Result<Bytes> encode_tuple(const std::vector<Type>& types, const ValueList& values,
                           std::size_t depth) {
  if (depth > kMaxDepth) return fail(Errc::invalid_argument, "abi: value nested too deeply");
  if (types.size() != values.size()) {
    return fail(Errc::invalid_argument, "abi: " + std::to_string(values.size()) + " values for " +
                                            std::to_string(types.size()) + " types");
  }
  std::size_t head_total = 0;
  for (const auto& type : types)
    head_total += type.head_size();
  Bytes head;
  Bytes tail;
  for (std::size_t i = 0; i < types.size(); ++i) {
    CAIRN_TRY_ASSIGN(Bytes encoded, encode_value(types[i], values[i], depth + 1));
    if (types[i].is_dynamic()) {
      append_word(head, U256(head_total + tail.size()));
      append(tail, encoded);
    } else {
      append(head, encoded);
    }
  }
  append(head, tail);
  return head;
}

Result<Bytes> encode_value(const Type& type, const Value& value, std::size_t depth) {
  const auto mismatch = [&] {
    return fail(Errc::invalid_argument, "abi: " + type.canonical() + " given " + kind_name(value));
  };
  Bytes out;
  switch (type.kind) {
    case Kind::uint_: {
      CAIRN_TRY_ASSIGN(U256 v, value.as_uint());
      if (v.bit_length() > type.size) {
        return fail(Errc::invalid_argument,
                    "abi: " + v.to_decimal() + " does not fit " + type.canonical());
      }
      append_word(out, v);
      return out;
    }
    case Kind::int_: {
      CAIRN_TRY_ASSIGN(U256 v, value.as_uint());
      append_word(out, v);  // two's complement, already sign-extended by the caller
      return out;
    }
    case Kind::address: {
      CAIRN_TRY_ASSIGN(Address a, value.as_address());
      out.resize(12, std::byte{0});
      append(out, a.bytes);
      return out;
    }
    case Kind::bool_: {
      CAIRN_TRY_ASSIGN(bool b, value.as_bool());
      append_word(out, U256(b ? 1 : 0));
      return out;
    }
    case Kind::fixed_bytes: {
      CAIRN_TRY_ASSIGN(Bytes b, value.as_bytes());
      if (b.size() != type.size) {
        return fail(Errc::invalid_argument,
                    "abi: " + type.canonical() + " given " + std::to_string(b.size()) + " bytes");
      }
      append_padded(out, b);
      return out;
    }
    case Kind::bytes:
    case Kind::string: {
      CAIRN_TRY_ASSIGN(Bytes b, value.as_bytes());
      append_word(out, U256(b.size()));
      append_padded(out, b);
      return out;
    }
    case Kind::array:
    case Kind::fixed_array: {
      const auto* list = std::get_if<ValueList>(&value.data);
      if (!list) return mismatch();
      if (type.kind == Kind::fixed_array && list->size() != type.size) {
        return fail(Errc::invalid_argument, "abi: " + type.canonical() + " given " +
                                                std::to_string(list->size()) + " elements");
      }
      if (type.kind == Kind::array) append_word(out, U256(list->size()));
      CAIRN_TRY_ASSIGN(Bytes body, encode_tuple(std::vector<Type>(list->size(), type.components[0]),
                                                *list, depth));
      append(out, body);
      return out;
    }
    case Kind::tuple: {
      const auto* list = std::get_if<ValueList>(&value.data);
      if (!list) return mismatch();
      return encode_tuple(type.components, *list, depth);
    }
  }
  return mismatch();
}

// Reads words from one tuple region: [base, data.size()).
struct Reader {
  ByteView data;

  Result<ByteView> word(std::size_t offset) const {
    if (offset > data.size() || data.size() - offset < 32) {
      return fail(Errc::parse, "abi: data too short (" + std::to_string(data.size()) +
                                   " bytes) for a word at offset " + std::to_string(offset));
    }
    return data.subspan(offset, 32);
  }
  Result<std::size_t> small_number(std::size_t offset, std::string_view what) const {
    CAIRN_TRY_ASSIGN(ByteView w, word(offset));
    CAIRN_TRY_ASSIGN(U256 v, U256::from_be_bytes(w));
    if (!v.fits_u64() || v.low64() > data.size()) {
      return fail(Errc::parse, "abi: " + std::string(what) + " " + v.to_decimal() +
                                   " exceeds the data size " + std::to_string(data.size()));
    }
    return static_cast<std::size_t>(v.low64());
  }
};

bool all_zero(ByteView bytes) {
  for (std::byte b : bytes) {
    if (b != std::byte{0}) return false;
  }
  return true;
}

Result<Value> decode_value(const Type& type, ByteView region, std::size_t offset,
                           std::size_t depth);

// `region` starts at the tuple's first head word; dynamic members point into it.
Result<ValueList> decode_tuple(const std::vector<Type>& types, ByteView region, std::size_t depth) {
  if (depth > kMaxDepth) return fail(Errc::parse, "abi: data nested too deeply");
  Reader reader{region};
  ValueList values;
  values.reserve(types.size());
  std::size_t head = 0;
  for (const auto& type : types) {
    if (type.is_dynamic()) {
      CAIRN_TRY_ASSIGN(std::size_t target, reader.small_number(head, "offset"));
      CAIRN_TRY_ASSIGN(Value v, decode_value(type, region, target, depth + 1));
      values.push_back(std::move(v));
    } else {
      CAIRN_TRY_ASSIGN(Value v, decode_value(type, region, head, depth + 1));
      values.push_back(std::move(v));
    }
    head += type.head_size();
  }
  return values;
}

Result<Value> decode_value(const Type& type, ByteView region, std::size_t offset,
                           std::size_t depth) {
  Reader reader{region};
  switch (type.kind) {
    case Kind::uint_: {
      CAIRN_TRY_ASSIGN(ByteView w, reader.word(offset));
      CAIRN_TRY_ASSIGN(U256 v, U256::from_be_bytes(w));
      if (v.bit_length() > type.size) {
        return fail(Errc::parse, "abi: value does not fit " + type.canonical());
      }
      return Value(v);
    }
    case Kind::int_: {
      CAIRN_TRY_ASSIGN(ByteView w, reader.word(offset));
      // Bits above the width must all equal the sign bit.
      const std::size_t pad = 32 - type.size / 8;
      const auto sign =
          (std::to_integer<std::uint8_t>(w[pad]) & 0x80) ? std::byte{0xff} : std::byte{0};
      for (std::size_t i = 0; i < pad; ++i) {
        if (w[i] != sign)
          return fail(Errc::parse, "abi: value is not a sign-extended " + type.canonical());
      }
      CAIRN_TRY_ASSIGN(U256 v, U256::from_be_bytes(w));
      return Value(v);
    }
    case Kind::address: {
      CAIRN_TRY_ASSIGN(ByteView w, reader.word(offset));
      if (!all_zero(w.first(12))) return fail(Errc::parse, "abi: address with nonzero upper bytes");
      Address a;
      std::copy(w.begin() + 12, w.end(), a.bytes.begin());
      return Value(a);
    }
    case Kind::bool_: {
      CAIRN_TRY_ASSIGN(ByteView w, reader.word(offset));
      if (!all_zero(w.first(31)) || std::to_integer<std::uint8_t>(w[31]) > 1) {
        return fail(Errc::parse, "abi: bool that is neither 0 nor 1");
      }
      return Value(w[31] == std::byte{1});
    }
    case Kind::fixed_bytes: {
      CAIRN_TRY_ASSIGN(ByteView w, reader.word(offset));
      if (!all_zero(w.subspan(type.size)))
        return fail(Errc::parse, "abi: " + type.canonical() + " with nonzero padding");
      return Value(Bytes(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(type.size)));
    }
    case Kind::bytes:
    case Kind::string: {
      CAIRN_TRY_ASSIGN(std::size_t length, reader.small_number(offset, "length"));
      const std::size_t start = offset + 32;
      if (start > region.size() || region.size() - start < length) {
        return fail(Errc::parse, "abi: " + type.canonical() + " of " + std::to_string(length) +
                                     " bytes runs past the end of the data");
      }
      return Value(Bytes(region.begin() + static_cast<std::ptrdiff_t>(start),
                         region.begin() + static_cast<std::ptrdiff_t>(start + length)));
    }
    case Kind::array:
    case Kind::fixed_array: {
      std::size_t count = type.size;
      std::size_t start = offset;
      if (type.kind == Kind::array) {
        CAIRN_TRY_ASSIGN(count, reader.small_number(offset, "array length"));
        start = offset + 32;
      }
      if (start > region.size())
        return fail(Errc::parse, "abi: array starts past the end of the data");
      // Every element takes at least one head word: a length beyond that is garbage, and
      // checking it first keeps a hostile length from allocating gigabytes.
      const std::size_t element_head = std::max<std::size_t>(type.components[0].head_size(), 1);
      if (count > (region.size() - start) / element_head) {
        return fail(Errc::parse, "abi: array of " + std::to_string(count) +
                                     " elements does not fit in the data");
      }
      CAIRN_TRY_ASSIGN(ValueList items, decode_tuple(std::vector<Type>(count, type.components[0]),
                                                     region.subspan(start), depth));
      return Value(std::move(items));
    }
    case Kind::tuple: {
      if (offset > region.size())
        return fail(Errc::parse, "abi: tuple starts past the end of the data");
      CAIRN_TRY_ASSIGN(ValueList items,
                       decode_tuple(type.components, region.subspan(offset), depth));
      return Value(std::move(items));
    }
  }
  return fail(Errc::internal, "abi: unknown type kind");
}

Result<std::vector<Param>> params_from_json(const nlohmann::json& list, std::string_view where) {
  std::vector<Param> params;
  if (list.is_null()) return params;
  if (!list.is_array())
    return fail(Errc::parse, "abi json: '" + std::string(where) + "' is not an array");
  for (const auto& item : list) {
    if (!item.is_object()) return fail(Errc::parse, "abi json: parameter is not an object");
    CAIRN_TRY_ASSIGN(Type type, Type::from_json(item));
    Param p;
    p.name = item.value("name", "");
    p.type = std::move(type);
    p.indexed = item.value("indexed", false);
    params.push_back(std::move(p));
  }
  return params;
}

template <std::size_t N>
ByteArray<N> hash_prefix(std::string_view text) {
  const auto digest = crypto::keccak256(text);
  ByteArray<N> out;
  std::copy(digest.begin(), digest.begin() + N, out.begin());
  return out;
}

}  // namespace

Result<Type> Type::parse(std::string_view text) {
  return parse_type(text, 0);
}

Result<Type> Type::from_json(const nlohmann::json& param) {
  if (!param.contains("type") || !param["type"].is_string()) {
    return fail(Errc::parse, "abi json: parameter without a 'type'");
  }
  const std::string text = param["type"].get<std::string>();
  if (!text.starts_with("tuple")) return parse(text);
  // "tuple", "tuple[]", "tuple[2][]": members come from "components".
  if (!param.contains("components") || !param["components"].is_array()) {
    return fail(Errc::parse, "abi json: tuple without 'components'");
  }
  Type tuple_type = Type::tuple({});
  for (const auto& component : param["components"]) {
    CAIRN_TRY_ASSIGN(Type member, from_json(component));
    tuple_type.components.push_back(std::move(member));
    tuple_type.component_names.push_back(component.value("name", ""));
  }
  // Rebuild the array suffixes around the tuple, innermost first.
  std::string_view suffix = std::string_view(text).substr(5);
  Type result = std::move(tuple_type);
  while (!suffix.empty()) {
    if (suffix.front() != '[') return fail(Errc::parse, "abi json: bad tuple type '" + text + "'");
    const auto close = suffix.find(']');
    if (close == std::string_view::npos)
      return fail(Errc::parse, "abi json: bad tuple type '" + text + "'");
    const auto length = suffix.substr(1, close - 1);
    if (length.empty()) {
      result = Type::array(std::move(result));
    } else {
      CAIRN_TRY_ASSIGN(std::size_t n, parse_size(length, text));
      result = Type::fixed_array(std::move(result), n);
    }
    suffix.remove_prefix(close + 1);
  }
  return result;
}

std::string Type::canonical() const {
  switch (kind) {
    case Kind::uint_:
      return "uint" + std::to_string(size);
    case Kind::int_:
      return "int" + std::to_string(size);
    case Kind::address:
      return "address";
    case Kind::bool_:
      return "bool";
    case Kind::fixed_bytes:
      return "bytes" + std::to_string(size);
    case Kind::bytes:
      return "bytes";
    case Kind::string:
      return "string";
    case Kind::array:
      return components[0].canonical() + "[]";
    case Kind::fixed_array:
      return components[0].canonical() + "[" + std::to_string(size) + "]";
    case Kind::tuple: {
      std::string out = "(";
      for (std::size_t i = 0; i < components.size(); ++i) {
        if (i) out += ",";
        out += components[i].canonical();
      }
      return out + ")";
    }
  }
  return "?";
}

bool Type::is_dynamic() const {
  switch (kind) {
    case Kind::bytes:
    case Kind::string:
    case Kind::array:
      return true;
    case Kind::fixed_array:
      return components[0].is_dynamic();
    case Kind::tuple:
      for (const auto& c : components) {
        if (c.is_dynamic()) return true;
      }
      return false;
    default:
      return false;
  }
}

std::size_t Type::head_size() const {
  if (is_dynamic()) return 32;
  if (kind == Kind::fixed_array) return size * components[0].head_size();
  if (kind == Kind::tuple) {
    std::size_t total = 0;
    for (const auto& c : components)
      total += c.head_size();
    return total;
  }
  return 32;
}

Result<U256> Value::as_uint() const {
  if (const auto* v = std::get_if<U256>(&data)) return *v;
  return fail(Errc::invalid_argument, "abi: expected an integer, found " + kind_name(*this));
}
Result<std::uint64_t> Value::as_u64() const {
  CAIRN_TRY_ASSIGN(U256 value, as_uint());
  if (!value.fits_u64()) {
    return fail(Errc::invalid_argument, "abi: integer " + value.to_decimal() + " exceeds 64 bits");
  }
  return value.low64();
}
Result<Address> Value::as_address() const {
  if (const auto* v = std::get_if<Address>(&data)) return *v;
  return fail(Errc::invalid_argument, "abi: expected an address, found " + kind_name(*this));
}
Result<bool> Value::as_bool() const {
  if (const auto* v = std::get_if<bool>(&data)) return *v;
  return fail(Errc::invalid_argument, "abi: expected a bool, found " + kind_name(*this));
}
Result<Bytes> Value::as_bytes() const {
  if (const auto* v = std::get_if<Bytes>(&data)) return *v;
  return fail(Errc::invalid_argument, "abi: expected bytes, found " + kind_name(*this));
}
Result<std::string> Value::as_string() const {
  CAIRN_TRY_ASSIGN(Bytes b, as_bytes());
  return std::string(as_chars(b));
}
Result<ByteArray<32>> Value::as_bytes32() const {
  CAIRN_TRY_ASSIGN(Bytes b, as_bytes());
  if (b.size() != 32) return fail(Errc::invalid_argument, "abi: expected 32 bytes");
  ByteArray<32> out;
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}
Result<ValueList> Value::as_list() const {
  if (const auto* v = std::get_if<ValueList>(&data)) return *v;
  return fail(Errc::invalid_argument, "abi: expected a list, found " + kind_name(*this));
}

Result<Bytes> encode(const std::vector<Type>& types, const ValueList& values) {
  return encode_tuple(types, values, 0);
}

Result<ValueList> decode(const std::vector<Type>& types, ByteView data) {
  return decode_tuple(types, data, 0);
}

nlohmann::json to_json(const Type& type, const Value& value) {
  switch (type.kind) {
    case Kind::uint_:
      if (auto v = value.as_uint()) return v->to_decimal();
      break;
    case Kind::int_:
      if (auto v = value.as_uint()) {
        if (v->bit_length() == 256) return "-" + U256().wrapping_sub(*v).to_decimal();
        return v->to_decimal();
      }
      break;
    case Kind::address:
      if (auto v = value.as_address()) return v->to_checksum();
      break;
    case Kind::bool_:
      if (auto v = value.as_bool()) return *v;
      break;
    case Kind::string:
      if (auto v = value.as_string()) return *v;
      break;
    case Kind::fixed_bytes:
    case Kind::bytes:
      if (auto v = value.as_bytes()) return "0x" + to_hex(*v);
      break;
    case Kind::array:
    case Kind::fixed_array:
      if (auto v = value.as_list()) {
        auto out = nlohmann::json::array();
        for (const auto& item : *v)
          out.push_back(to_json(type.components[0], item));
        return out;
      }
      break;
    case Kind::tuple:
      if (auto v = value.as_list(); v && v->size() == type.components.size()) {
        const bool named = type.component_names.size() == type.components.size() &&
                           std::none_of(type.component_names.begin(), type.component_names.end(),
                                        [](const std::string& n) { return n.empty(); });
        auto out = named ? nlohmann::json::object() : nlohmann::json::array();
        for (std::size_t i = 0; i < v->size(); ++i) {
          if (named) {
            out[type.component_names[i]] = to_json(type.components[i], (*v)[i]);
          } else {
            out.push_back(to_json(type.components[i], (*v)[i]));
          }
        }
        return out;
      }
      break;
  }
  return nullptr;
}

std::string signature_of(std::string_view name, const std::vector<Param>& params) {
  std::string out(name);
  out += "(";
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i) out += ",";
    out += params[i].type.canonical();
  }
  return out + ")";
}

std::vector<Type> types_of(const std::vector<Param>& params) {
  std::vector<Type> types;
  for (const auto& p : params)
    types.push_back(p.type);
  return types;
}

ByteArray<4> Function::selector() const {
  return hash_prefix<4>(signature());
}

Result<Bytes> Function::encode_call(const ValueList& args) const {
  auto body = encode(types_of(inputs), args);
  if (!body) return std::unexpected(std::move(body).error().context(signature()));
  const auto sel = selector();
  Bytes out(sel.begin(), sel.end());
  append(out, *body);
  return out;
}

Result<ValueList> Function::decode_output(ByteView data) const {
  auto values = decode(types_of(outputs), data);
  if (!values)
    return std::unexpected(std::move(values).error().context("return data of " + signature()));
  return values;
}

ByteArray<32> Event::topic0() const {
  return crypto::keccak256(signature());
}

Result<ValueList> Event::decode_log(const std::vector<ByteArray<32>>& topics, ByteView data) const {
  std::vector<Type> data_types;
  std::size_t indexed_count = 0;
  for (const auto& p : inputs) {
    if (p.indexed) {
      ++indexed_count;
    } else {
      data_types.push_back(p.type);
    }
  }
  const std::size_t first_topic = anonymous ? 0 : 1;
  if (topics.size() != first_topic + indexed_count) {
    return fail(Errc::parse, "abi: log of " + signature() + " has " +
                                 std::to_string(topics.size()) + " topics, expected " +
                                 std::to_string(first_topic + indexed_count));
  }
  if (!anonymous && topics[0] != topic0()) {
    return fail(Errc::parse, "abi: log is not a " + signature() + " event");
  }
  CAIRN_TRY_ASSIGN(ValueList data_values, decode(data_types, data));
  ValueList values;
  std::size_t topic = first_topic;
  std::size_t data_index = 0;
  for (const auto& p : inputs) {
    if (!p.indexed) {
      values.push_back(std::move(data_values[data_index++]));
      continue;
    }
    const ByteArray<32>& word = topics[topic++];
    if (p.type.is_dynamic() || p.type.kind == Kind::tuple || p.type.kind == Kind::fixed_array) {
      values.push_back(Value(word));
    } else {
      CAIRN_TRY_ASSIGN(ValueList one, decode({p.type}, word));
      values.push_back(std::move(one[0]));
    }
  }
  return values;
}

ByteArray<4> ErrorDef::selector() const {
  return hash_prefix<4>(signature());
}

Result<ContractAbi> ContractAbi::parse(std::string_view json_text) {
  CAIRN_TRY_ASSIGN(auto json, parse_json(json_text, "abi json"));
  if (json.is_object() && json.contains("abi")) json = json["abi"];  // a whole artifact
  if (!json.is_array()) return fail(Errc::parse, "abi json: expected an array of entries");
  ContractAbi abi;
  for (const auto& entry : json) {
    if (!entry.is_object() || !entry.contains("type") || !entry["type"].is_string()) {
      return fail(Errc::parse, "abi json: entry without a 'type'");
    }
    const std::string kind = entry["type"].get<std::string>();
    const std::string name = entry.value("name", "");
    if (kind == "function" || kind == "constructor") {
      Function f;
      f.name = name;
      CAIRN_TRY_ASSIGN(f.inputs,
                       params_from_json(entry.value("inputs", nlohmann::json()), "inputs"));
      CAIRN_TRY_ASSIGN(f.outputs,
                       params_from_json(entry.value("outputs", nlohmann::json()), "outputs"));
      f.state_mutability = entry.value("stateMutability", "nonpayable");
      if (kind == "constructor") {
        abi.constructor_ = std::move(f);
      } else {
        abi.functions_.push_back(std::move(f));
      }
    } else if (kind == "event") {
      Event e;
      e.name = name;
      e.anonymous = entry.value("anonymous", false);
      CAIRN_TRY_ASSIGN(e.inputs,
                       params_from_json(entry.value("inputs", nlohmann::json()), "inputs"));
      abi.events_.push_back(std::move(e));
    } else if (kind == "error") {
      ErrorDef e;
      e.name = name;
      CAIRN_TRY_ASSIGN(e.inputs,
                       params_from_json(entry.value("inputs", nlohmann::json()), "inputs"));
      abi.errors_.push_back(std::move(e));
    }
    // fallback and receive carry nothing to encode.
  }
  return abi;
}

const Function* ContractAbi::function(std::string_view name) const {
  for (const auto& f : functions_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const Event* ContractAbi::event(std::string_view name) const {
  for (const auto& e : events_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

const Event* ContractAbi::event_by_topic(const ByteArray<32>& topic0) const {
  for (const auto& e : events_) {
    if (!e.anonymous && e.topic0() == topic0) return &e;
  }
  return nullptr;
}

const ErrorDef* ContractAbi::error_by_selector(ByteView selector) const {
  if (selector.size() != 4) return nullptr;
  for (const auto& e : errors_) {
    if (equal(e.selector(), selector)) return &e;
  }
  return nullptr;
}

std::string_view panic_description(const U256& code) {
  if (!code.fits_u64()) return "unknown panic code";
  switch (code.low64()) {
    case 0x00:
      return "generic compiler panic";
    case 0x01:
      return "assertion failed";
    case 0x11:
      return "arithmetic overflow or underflow";
    case 0x12:
      return "division or modulo by zero";
    case 0x21:
      return "invalid enum value";
    case 0x22:
      return "corrupt storage byte array";
    case 0x31:
      return "pop from an empty array";
    case 0x32:
      return "array index out of bounds";
    case 0x41:
      return "too much memory allocated";
    case 0x51:
      return "call to an uninitialised function";
    default:
      return "unknown panic code";
  }
}

RevertReason decode_revert(ByteView data, const ContractAbi* abi) {
  RevertReason reason;
  if (data.empty()) {
    reason.message = "reverted without a reason";
    return reason;
  }
  if (data.size() < 4) {
    reason.kind = RevertReason::Kind::unknown;
    reason.message = "reverted with malformed data 0x" + to_hex(data);
    return reason;
  }
  const ByteView selector = data.first(4);
  const ByteView body = data.subspan(4);
  static const ByteArray<4> error_selector = hash_prefix<4>("Error(string)");
  static const ByteArray<4> panic_selector = hash_prefix<4>("Panic(uint256)");
  if (equal(selector, error_selector)) {
    if (auto values = decode({Type::string()}, body)) {
      reason.kind = RevertReason::Kind::error_string;
      reason.name = "Error";
      reason.message = values->at(0).as_string().value_or("");
      reason.args = std::move(*values);
      return reason;
    }
  } else if (equal(selector, panic_selector)) {
    if (auto values = decode({Type::uint()}, body)) {
      reason.kind = RevertReason::Kind::panic;
      reason.name = "Panic";
      reason.panic_code = values->at(0).as_uint().value_or(U256{});
      reason.message = "Panic(" + reason.panic_code.to_hex() +
                       "): " + std::string(panic_description(reason.panic_code));
      reason.args = std::move(*values);
      return reason;
    }
  } else if (const ErrorDef* error = abi ? abi->error_by_selector(selector) : nullptr) {
    if (auto values = decode(types_of(error->inputs), body)) {
      reason.kind = RevertReason::Kind::custom;
      reason.name = error->name;
      std::string text = error->name + "(";
      for (std::size_t i = 0; i < values->size(); ++i) {
        if (i) text += ", ";
        const auto j = to_json(error->inputs[i].type, (*values)[i]);
        text += j.is_string() ? j.get<std::string>() : j.dump();
      }
      reason.message = text + ")";
      reason.args = std::move(*values);
      return reason;
    }
  }
  reason.kind = RevertReason::Kind::unknown;
  reason.message = "reverted with unrecognised data 0x" + to_hex(data);
  return reason;
}

Bytes encode_error_string(std::string_view message) {
  const auto selector = hash_prefix<4>("Error(string)");
  Bytes out(selector.begin(), selector.end());
  append(out, encode({Type::string()}, {Value::text(message)}).value());
  return out;
}

Bytes encode_panic(std::uint64_t code) {
  const auto selector = hash_prefix<4>("Panic(uint256)");
  Bytes out(selector.begin(), selector.end());
  append(out, encode({Type::uint()}, {Value(code)}).value());
  return out;
}

}  // namespace cairn::chain::abi

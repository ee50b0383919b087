#include "chain/rlp.hpp"

#include <string>

namespace cairn::chain::rlp {
namespace {

constexpr std::size_t kMaxDepth = 64;

void append_length(Bytes& out, std::size_t length, std::uint8_t short_base,
                   std::uint8_t long_base) {
  if (length < 56) {
    out.push_back(static_cast<std::byte>(short_base + length));
    return;
  }
  Bytes length_bytes;
  for (std::size_t rest = length; rest > 0; rest >>= 8) {
    length_bytes.insert(length_bytes.begin(), static_cast<std::byte>(rest & 0xff));
  }
  out.push_back(static_cast<std::byte>(long_base + length_bytes.size()));
  append(out, length_bytes);
}

Result<Item> decode_at(ByteView input, std::size_t& consumed, std::size_t depth) {
  if (depth > kMaxDepth) return fail(Errc::parse, "rlp: lists nested deeper than 64");
  if (input.empty()) return fail(Errc::parse, "rlp: unexpected end of input");
  const auto prefix = std::to_integer<std::uint8_t>(input[0]);
  if (prefix < 0x80) {
    consumed = 1;
    return Item{Bytes{input[0]}};
  }
  const bool is_list = prefix >= 0xc0;
  const std::uint8_t base = is_list ? 0xc0 : 0x80;
  std::size_t header = 1;
  std::size_t length = 0;
  if (prefix - base < 56) {
    length = prefix - base;
  } else {
    const std::size_t length_of_length = prefix - base - 55;
    if (input.size() < 1 + length_of_length) {
      return fail(Errc::parse, "rlp: truncated length prefix");
    }
    if (input[1] == std::byte{0}) return fail(Errc::parse, "rlp: length with a leading zero");
    if (length_of_length > 8) return fail(Errc::parse, "rlp: length wider than 64 bits");
    for (std::size_t i = 0; i < length_of_length; ++i) {
      length = (length << 8) | std::to_integer<std::uint8_t>(input[1 + i]);
    }
    if (length < 56) return fail(Errc::parse, "rlp: long form used for a short length");
    header += length_of_length;
  }
  if (length > input.size() - header) {
    return fail(Errc::parse, "rlp: item of " + std::to_string(length) + " bytes but only " +
                                 std::to_string(input.size() - header) + " remain");
  }
  const ByteView payload = input.subspan(header, length);
  consumed = header + length;
  if (!is_list) {
    if (length == 1 && std::to_integer<std::uint8_t>(payload[0]) < 0x80) {
      return fail(Errc::parse, "rlp: single byte below 0x80 must not have a prefix");
    }
    return Item{Bytes(payload.begin(), payload.end())};
  }
  std::vector<Item> items;
  std::size_t offset = 0;
  while (offset < payload.size()) {
    std::size_t used = 0;
    CAIRN_TRY_ASSIGN(Item item, decode_at(payload.subspan(offset), used, depth + 1));
    items.push_back(std::move(item));
    offset += used;
  }
  return Item{std::move(items)};
}

}  // namespace

Bytes encode_bytes(ByteView bytes) {
  Bytes out;
  if (bytes.size() == 1 && std::to_integer<std::uint8_t>(bytes[0]) < 0x80) {
    out.push_back(bytes[0]);
    return out;
  }
  append_length(out, bytes.size(), 0x80, 0xb7);
  append(out, bytes);
  return out;
}

Bytes encode_uint(std::uint64_t value) {
  return encode_uint(U256(value));
}

Bytes encode_uint(const U256& value) {
  return encode_bytes(value.to_minimal_be_bytes());
}

Bytes encode_list(const std::vector<Bytes>& encoded_items) {
  std::size_t total = 0;
  for (const auto& item : encoded_items)
    total += item.size();
  Bytes out;
  append_length(out, total, 0xc0, 0xf7);
  for (const auto& item : encoded_items)
    append(out, item);
  return out;
}

Bytes encode(const Item& item) {
  if (!item.is_list()) return encode_bytes(item.bytes());
  std::vector<Bytes> encoded;
  for (const auto& child : item.list())
    encoded.push_back(encode(child));
  return encode_list(encoded);
}

Result<Item> decode_prefix(ByteView input, std::size_t& consumed) {
  return decode_at(input, consumed, 0);
}

Result<Item> decode(ByteView input) {
  std::size_t consumed = 0;
  CAIRN_TRY_ASSIGN(Item item, decode_at(input, consumed, 0));
  if (consumed != input.size()) {
    return fail(Errc::parse, "rlp: " + std::to_string(input.size() - consumed) +
                                 " trailing bytes after the item");
  }
  return item;
}

Result<U256> to_uint(const Item& item) {
  if (item.is_list()) return fail(Errc::parse, "rlp: expected an integer, found a list");
  const Bytes& bytes = item.bytes();
  if (!bytes.empty() && bytes[0] == std::byte{0}) {
    return fail(Errc::parse, "rlp: integer with a leading zero byte");
  }
  if (bytes.size() > 32) return fail(Errc::parse, "rlp: integer wider than 256 bits");
  return U256::from_be_bytes(bytes);
}

Result<std::uint64_t> to_u64(const Item& item) {
  CAIRN_TRY_ASSIGN(U256 value, to_uint(item));
  if (!value.fits_u64()) return fail(Errc::parse, "rlp: integer wider than 64 bits");
  return value.low64();
}

}  // namespace cairn::chain::rlp

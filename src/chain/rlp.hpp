#pragma once
// Recursive Length Prefix, Ethereum's serialisation (Yellow Paper, appendix B).
// The decoder is strict: it accepts only canonical encodings (shortest length forms,
// single bytes below 0x80 not wrapped) and never reads past its input.
#include <cstdint>
#include <variant>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "chain/u256.hpp"

namespace cairn::chain::rlp {

struct Item {
  // A byte string, or a list of items.
  std::variant<Bytes, std::vector<Item>> value;

  bool is_list() const { return std::holds_alternative<std::vector<Item>>(value); }
  const Bytes& bytes() const { return std::get<Bytes>(value); }
  const std::vector<Item>& list() const { return std::get<std::vector<Item>>(value); }
};

Bytes encode_bytes(ByteView bytes);
Bytes encode_uint(std::uint64_t value);
Bytes encode_uint(const U256& value);
// Wraps already-encoded items in a list header.
Bytes encode_list(const std::vector<Bytes>& encoded_items);
Bytes encode(const Item& item);

// Exactly one item filling the whole input.
Result<Item> decode(ByteView input);
// One item from the front of `input`; `consumed` receives its encoded length.
Result<Item> decode_prefix(ByteView input, std::size_t& consumed);

// An integer field: canonical (no leading zeros), at most 32 bytes.
Result<U256> to_uint(const Item& item);
Result<std::uint64_t> to_u64(const Item& item);

}  // namespace cairn::chain::rlp

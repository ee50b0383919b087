#pragma once
// Unsigned varint as multiformats defines it: LEB128, at most 9 bytes (63 bits), and only
// the minimal encoding of each value is accepted, so every value has one byte form.

#include <cstdint>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn {

inline constexpr std::size_t kMaxVarintBytes = 9;

struct Varint {
  std::uint64_t value;
  std::size_t length;  // bytes consumed
};

void varint_append(Bytes& out, std::uint64_t value);
std::size_t varint_size(std::uint64_t value);
Result<Varint> varint_decode(ByteView in);

}  // namespace cairn

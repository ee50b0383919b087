#pragma once
// MurmurHash3 x64 128 (seed 0), the hash UnixFS HAMT directories place names with
// (multicodec murmur3-x64-64 = 0x22: the first 8 bytes of the 128-bit output).

#include <array>
#include <cstdint>

#include "base/bytes.hpp"

namespace cairn::store {

// h1 then h2, each big-endian: the byte order of @multiformats/murmur3's murmur3128.
std::array<std::uint8_t, 16> murmur3_x64_128(ByteView data);

}  // namespace cairn::store

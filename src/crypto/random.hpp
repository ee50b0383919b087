#pragma once
// The operating system's CSPRNG (through libsodium). Deterministic randomness for
// simulations and tests is seeded explicitly elsewhere and never used for keys.

#include "base/bytes.hpp"

namespace cairn::crypto {

void random_fill(MutableByteView out);
Bytes random_bytes(std::size_t count);

template <std::size_t N>
ByteArray<N> random_array() {
  ByteArray<N> out;
  random_fill(out);
  return out;
}

}  // namespace cairn::crypto

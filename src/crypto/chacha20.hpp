#pragma once
// ChaCha20 (IETF, RFC 8439) keystreams through libsodium, for pseudo-random masks that
// two parties derive identically from a shared seed.

#include <cstdint>
#include <vector>

#include "base/bytes.hpp"

namespace cairn::crypto {

// `count` little-endian 64-bit words of the ChaCha20 keystream for (key, nonce).
[[nodiscard]] std::vector<std::uint64_t> chacha20_words(const ByteArray<32>& key, const ByteArray<12>& nonce,
                                                        std::size_t count);
// Raw keystream bytes.
void chacha20_keystream(const ByteArray<32>& key, const ByteArray<12>& nonce, MutableByteView out);

}  // namespace cairn::crypto

#include "crypto/chacha20.hpp"

#include <sodium.h>

#include "crypto/sodium.hpp"

namespace cairn::crypto {

void chacha20_keystream(const ByteArray<32>& key, const ByteArray<12>& nonce, MutableByteView out) {
  ensure_sodium();
  crypto_stream_chacha20_ietf(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                              reinterpret_cast<const unsigned char*>(nonce.data()),
                              reinterpret_cast<const unsigned char*>(key.data()));
}

std::vector<std::uint64_t> chacha20_words(const ByteArray<32>& key, const ByteArray<12>& nonce, std::size_t count) {
  Bytes stream(count * 8);
  chacha20_keystream(key, nonce, stream);
  std::vector<std::uint64_t> words(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::uint64_t w = 0;
    for (int b = 0; b < 8; ++b) w |= static_cast<std::uint64_t>(stream[i * 8 + b]) << (8 * b);
    words[i] = w;
  }
  return words;
}

}  // namespace cairn::crypto

#pragma once
// Keccak-256 as Ethereum uses it: the original Keccak padding (0x01), not SHA-3's (0x06).
// OpenSSL 3.0 has no Keccak-256, so this is cairn's own Keccak-f[1600].
#include <cstdint>
#include <string_view>

#include "base/bytes.hpp"

namespace cairn::crypto {

using Keccak256Digest = ByteArray<32>;

// Incremental Keccak-256: update() any number of times, then finish() once.
class Keccak256 {
 public:
  Keccak256() { reset(); }
  Keccak256& update(ByteView data);
  Keccak256& update(std::string_view text) { return update(as_bytes(text)); }
  // Returns the digest and resets the hasher for reuse.
  Keccak256Digest finish();
  void reset();

 private:
  static constexpr std::size_t kRate = 136;  // 1088-bit rate for a 256-bit output
  std::uint64_t state_[25];
  std::uint8_t buffer_[kRate];
  std::size_t buffered_ = 0;
};

Keccak256Digest keccak256(ByteView data);
inline Keccak256Digest keccak256(std::string_view text) {
  return keccak256(as_bytes(text));
}

// The permutation itself, exposed for tests against the Keccak team's vectors.
void keccak_f1600(std::uint64_t state[25]);

}  // namespace cairn::crypto

#pragma once
// Shamir secret sharing over the prime field GF(2^521 - 1), on GMP: a secret of up to 64
// bytes is split into n shares of which any t reconstruct it and t - 1 reveal nothing.

#include <cstdint>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::crypto {

inline constexpr std::size_t kShamirMaxSecret = 64;
inline constexpr std::size_t kShamirValueBytes = 66;  // ceil(521 / 8)

struct ShamirShare {
  std::uint32_t x = 0;  // the evaluation point, 1..n (never 0: f(0) is the secret)
  Bytes y;              // f(x), kShamirValueBytes big-endian
};

// Splits `secret` into `shares` shares with threshold `threshold` (1 <= t <= n <= 65535).
// The secret's length is kept by the caller (reconstruct returns exactly `secret_size`).
[[nodiscard]] Result<std::vector<ShamirShare>> shamir_split(ByteView secret, std::size_t threshold,
                                                            std::size_t shares);
// Lagrange interpolation at 0 from at least `threshold` shares with distinct x.
[[nodiscard]] Result<Bytes> shamir_reconstruct(const std::vector<ShamirShare>& shares, std::size_t threshold,
                                               std::size_t secret_size);

// Share encoding: u32 x | 66-byte y.
[[nodiscard]] Bytes encode_share(const ShamirShare& share);
[[nodiscard]] Result<ShamirShare> decode_share(ByteView bytes);

}  // namespace cairn::crypto

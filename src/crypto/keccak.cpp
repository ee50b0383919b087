#include "crypto/keccak.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace cairn::crypto {
namespace {

constexpr std::uint64_t kRoundConstants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

// Rotation offsets and lane permutation of the rho and pi steps, in the order pi visits
// the lanes starting from lane 1.
constexpr int kRho[24] = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                          27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
constexpr int kPi[24] = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                         15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

std::uint64_t load_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

}  // namespace

void keccak_f1600(std::uint64_t a[25]) {
  for (int round = 0; round < 24; ++round) {
    // theta
    std::uint64_t c[5];
    for (int x = 0; x < 5; ++x)
      c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (int x = 0; x < 5; ++x) {
      const std::uint64_t d = c[(x + 4) % 5] ^ std::rotl(c[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5)
        a[y + x] ^= d;
    }
    // rho and pi
    std::uint64_t carried = a[1];
    for (int i = 0; i < 24; ++i) {
      const int lane = kPi[i];
      const std::uint64_t next = a[lane];
      a[lane] = std::rotl(carried, kRho[i]);
      carried = next;
    }
    // chi
    for (int y = 0; y < 25; y += 5) {
      std::uint64_t row[5];
      for (int x = 0; x < 5; ++x)
        row[x] = a[y + x];
      for (int x = 0; x < 5; ++x)
        a[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
    }
    // iota
    a[0] ^= kRoundConstants[round];
  }
}

void Keccak256::reset() {
  std::memset(state_, 0, sizeof(state_));
  buffered_ = 0;
}

Keccak256& Keccak256::update(ByteView data) {
  const auto* in = reinterpret_cast<const std::uint8_t*>(data.data());
  std::size_t remaining = data.size();
  while (remaining > 0) {
    const std::size_t take = std::min(remaining, kRate - buffered_);
    std::memcpy(buffer_ + buffered_, in, take);
    buffered_ += take;
    in += take;
    remaining -= take;
    if (buffered_ == kRate) {
      for (std::size_t i = 0; i < kRate / 8; ++i)
        state_[i] ^= load_le64(buffer_ + 8 * i);
      keccak_f1600(state_);
      buffered_ = 0;
    }
  }
  return *this;
}

Keccak256Digest Keccak256::finish() {
  std::memset(buffer_ + buffered_, 0, kRate - buffered_);
  buffer_[buffered_] ^= 0x01;
  buffer_[kRate - 1] ^= 0x80;
  for (std::size_t i = 0; i < kRate / 8; ++i)
    state_[i] ^= load_le64(buffer_ + 8 * i);
  keccak_f1600(state_);
  Keccak256Digest digest;
  for (std::size_t i = 0; i < 32; ++i) {
    digest[i] = static_cast<std::byte>(state_[i / 8] >> (8 * (i % 8)));
  }
  reset();
  return digest;
}

Keccak256Digest keccak256(ByteView data) {
  return Keccak256().update(data).finish();
}

}  // namespace cairn::crypto

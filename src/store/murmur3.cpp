#include "store/murmur3.hpp"

#include <cstring>

namespace cairn::store {
namespace {

constexpr std::uint64_t rotl(std::uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

constexpr std::uint64_t fmix(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

std::uint64_t load_le(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}

}  // namespace

std::array<std::uint8_t, 16> murmur3_x64_128(ByteView data) {
  constexpr std::uint64_t c1 = 0x87c37b91114253d5ULL;
  constexpr std::uint64_t c2 = 0x4cf5ad432745937fULL;
  const std::size_t blocks = data.size() / 16;
  std::uint64_t h1 = 0;
  std::uint64_t h2 = 0;
  for (std::size_t i = 0; i < blocks; ++i) {
    std::uint64_t k1 = load_le(data.data() + i * 16);
    std::uint64_t k2 = load_le(data.data() + i * 16 + 8);
    k1 *= c1;
    k1 = rotl(k1, 31);
    k1 *= c2;
    h1 ^= k1;
    h1 = rotl(h1, 27);
    h1 += h2;
    h1 = h1 * 5 + 0x52dce729;
    k2 *= c2;
    k2 = rotl(k2, 33);
    k2 *= c1;
    h2 ^= k2;
    h2 = rotl(h2, 31);
    h2 += h1;
    h2 = h2 * 5 + 0x38495ab5;
  }
  const std::byte* tail = data.data() + blocks * 16;
  const std::size_t rest = data.size() & 15;
  std::uint64_t k1 = 0;
  std::uint64_t k2 = 0;
  for (std::size_t i = rest; i > 8; --i)
    k2 = (k2 << 8) | static_cast<std::uint8_t>(tail[i - 1]);
  for (std::size_t i = std::min<std::size_t>(rest, 8); i > 0; --i) {
    k1 = (k1 << 8) | static_cast<std::uint8_t>(tail[i - 1]);
  }
  if (rest > 8) {
    k2 *= c2;
    k2 = rotl(k2, 33);
    k2 *= c1;
    h2 ^= k2;
  }
  if (rest > 0) {
    k1 *= c1;
    k1 = rotl(k1, 31);
    k1 *= c2;
    h1 ^= k1;
  }
  h1 ^= data.size();
  h2 ^= data.size();
  h1 += h2;
  h2 += h1;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h1 += h2;
  h2 += h1;
  std::array<std::uint8_t, 16> out{};
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<std::uint8_t>(h1 >> (56 - 8 * i));
    out[8 + i] = static_cast<std::uint8_t>(h2 >> (56 - 8 * i));
  }
  return out;
}

}  // namespace cairn::store

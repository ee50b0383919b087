#pragma once
// A fully specified pseudo-random generator for everything in learn that must be
// reproducible by seed on any machine and any standard library: partitions, sampling,
// Shapley permutations. std::mt19937 is portable but std::*_distribution is not (libstdc++
// and libc++ differ), so the distributions are written out here too. Never used for keys.

#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <utility>

namespace cairn::learn {

// xoshiro256** seeded through SplitMix64 (Blackman and Vigna), as documented in
// docs/learn.md, so another party can reproduce every draw from the seed alone.
class Rng {
  __extension__ typedef unsigned __int128 Wide;  // GCC and clang both have it

 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& word : state_)
      word = splitmix(seed);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // Uniform integer in [0, bound) without modulo bias (Lemire's method with rejection).
  std::uint64_t below(std::uint64_t bound) {
    if (bound <= 1) return 0;
    const std::uint64_t threshold = (0 - bound) % bound;
    for (;;) {
      const auto product = static_cast<Wide>(next()) * bound;
      if (static_cast<std::uint64_t>(product) >= threshold) {
        return static_cast<std::uint64_t>(product >> 64);
      }
    }
  }

  // Standard normal by the Box-Muller transform (one value per call, no caching).
  double normal() {
    double u1 = uniform();
    while (u1 <= 0.0)
      u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

  // Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 through the boost
  // Gamma(shape + 1) * U^(1/shape).
  double gamma(double shape) {
    if (shape < 1.0) {
      double u = uniform();
      while (u <= 0.0)
        u = uniform();
      return gamma(shape + 1.0) * std::pow(u, 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x = 0;
      double v = 0;
      do {
        x = normal();
        v = 1.0 + c * x;
      } while (v <= 0.0);
      v = v * v * v;
      const double u = uniform();
      if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
      if (u > 0.0 && std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
    }
  }

  // Fisher-Yates, from the last element down.
  template <class T>
  void shuffle(std::span<T> items) {
    for (std::size_t i = items.size(); i > 1; --i) {
      const std::size_t j = below(i);
      std::swap(items[i - 1], items[j]);
    }
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t state_[4]{};
};

// Derives independent stream seeds from one run seed: (seed, purpose, index).
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t purpose,
                                 std::uint64_t index = 0) {
  Rng rng(seed ^ (purpose * 0x9e3779b97f4a7c15ULL) ^ (index * 0xd1b54a32d192ed03ULL));
  return rng.next();
}

}  // namespace cairn::learn

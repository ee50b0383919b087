#include "crypto/keccak.hpp"

#include <gtest/gtest.h>

#include <string>

#include "base/encoding.hpp"

namespace cairn::crypto {
namespace {

std::string hex_of(const Keccak256Digest& digest) {
  return to_hex(digest);
}

TEST(Keccak256, EmptyInput) {
  EXPECT_EQ(hex_of(keccak256(std::string_view(""))),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

TEST(Keccak256, ShortInputs) {
  EXPECT_EQ(hex_of(keccak256(std::string_view("abc"))),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  EXPECT_EQ(hex_of(keccak256(std::string_view("The quick brown fox jumps over the lazy dog"))),
            "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
}

// The Solidity function selector of transfer(address,uint256) is well known: a9059cbb.
TEST(Keccak256, SoliditySelector) {
  EXPECT_EQ(hex_of(keccak256(std::string_view("transfer(address,uint256)"))).substr(0, 8),
            "a9059cbb");
}

// Around the 136-byte rate, where padding spills into a second block (vectors from
// ethers.keccak256).
TEST(Keccak256, RateBoundaries) {
  EXPECT_EQ(hex_of(keccak256(std::string(135, 'a'))),
            "34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446");
  EXPECT_EQ(hex_of(keccak256(std::string(136, 'a'))),
            "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
  EXPECT_EQ(hex_of(keccak256(std::string(137, 'a'))),
            "d869f639c7046b4929fc92a4d988a8b22c55fbadb802c0c66ebcd484f1915f39");
}

TEST(Keccak256, IncrementalEqualsOneShotForAnySplit) {
  const std::string million(1000000, 'a');
  Keccak256 hasher;
  std::size_t offset = 0;
  std::size_t step = 1;
  while (offset < million.size()) {
    const std::size_t take = std::min(step, million.size() - offset);
    hasher.update(std::string_view(million).substr(offset, take));
    offset += take;
    step = step * 3 + 1;
    if (step > 5000) step = 7;
  }
  const auto digest = hasher.finish();
  EXPECT_EQ(hex_of(digest), "fadae6b49f129bbb812be8407b7b2894f34aecf6dbd1f9b0f0c7e9853098fc96");
  EXPECT_EQ(digest, keccak256(million));
  // finish() resets: the hasher is reusable.
  EXPECT_EQ(hex_of(hasher.update(std::string_view("abc")).finish()),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

// Keccak-f[1600] on the all-zero state (Keccak team's KeccakF-1600 intermediate values).
TEST(KeccakF1600, ZeroStateFirstLane) {
  std::uint64_t state[25] = {};
  keccak_f1600(state);
  EXPECT_EQ(state[0], 0xF1258F7940E1DDE7ULL);
  EXPECT_EQ(state[1], 0x84D5CCF933C0478AULL);
  keccak_f1600(state);
  EXPECT_EQ(state[0], 0x2D5C954DF96ECB3CULL);
}

}  // namespace
}  // namespace cairn::crypto

#pragma once
// A 256-bit unsigned integer: the EVM word, for wei amounts and ABI uint256 values.
// Only what the client needs: conversions, comparison, checked add/sub, multiply and divide
// by small numbers.
#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::chain {

class U256 {
 public:
  constexpr U256() = default;
  constexpr U256(std::uint64_t value) : limbs_{value, 0, 0, 0} {}  // NOLINT: implicit by design

  static U256 max();
  // Exactly 32 big-endian bytes, or fewer (left-padded with zeros); more than 32 fails.
  static Result<U256> from_be_bytes(ByteView bytes);
  // Decimal digits, or hex with a 0x prefix.
  static Result<U256> parse(std::string_view text);
  // An ether amount: "1.5ether", "2gwei", "100wei", "100" (wei).
  static Result<U256> parse_amount(std::string_view text);

  ByteArray<32> to_be_bytes() const;
  // Minimal big-endian bytes (empty for zero), as RLP wants integers.
  Bytes to_minimal_be_bytes() const;
  std::string to_decimal() const;
  std::string to_hex() const;  // "0x…" minimal, "0x0" for zero (JSON-RPC quantity)
  // "1.5" for 1.5 ether (trailing zeros trimmed).
  std::string to_ether_string() const;

  bool is_zero() const { return (limbs_[0] | limbs_[1] | limbs_[2] | limbs_[3]) == 0; }
  bool fits_u64() const { return (limbs_[1] | limbs_[2] | limbs_[3]) == 0; }
  std::uint64_t low64() const { return limbs_[0]; }
  unsigned bit_length() const;

  // nullopt-style failure on overflow / underflow.
  Result<U256> checked_add(const U256& other) const;
  Result<U256> checked_sub(const U256& other) const;
  Result<U256> checked_mul(std::uint64_t factor) const;
  U256 wrapping_add(const U256& other) const;
  U256 wrapping_sub(const U256& other) const;
  // Divides in place by a nonzero small divisor and returns the remainder.
  std::uint64_t divmod_small(std::uint64_t divisor);

  friend bool operator==(const U256&, const U256&) = default;
  friend std::strong_ordering operator<=>(const U256& a, const U256& b) {
    for (int i = 3; i >= 0; --i) {
      if (a.limbs_[i] != b.limbs_[i]) return a.limbs_[i] <=> b.limbs_[i];
    }
    return std::strong_ordering::equal;
  }

 private:
  std::array<std::uint64_t, 4> limbs_{};  // little-endian limbs
};

}  // namespace cairn::chain

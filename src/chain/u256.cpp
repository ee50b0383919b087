#include "chain/u256.hpp"

#include <algorithm>

#include "base/encoding.hpp"

namespace cairn::chain {
namespace {
__extension__ using uint128 = unsigned __int128;
}

U256 U256::max() {
  U256 value;
  value.limbs_.fill(~std::uint64_t{0});
  return value;
}

Result<U256> U256::from_be_bytes(ByteView bytes) {
  if (bytes.size() > 32) return fail(Errc::parse, "uint256: more than 32 bytes");
  U256 value;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const std::size_t bit = 8 * (bytes.size() - 1 - i);
    value.limbs_[bit / 64] |= std::uint64_t{std::to_integer<std::uint8_t>(bytes[i])} << (bit % 64);
  }
  return value;
}

Result<U256> U256::parse(std::string_view text) {
  if (text.empty()) return fail(Errc::parse, "uint256: empty number");
  if (text.starts_with("0x") || text.starts_with("0X")) {
    std::string digits(text.substr(2));
    if (digits.empty()) return fail(Errc::parse, "uint256: '0x' without digits");
    if (digits.size() > 64) return fail(Errc::parse, "uint256: hex number wider than 256 bits");
    if (digits.size() % 2) digits.insert(digits.begin(), '0');
    auto bytes = from_hex(digits);
    if (!bytes)
      return fail(Errc::parse, "uint256: invalid hex digits in '" + std::string(text) + "'");
    return from_be_bytes(*bytes);
  }
  U256 value;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return fail(Errc::parse, "uint256: '" + std::string(text) + "' is not a decimal number");
    }
    auto scaled = value.checked_mul(10);
    if (!scaled) return fail(Errc::parse, "uint256: number does not fit in 256 bits");
    auto sum = scaled->checked_add(U256(static_cast<std::uint64_t>(c - '0')));
    if (!sum) return fail(Errc::parse, "uint256: number does not fit in 256 bits");
    value = *sum;
  }
  return value;
}

Result<U256> U256::parse_amount(std::string_view text) {
  std::size_t decimals = 0;
  std::string_view number = text;
  const auto strip = [&](std::string_view unit, std::size_t unit_decimals) {
    if (number.ends_with(unit)) {
      number.remove_suffix(unit.size());
      decimals = unit_decimals;
      return true;
    }
    return false;
  };
  strip("ether", 18) || strip("eth", 18) || strip("gwei", 9) || strip("wei", 0);
  while (!number.empty() && number.back() == ' ')
    number.remove_suffix(1);
  std::string digits(number);
  std::size_t fraction = 0;
  if (const auto dot = digits.find('.'); dot != std::string::npos) {
    fraction = digits.size() - dot - 1;
    digits.erase(dot, 1);
  }
  if (fraction > decimals) {
    return fail(Errc::parse, "amount '" + std::string(text) + "' has more decimals than its unit");
  }
  if (digits.empty()) return fail(Errc::parse, "amount: empty");
  CAIRN_TRY_ASSIGN(U256 value, parse(digits));
  for (std::size_t i = fraction; i < decimals; ++i) {
    auto scaled = value.checked_mul(10);
    if (!scaled) return fail(Errc::parse, "amount does not fit in 256 bits");
    value = *scaled;
  }
  return value;
}

ByteArray<32> U256::to_be_bytes() const {
  ByteArray<32> out;
  for (std::size_t i = 0; i < 32; ++i) {
    const std::size_t bit = 8 * (31 - i);
    out[i] = static_cast<std::byte>(limbs_[bit / 64] >> (bit % 64));
  }
  return out;
}

Bytes U256::to_minimal_be_bytes() const {
  const auto full = to_be_bytes();
  auto first =
      std::find_if(full.begin(), full.end(), [](std::byte b) { return b != std::byte{0}; });
  return Bytes(first, full.end());
}

unsigned U256::bit_length() const {
  for (int i = 3; i >= 0; --i) {
    if (limbs_[i] != 0) {
      return static_cast<unsigned>(64 * i + 64 - __builtin_clzll(limbs_[i]));
    }
  }
  return 0;
}

std::string U256::to_decimal() const {
  if (is_zero()) return "0";
  U256 rest = *this;
  std::string digits;
  while (!rest.is_zero())
    digits.push_back(static_cast<char>('0' + rest.divmod_small(10)));
  std::reverse(digits.begin(), digits.end());
  return digits;
}

std::string U256::to_hex() const {
  const auto bytes = to_minimal_be_bytes();
  if (bytes.empty()) return "0x0";
  std::string hex = cairn::to_hex(bytes);
  if (hex[0] == '0') hex.erase(0, 1);
  return "0x" + hex;
}

std::string U256::to_ether_string() const {
  std::string digits = to_decimal();
  if (digits.size() <= 18) digits.insert(0, 19 - digits.size(), '0');
  std::string whole = digits.substr(0, digits.size() - 18);
  std::string fraction = digits.substr(digits.size() - 18);
  while (!fraction.empty() && fraction.back() == '0')
    fraction.pop_back();
  return fraction.empty() ? whole : whole + "." + fraction;
}

Result<U256> U256::checked_add(const U256& other) const {
  // Modular addition overflowed exactly when the sum wrapped below an operand.
  const U256 sum = wrapping_add(other);
  if (sum < *this) return fail(Errc::invalid_argument, "uint256 addition overflows");
  return sum;
}

U256 U256::wrapping_add(const U256& other) const {
  U256 sum;
  uint128 carry = 0;
  for (int i = 0; i < 4; ++i) {
    const uint128 s = uint128{limbs_[i]} + other.limbs_[i] + carry;
    sum.limbs_[i] = static_cast<std::uint64_t>(s);
    carry = s >> 64;
  }
  return sum;
}

U256 U256::wrapping_sub(const U256& other) const {
  U256 difference;
  std::uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    const std::uint64_t a = limbs_[i];
    const std::uint64_t b = other.limbs_[i];
    difference.limbs_[i] = a - b - borrow;
    borrow = (a < b || (a == b && borrow)) ? 1 : 0;
  }
  return difference;
}

Result<U256> U256::checked_sub(const U256& other) const {
  if (*this < other) return fail(Errc::invalid_argument, "uint256 subtraction underflows");
  return wrapping_sub(other);
}

Result<U256> U256::checked_mul(std::uint64_t factor) const {
  U256 product;
  uint128 carry = 0;
  for (int i = 0; i < 4; ++i) {
    const uint128 p = uint128{limbs_[i]} * factor + carry;
    product.limbs_[i] = static_cast<std::uint64_t>(p);
    carry = p >> 64;
  }
  if (carry) return fail(Errc::invalid_argument, "uint256 multiplication overflows");
  return product;
}

std::uint64_t U256::divmod_small(std::uint64_t divisor) {
  uint128 remainder = 0;
  for (int i = 3; i >= 0; --i) {
    const uint128 current = (remainder << 64) | limbs_[i];
    limbs_[i] = static_cast<std::uint64_t>(current / divisor);
    remainder = current % divisor;
  }
  return static_cast<std::uint64_t>(remainder);
}

}  // namespace cairn::chain

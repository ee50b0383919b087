#include "chain/address.hpp"

#include <algorithm>

#include "base/encoding.hpp"
#include "crypto/keccak.hpp"

namespace cairn::chain {

Result<Address> Address::parse(std::string_view text) {
  if (!text.starts_with("0x") && !text.starts_with("0X")) {
    return fail(Errc::parse, "address '" + std::string(text) + "' does not start with 0x");
  }
  const std::string_view digits = text.substr(2);
  if (digits.size() != 40) {
    return fail(Errc::parse, "address '" + std::string(text) + "' does not have 40 hex digits");
  }
  auto bytes = from_hex(digits);
  if (!bytes) return fail(Errc::parse, "address '" + std::string(text) + "' is not hex");
  Address address;
  std::copy(bytes->begin(), bytes->end(), address.bytes.begin());
  const bool has_lower =
      std::any_of(digits.begin(), digits.end(), [](char c) { return c >= 'a' && c <= 'f'; });
  const bool has_upper =
      std::any_of(digits.begin(), digits.end(), [](char c) { return c >= 'A' && c <= 'F'; });
  if (has_lower && has_upper && address.to_checksum().substr(2) != digits) {
    return fail(Errc::integrity,
                "address '" + std::string(text) + "' has an invalid EIP-55 checksum (mistyped?)");
  }
  return address;
}

Address Address::from_public_key(const crypto::Secp256k1PublicKey& public_key) {
  return Address{crypto::ethereum_address(public_key)};
}

Address Address::from_secret_key(const crypto::Secp256k1SecretKey& secret_key) {
  return from_public_key(crypto::secp256k1_public_key(secret_key).value());
}

std::string Address::to_lower_hex() const {
  return "0x" + to_hex(bytes);
}

std::string Address::to_checksum() const {
  std::string hex = to_hex(bytes);
  const auto digest = crypto::keccak256(std::string_view(hex));
  for (std::size_t i = 0; i < hex.size(); ++i) {
    const auto byte = std::to_integer<std::uint8_t>(digest[i / 2]);
    const std::uint8_t nibble = (i % 2 == 0) ? byte >> 4 : byte & 0x0f;
    if (hex[i] >= 'a' && nibble >= 8) hex[i] = static_cast<char>(hex[i] - 'a' + 'A');
  }
  return "0x" + hex;
}

bool Address::is_zero() const {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

}  // namespace cairn::chain

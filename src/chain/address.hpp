#pragma once
// Ethereum addresses and their EIP-55 mixed-case checksum.
#include <cstring>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "crypto/secp256k1.hpp"

namespace cairn::chain {

struct Address {
  ByteArray<20> bytes{};

  // "0x" + 40 hex digits. All-lower or all-upper case is accepted unchecked; mixed case
  // must be a valid EIP-55 checksum (a typo in a checksummed address is caught).
  static Result<Address> parse(std::string_view text);
  static Address from_public_key(const crypto::Secp256k1PublicKey& public_key);
  static Address from_secret_key(const crypto::Secp256k1SecretKey& secret_key);

  std::string to_checksum() const;   // EIP-55
  std::string to_lower_hex() const;  // "0x…" lower case
  bool is_zero() const;

  friend bool operator==(const Address&, const Address&) = default;
  // Byte order, written out: libc++ 16 (the fuzz build) has no std::array operator<=>.
  friend bool operator<(const Address& a, const Address& b) {
    return std::memcmp(a.bytes.data(), b.bytes.data(), a.bytes.size()) < 0;
  }
};

}  // namespace cairn::chain

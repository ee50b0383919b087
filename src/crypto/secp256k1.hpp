#pragma once
// secp256k1 keys and recoverable ECDSA signatures (libsecp256k1 with its recovery module),
// as Ethereum uses them: 32-byte secret keys, 64-byte uncompressed public keys without the
// 0x04 prefix, signatures as (r, s, recovery id) with s in the lower half of the order.
#include <cstdint>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::crypto {

using Secp256k1SecretKey = ByteArray<32>;
// X and Y coordinates, big-endian, without the SEC1 0x04 prefix.
using Secp256k1PublicKey = ByteArray<64>;

struct RecoverableSignature {
  ByteArray<32> r{};
  ByteArray<32> s{};
  std::uint8_t recovery_id = 0;  // 0 or 1 (y parity of R)
  // r ‖ s ‖ v with v = recovery_id + v_offset (27 for EIP-191 / legacy messages).
  ByteArray<65> to_rsv(std::uint8_t v_offset = 0) const;
};

// A valid secret key: nonzero and below the group order.
bool secp256k1_secret_key_valid(ByteView secret_key);
Secp256k1SecretKey secp256k1_generate();
Result<Secp256k1PublicKey> secp256k1_public_key(const Secp256k1SecretKey& secret_key);

// Deterministic (RFC 6979) signature of a 32-byte digest, low-s normalised.
Result<RecoverableSignature> secp256k1_sign(const Secp256k1SecretKey& secret_key,
                                            ByteView digest32);
// The public key that produced `signature` over `digest32`; fails on invalid signatures
// (r or s zero or out of range, high s, recovery id > 3).
Result<Secp256k1PublicKey> secp256k1_recover(ByteView digest32,
                                             const RecoverableSignature& signature);
bool secp256k1_verify(const Secp256k1PublicKey& public_key, ByteView digest32,
                      const RecoverableSignature& signature);

// Ethereum address: the last 20 bytes of keccak-256 of the 64-byte public key.
ByteArray<20> ethereum_address(const Secp256k1PublicKey& public_key);

}  // namespace cairn::crypto

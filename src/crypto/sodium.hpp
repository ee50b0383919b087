#pragma once
// Ed25519 signatures, X25519 key agreement, authenticated encryption and key wrapping,
// all from libsodium.

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::crypto {

// Initialises libsodium once; every function here calls it, so callers need not.
void ensure_sodium();

// ---- Ed25519 ----
struct Ed25519KeyPair {
  ByteArray<32> public_key;
  ByteArray<64> secret_key;  // libsodium's layout: seed ‖ public key
};
Ed25519KeyPair ed25519_generate();
Ed25519KeyPair ed25519_from_seed(const ByteArray<32>& seed);
ByteArray<64> ed25519_sign(const Ed25519KeyPair& key, ByteView message);
bool ed25519_verify(ByteView public_key, ByteView message, ByteView signature);

// ---- X25519 ----
struct X25519KeyPair {
  ByteArray<32> public_key;
  ByteArray<32> secret_key;
};
X25519KeyPair x25519_generate();
X25519KeyPair x25519_from_secret(const ByteArray<32>& secret);
// Raw Diffie-Hellman output; hash it (with both public keys) before use as a key.
Result<ByteArray<32>> x25519_agree(const ByteArray<32>& secret_key, ByteView peer_public_key);

// ---- XChaCha20-Poly1305 (IETF) authenticated encryption ----
inline constexpr std::size_t kAeadKeyBytes = 32;
inline constexpr std::size_t kAeadNonceBytes = 24;
inline constexpr std::size_t kAeadTagBytes = 16;
// Output: nonce ‖ ciphertext ‖ tag, with a fresh random nonce.
Bytes aead_seal(const ByteArray<32>& key, ByteView plaintext, ByteView associated_data = {});
Result<Bytes> aead_open(const ByteArray<32>& key, ByteView sealed, ByteView associated_data = {});

// ---- Key wrapping to a recipient's X25519 public key (libsodium sealed box) ----
// Anyone can wrap; only the holder of the matching secret key can unwrap.
Result<Bytes> wrap_key(ByteView recipient_public_key, ByteView key);
Result<Bytes> unwrap_key(const X25519KeyPair& recipient, ByteView wrapped);

}  // namespace cairn::crypto

#include "crypto/secp256k1.hpp"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <cstring>

#include "crypto/keccak.hpp"
#include "crypto/random.hpp"

namespace cairn::crypto {
namespace {

// One context for the process, randomised once against side channels; libsecp256k1
// contexts are safe for concurrent use once created.
const secp256k1_context* context() {
  static secp256k1_context* ctx = [] {
    secp256k1_context* created = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    auto seed = random_array<32>();
    // Randomisation only hardens against side channels; signing is correct without it.
    const int randomized =
        secp256k1_context_randomize(created, reinterpret_cast<const unsigned char*>(seed.data()));
    static_cast<void>(randomized);
    return created;
  }();
  return ctx;
}

const unsigned char* u8(ByteView bytes) {
  return reinterpret_cast<const unsigned char*>(bytes.data());
}

Secp256k1PublicKey serialize(const secp256k1_pubkey& key) {
  unsigned char out[65];
  std::size_t length = sizeof(out);
  secp256k1_ec_pubkey_serialize(context(), out, &length, &key, SECP256K1_EC_UNCOMPRESSED);
  Secp256k1PublicKey result;
  std::memcpy(result.data(), out + 1, 64);
  return result;
}

Result<secp256k1_ecdsa_recoverable_signature> parse_signature(
    const RecoverableSignature& signature) {
  if (signature.recovery_id > 3) {
    return fail(Errc::crypto, "secp256k1: recovery id out of range");
  }
  unsigned char compact[64];
  std::memcpy(compact, signature.r.data(), 32);
  std::memcpy(compact + 32, signature.s.data(), 32);
  secp256k1_ecdsa_recoverable_signature parsed;
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(context(), &parsed, compact,
                                                           signature.recovery_id)) {
    return fail(Errc::crypto, "secp256k1: r or s is not below the group order");
  }
  return parsed;
}

}  // namespace

ByteArray<65> RecoverableSignature::to_rsv(std::uint8_t v_offset) const {
  ByteArray<65> out;
  std::copy(r.begin(), r.end(), out.begin());
  std::copy(s.begin(), s.end(), out.begin() + 32);
  out[64] = static_cast<std::byte>(recovery_id + v_offset);
  return out;
}

bool secp256k1_secret_key_valid(ByteView secret_key) {
  return secret_key.size() == 32 && secp256k1_ec_seckey_verify(context(), u8(secret_key)) == 1;
}

Secp256k1SecretKey secp256k1_generate() {
  for (;;) {
    auto key = random_array<32>();
    if (secp256k1_secret_key_valid(key)) return key;
  }
}

Result<Secp256k1PublicKey> secp256k1_public_key(const Secp256k1SecretKey& secret_key) {
  secp256k1_pubkey key;
  if (!secp256k1_ec_pubkey_create(context(), &key, u8(secret_key))) {
    return fail(Errc::crypto, "secp256k1: invalid secret key (zero or not below the group order)");
  }
  return serialize(key);
}

Result<RecoverableSignature> secp256k1_sign(const Secp256k1SecretKey& secret_key,
                                            ByteView digest32) {
  if (digest32.size() != 32) {
    return fail(Errc::invalid_argument, "secp256k1: the signed digest must be 32 bytes");
  }
  secp256k1_ecdsa_recoverable_signature signature;
  if (!secp256k1_ecdsa_sign_recoverable(context(), &signature, u8(digest32), u8(secret_key),
                                        nullptr, nullptr)) {
    return fail(Errc::crypto, "secp256k1: invalid secret key");
  }
  unsigned char compact[64];
  int recovery_id = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(context(), compact, &recovery_id,
                                                          &signature);
  // libsecp256k1 signs with low s already (BIP-62 / EIP-2), so no normalisation is needed.
  RecoverableSignature out;
  std::memcpy(out.r.data(), compact, 32);
  std::memcpy(out.s.data(), compact + 32, 32);
  out.recovery_id = static_cast<std::uint8_t>(recovery_id);
  return out;
}

Result<Secp256k1PublicKey> secp256k1_recover(ByteView digest32,
                                             const RecoverableSignature& signature) {
  if (digest32.size() != 32) {
    return fail(Errc::invalid_argument, "secp256k1: the signed digest must be 32 bytes");
  }
  CAIRN_TRY_ASSIGN(auto parsed, parse_signature(signature));
  // Ethereum (EIP-2) rejects high-s signatures; so do we, before recovering.
  secp256k1_ecdsa_signature plain;
  secp256k1_ecdsa_recoverable_signature_convert(context(), &plain, &parsed);
  secp256k1_ecdsa_signature normalized;
  if (secp256k1_ecdsa_signature_normalize(context(), &normalized, &plain)) {
    return fail(Errc::crypto, "secp256k1: signature has a high s value (EIP-2)");
  }
  secp256k1_pubkey key;
  if (!secp256k1_ecdsa_recover(context(), &key, &parsed, u8(digest32))) {
    return fail(Errc::crypto, "secp256k1: no public key recovers from this signature");
  }
  return serialize(key);
}

bool secp256k1_verify(const Secp256k1PublicKey& public_key, ByteView digest32,
                      const RecoverableSignature& signature) {
  auto recovered = secp256k1_recover(digest32, signature);
  return recovered && *recovered == public_key;
}

ByteArray<20> ethereum_address(const Secp256k1PublicKey& public_key) {
  const auto digest = keccak256(ByteView(public_key));
  ByteArray<20> address;
  std::copy(digest.begin() + 12, digest.end(), address.begin());
  return address;
}

}  // namespace cairn::crypto

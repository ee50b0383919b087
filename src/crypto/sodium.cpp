#include "crypto/sodium.hpp"

#include <sodium.h>

#include <stdexcept>

#include "crypto/random.hpp"

namespace cairn::crypto {
namespace {

const unsigned char* u8(ByteView v) { return reinterpret_cast<const unsigned char*>(v.data()); }
unsigned char* u8(MutableByteView v) { return reinterpret_cast<unsigned char*>(v.data()); }
template <std::size_t N>
unsigned char* u8(ByteArray<N>& a) { return reinterpret_cast<unsigned char*>(a.data()); }
template <std::size_t N>
const unsigned char* u8(const ByteArray<N>& a) { return reinterpret_cast<const unsigned char*>(a.data()); }

}  // namespace

void ensure_sodium() {
  static const bool ready = [] { return sodium_init() >= 0; }();
  if (!ready) throw std::runtime_error("libsodium failed to initialise");
}

Ed25519KeyPair ed25519_generate() { return ed25519_from_seed(random_array<32>()); }

Ed25519KeyPair ed25519_from_seed(const ByteArray<32>& seed) {
  ensure_sodium();
  Ed25519KeyPair key;
  crypto_sign_seed_keypair(u8(key.public_key), u8(key.secret_key), u8(seed));
  return key;
}

ByteArray<64> ed25519_sign(const Ed25519KeyPair& key, ByteView message) {
  ensure_sodium();
  ByteArray<64> signature;
  crypto_sign_detached(u8(signature), nullptr, u8(message), message.size(), u8(key.secret_key));
  return signature;
}

bool ed25519_verify(ByteView public_key, ByteView message, ByteView signature) {
  ensure_sodium();
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES) {
    return false;
  }
  return crypto_sign_verify_detached(u8(signature), u8(message), message.size(), u8(public_key)) == 0;
}

X25519KeyPair x25519_generate() { return x25519_from_secret(random_array<32>()); }

X25519KeyPair x25519_from_secret(const ByteArray<32>& secret) {
  ensure_sodium();
  X25519KeyPair key;
  key.secret_key = secret;
  crypto_scalarmult_base(u8(key.public_key), u8(key.secret_key));
  return key;
}

Result<ByteArray<32>> x25519_agree(const ByteArray<32>& secret_key, ByteView peer_public_key) {
  ensure_sodium();
  if (peer_public_key.size() != 32) {
    return fail(Errc::crypto, "an X25519 public key is 32 bytes");
  }
  ByteArray<32> shared;
  if (crypto_scalarmult(u8(shared), u8(secret_key), u8(peer_public_key)) != 0) {
    return fail(Errc::crypto, "X25519 agreement with a low-order public key");
  }
  return shared;
}

Bytes aead_seal(const ByteArray<32>& key, ByteView plaintext, ByteView associated_data) {
  ensure_sodium();
  Bytes out(kAeadNonceBytes + plaintext.size() + kAeadTagBytes);
  random_fill(MutableByteView(out).first(kAeadNonceBytes));
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(u8(MutableByteView(out).subspan(kAeadNonceBytes)),
                                             &written, u8(plaintext), plaintext.size(),
                                             u8(associated_data), associated_data.size(), nullptr,
                                             u8(ByteView(out).first(kAeadNonceBytes)), u8(key));
  return out;
}

Result<Bytes> aead_open(const ByteArray<32>& key, ByteView sealed, ByteView associated_data) {
  ensure_sodium();
  if (sealed.size() < kAeadNonceBytes + kAeadTagBytes) {
    return fail(Errc::parse, "encrypted data is shorter than its nonce and tag");
  }
  Bytes out(sealed.size() - kAeadNonceBytes - kAeadTagBytes);
  unsigned long long written = 0;
  const auto body = sealed.subspan(kAeadNonceBytes);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(u8(MutableByteView(out)), &written, nullptr,
                                                 u8(body), body.size(), u8(associated_data),
                                                 associated_data.size(),
                                                 u8(sealed.first(kAeadNonceBytes)), u8(key)) != 0) {
    return fail(Errc::integrity, "decryption failed: wrong key or altered ciphertext");
  }
  out.resize(written);
  return out;
}

Result<Bytes> wrap_key(ByteView recipient_public_key, ByteView key) {
  ensure_sodium();
  if (recipient_public_key.size() != crypto_box_PUBLICKEYBYTES) {
    return fail(Errc::invalid_argument, "an X25519 public key is 32 bytes");
  }
  Bytes out(key.size() + crypto_box_SEALBYTES);
  crypto_box_seal(u8(MutableByteView(out)), u8(key), key.size(), u8(recipient_public_key));
  return out;
}

Result<Bytes> unwrap_key(const X25519KeyPair& recipient, ByteView wrapped) {
  ensure_sodium();
  if (wrapped.size() < crypto_box_SEALBYTES) {
    return fail(Errc::parse, "wrapped key is shorter than its envelope");
  }
  Bytes out(wrapped.size() - crypto_box_SEALBYTES);
  if (crypto_box_seal_open(u8(MutableByteView(out)), u8(wrapped), wrapped.size(),
                           u8(recipient.public_key), u8(recipient.secret_key)) != 0) {
    return fail(Errc::integrity, "wrapped key does not open with this key pair");
  }
  return out;
}

}  // namespace cairn::crypto

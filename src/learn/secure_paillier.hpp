#pragma once
// Paillier secure aggregation of update vectors: fixed-point encoding of signed values,
// packing many values into one plaintext with headroom for N additions, homomorphic sums
// of whole vectors, and decryption of the aggregate only. Wire format in docs/learn.md.

#include <cstdint>
#include <span>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "crypto/paillier.hpp"

namespace cairn::learn {

// A value x is sent as u = round(x 2^frac_bits) + 2^(value_bits - 1), an unsigned
// value_bits-bit integer, so |x| must stay below 2^(value_bits - frac_bits - 1). A slot
// holds the sum of up to 2^headroom_bits such integers without carrying into its
// neighbour; a plaintext holds floor((|n| - 1) / slot_bits) slots (1 when unpacked).
struct PackingParams {
  std::uint8_t frac_bits = 24;
  std::uint8_t value_bits = 32;
  std::uint8_t headroom_bits = 4;
  bool packed = true;

  [[nodiscard]] unsigned slot_bits() const { return unsigned{value_bits} + headroom_bits; }
  [[nodiscard]] std::size_t slots_per_ciphertext(std::size_t modulus_bits) const;
  [[nodiscard]] double max_magnitude() const;
  [[nodiscard]] std::uint64_t max_summands() const { return std::uint64_t{1} << headroom_bits; }
  // Headroom for `summands` additions.
  [[nodiscard]] static PackingParams for_summands(std::size_t summands, bool packed = true);
  [[nodiscard]] Status validate(std::size_t modulus_bits) const;
  friend bool operator==(const PackingParams&, const PackingParams&) = default;
};

struct EncryptedVector {
  Bytes key_fingerprint;  // sha2-256 of the public key's encoding
  PackingParams params;
  std::uint64_t model_version = 0;
  std::uint64_t value_count = 0;
  std::uint32_t summands = 1;  // how many client vectors were added into this one
  std::vector<crypto::Mpz> ciphertexts;
};

// The vector operations below split their ciphertexts across `threads` std::threads (0: one
// per hardware thread, std::thread::hardware_concurrency()); results do not depend on it.
[[nodiscard]] unsigned paillier_threads(unsigned requested = 0);

[[nodiscard]] std::size_t ciphertexts_needed(std::uint64_t value_count, const PackingParams& params,
                                             std::size_t modulus_bits);

// Encodes, packs and encrypts. Values beyond the range fail (naming the index).
[[nodiscard]] Result<EncryptedVector> encrypt_vector(const crypto::PaillierEncryptor& encryptor,
                                                     std::span<const double> values,
                                                     const PackingParams& params,
                                                     std::uint64_t model_version,
                                                     unsigned threads = 0);
// Homomorphic sum of vectors encrypted under one key with equal parameters and lengths.
[[nodiscard]] Result<EncryptedVector> sum_encrypted(const crypto::PaillierPublicKey& key,
                                                    std::span<const EncryptedVector* const> vectors,
                                                    unsigned threads = 0);
// Decrypts (CRT) and unpacks a sum of `summands` vectors into the sum of their values.
[[nodiscard]] Result<std::vector<double>> decrypt_vector(const crypto::PaillierPrivateKey& key,
                                                         const EncryptedVector& vector,
                                                         unsigned threads = 0);

// "CRNPAIV1" | 32-byte key fingerprint | u8 frac_bits | u8 value_bits | u8 headroom_bits |
// u8 packed | u64 model version | u64 value count | u32 summands | u32 ciphertext count |
// u32 ciphertext width | ciphertexts, each `width` bytes big-endian.
[[nodiscard]] Bytes encode_encrypted_vector(const crypto::PaillierPublicKey& key,
                                            const EncryptedVector& vector);
// The exact size of that encoding for `value_count` values: what a task's update (or sum)
// must measure, known before it is fetched.
[[nodiscard]] std::uint64_t encrypted_vector_bytes(const crypto::PaillierPublicKey& key,
                                                   std::uint64_t value_count,
                                                   const PackingParams& params);
// Structural decoding (no key needed); check_encrypted_vector then checks it against a key.
[[nodiscard]] Result<EncryptedVector> decode_encrypted_vector(ByteView bytes);
// Every ciphertext must lie in [1, n^2) and be coprime to n; coprimality is checked on the
// product of each thread's ciphertexts mod n (one gcd instead of one per ciphertext), and
// only a failing product is searched for the ciphertext to name.
[[nodiscard]] Status check_encrypted_vector(const crypto::PaillierPublicKey& key,
                                            const EncryptedVector& vector, unsigned threads = 0);

}  // namespace cairn::learn

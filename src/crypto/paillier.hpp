#pragma once
// The Paillier cryptosystem on GMP: key generation, encryption (plain, and with DJN
// precomputation: a fixed-base table for h^n), homomorphic addition and scalar
// multiplication, and CRT decryption. Keys and ciphertexts have documented binary
// encodings (docs/learn.md) and a JSON form that npm paillier-bigint can load.

#include <gmp.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::crypto {

// An owning GMP integer.
class Mpz {
 public:
  Mpz() { mpz_init(value_); }
  explicit Mpz(unsigned long v) { mpz_init_set_ui(value_, v); }
  Mpz(const Mpz& other) { mpz_init_set(value_, other.value_); }
  Mpz(Mpz&& other) noexcept {
    mpz_init(value_);
    mpz_swap(value_, other.value_);
  }
  Mpz& operator=(const Mpz& other) {
    if (this != &other) mpz_set(value_, other.value_);
    return *this;
  }
  Mpz& operator=(Mpz&& other) noexcept {
    mpz_swap(value_, other.value_);
    return *this;
  }
  ~Mpz() { mpz_clear(value_); }

  mpz_ptr get() { return value_; }
  mpz_srcptr get() const { return value_; }
  bool operator==(const Mpz& other) const { return mpz_cmp(value_, other.value_) == 0; }
  std::size_t bits() const { return mpz_sizeinbase(value_, 2); }

  // Big-endian magnitude, left-padded with zeros to `width` bytes (0: minimal length).
  Bytes to_bytes(std::size_t width = 0) const;
  static Mpz from_bytes(ByteView big_endian);
  std::string to_hex() const;
  static Result<Mpz> from_hex(std::string_view hex);
  std::string to_decimal() const;
  static Result<Mpz> from_decimal(std::string_view text);

 private:
  mpz_t value_;
};

// A random integer in [0, bound) from the OS CSPRNG.
Mpz random_below(const Mpz& bound);

struct PaillierPublicKey {
  Mpz n;
  Mpz n_squared;
  Mpz g;                 // n + 1 for cairn's keys; any valid g is accepted on import
  std::size_t bits = 0;  // bit length of n

  [[nodiscard]] std::size_t ciphertext_bytes() const { return (2 * bits + 7) / 8; }
  [[nodiscard]] bool simple_g() const;
  // sha2-256 of the binary encoding: how ciphertexts name the key they belong to.
  [[nodiscard]] Bytes fingerprint() const;
};

struct PaillierPrivateKey {
  PaillierPublicKey public_key;
  Mpz p, q;
  Mpz lambda, mu;  // textbook decryption (paillier-bigint's parameters)
  // CRT decryption: m = CRT(L_p(c^(p-1) mod p^2) h_p mod p, L_q(c^(q-1) mod q^2) h_q mod q).
  Mpz p_squared, q_squared, hp, hq, q_inverse_mod_p;
};

struct PaillierKeyPair {
  PaillierPublicKey public_key;
  PaillierPrivateKey private_key;
};

inline constexpr std::size_t kMinPaillierBits = 2048;
inline constexpr std::size_t kMaxPaillierBits = 8192;
// Keys below 2048 bits are breakable; tests use them for speed, and only when they say so.
inline constexpr std::size_t kMinInsecurePaillierBits = 512;

// The one rule for a Paillier key size, for every command and role: even, 2048 to 8192
// bits, or from 512 bits when the caller passed the insecure-test-key flag.
[[nodiscard]] Status check_paillier_bits(std::size_t bits, bool insecure_test_key);

// n = p q with p, q random primes of bits/2 bits each, n exactly `bits` bits, g = n + 1.
// Refuses fewer than 2048 bits unless `allow_small` (tests and fuzzing only).
[[nodiscard]] Result<PaillierKeyPair> paillier_generate(std::size_t bits, bool allow_small = false);
// Rebuilds the private key (lambda, mu, CRT values) from p, q and g.
[[nodiscard]] Result<PaillierPrivateKey> paillier_private_from_primes(const Mpz& p, const Mpz& q,
                                                                      const Mpz& g);
[[nodiscard]] Result<PaillierPublicKey> paillier_public_key(const Mpz& n, const Mpz& g);
// Imports a key given as (n, g, lambda), e.g. from paillier-bigint, which does not export
// p and q: n is factored from lambda (a multiple of the Carmichael function of n).
[[nodiscard]] Result<PaillierPrivateKey> paillier_private_from_lambda(const Mpz& n, const Mpz& g,
                                                                      const Mpz& lambda);

// c = g^m r^n mod n^2 with a fresh random r (m must be in [0, n)).
[[nodiscard]] Result<Mpz> paillier_encrypt(const PaillierPublicKey& key, const Mpz& m);
// As above with a given r (for cross-checks against other implementations).
[[nodiscard]] Result<Mpz> paillier_encrypt_with(const PaillierPublicKey& key, const Mpz& m,
                                                const Mpz& r);

// Encryption with precomputation (Damgard, Jurik and Nielsen 2010, section 4): with
// h = -x^2 mod n for random x and hs = h^n mod n^2, the randomiser is hs^a for a random
// a of bits/2 bits, computed from a table of hs^(j 2^(w i)) in bits/(2w) multiplications
// instead of a full-length exponentiation. Ciphertexts are ordinary Paillier ciphertexts.
//
// Randomisers do not depend on the message, so they can also be made ahead of time (the
// offline phase: while a client trains or waits for a round) with precompute(); encrypt()
// takes one from that pool, each exactly once, and makes a fresh one when the pool is
// empty. Copies of an encryptor share its table and its pool; every member is safe to call
// from several threads at once.
class PaillierEncryptor {
 public:
  static constexpr unsigned kWindowBits = 8;
  explicit PaillierEncryptor(PaillierPublicKey key);
  [[nodiscard]] Result<Mpz> encrypt(const Mpz& m) const;
  const PaillierPublicKey& key() const { return key_; }

  // Makes `count` randomisers now and keeps them for later encryptions.
  void precompute(std::size_t count) const;
  // Randomisers waiting in the pool.
  [[nodiscard]] std::size_t precomputed() const;

 private:
  Mpz randomiser() const;
  Mpz take_randomiser() const;
  PaillierPublicKey key_;
  std::size_t exponent_bits_ = 0;
  // table_[i][j] = hs^(j << (w i)) mod n^2; shared (read-only) between copies.
  std::shared_ptr<const std::vector<std::vector<Mpz>>> table_;
  struct Pool {
    std::mutex mutex;
    std::vector<Mpz> randomisers;
  };
  std::shared_ptr<Pool> pool_ = std::make_shared<Pool>();
};

// Enc(a) * Enc(b) = Enc(a + b mod n).
[[nodiscard]] Mpz paillier_add(const PaillierPublicKey& key, const Mpz& a, const Mpz& b);
void paillier_add_into(const PaillierPublicKey& key, Mpz& accumulator, const Mpz& c);
// Enc(a)^k = Enc(k a mod n).
[[nodiscard]] Mpz paillier_scale(const PaillierPublicKey& key, const Mpz& c, const Mpz& k);

// CRT decryption. Fails for values outside (0, n^2) or not coprime to n.
[[nodiscard]] Result<Mpz> paillier_decrypt(const PaillierPrivateKey& key, const Mpz& c);
// Textbook decryption L(c^lambda mod n^2) mu mod n (slower; for cross-checking CRT).
[[nodiscard]] Result<Mpz> paillier_decrypt_textbook(const PaillierPrivateKey& key, const Mpz& c);

// Checks a ciphertext is in [1, n^2) and coprime to n (a valid element of Z*_{n^2}).
[[nodiscard]] Status paillier_check_ciphertext(const PaillierPublicKey& key, const Mpz& c);

// ---- encodings ----
// Public key: "CRNPAIPK" | u16 version (1) | u32 len | n | u32 len | g  (big-endian).
[[nodiscard]] Bytes encode_public_key(const PaillierPublicKey& key);
[[nodiscard]] Result<PaillierPublicKey> decode_public_key(ByteView bytes);
// Private key: "CRNPAISK" | u16 version (1) | public key encoding (u32 len, bytes) |
// u32 len | p | u32 len | q.
[[nodiscard]] Bytes encode_private_key(const PaillierPrivateKey& key);
[[nodiscard]] Result<PaillierPrivateKey> decode_private_key(ByteView bytes);
// One ciphertext: exactly key.ciphertext_bytes() big-endian bytes.
[[nodiscard]] Bytes encode_ciphertext(const PaillierPublicKey& key, const Mpz& c);
[[nodiscard]] Result<Mpz> decode_ciphertext(const PaillierPublicKey& key, ByteView bytes);

}  // namespace cairn::crypto

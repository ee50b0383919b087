// libFuzzer target: Paillier encodings (public and private keys, single ciphertexts, the
// encrypted-vector wire format) and Shamir shares. The first byte picks the parser.
#include <cstdlib>

#include "crypto/paillier.hpp"
#include "crypto/shamir.hpp"
#include "learn/secure_paillier.hpp"

namespace {

// A fixed 512-bit key (primes found deterministically), so runs are reproducible.
const cairn::crypto::PaillierPrivateKey& key() {
  static const auto k = [] {
    cairn::crypto::Mpz p, q, g;
    mpz_ui_pow_ui(p.get(), 2, 255);
    mpz_add_ui(p.get(), p.get(), 12345);
    mpz_nextprime(p.get(), p.get());
    mpz_ui_pow_ui(q.get(), 2, 255);
    mpz_add_ui(q.get(), q.get(), 999999);
    mpz_nextprime(q.get(), q.get());
    mpz_mul(g.get(), p.get(), q.get());
    mpz_add_ui(g.get(), g.get(), 1);
    return cairn::crypto::paillier_private_from_primes(p, q, g).value();
  }();
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  switch (data[0] % 5) {
    case 0: {
      const auto vector = cairn::learn::decode_encrypted_vector(input);
      if (vector && cairn::learn::check_encrypted_vector(key().public_key, *vector) && vector->ciphertexts.size() <= 4) {
        (void)cairn::learn::decrypt_vector(key(), *vector);
      }
      break;
    }
    case 1: {
      const auto pub = cairn::crypto::decode_public_key(input);
      if (pub && !cairn::equal(cairn::crypto::encode_public_key(*pub), input)) std::abort();
      break;
    }
    case 2:
      if (input.size() < 300) (void)cairn::crypto::decode_private_key(input);
      break;
    case 3: {
      const auto c = cairn::crypto::decode_ciphertext(key().public_key, input);
      if (c) {
        const auto m = cairn::crypto::paillier_decrypt(key(), *c);
        const auto m2 = cairn::crypto::paillier_decrypt_textbook(key(), *c);
        if (!m || !m2 || !(*m == *m2)) std::abort();
      }
      break;
    }
    case 4: {
      const auto share = cairn::crypto::decode_share(input);
      if (share && !cairn::equal(cairn::crypto::encode_share(*share), input)) std::abort();
      if (share) (void)cairn::crypto::shamir_reconstruct({*share}, 1, 32);
      break;
    }
  }
  return 0;
}

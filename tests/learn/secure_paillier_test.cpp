#include "learn/secure_paillier.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "learn/rng.hpp"

namespace cairn::learn {
namespace {

const crypto::PaillierKeyPair& key() {
  static const auto pair = crypto::paillier_generate(1024, true).value();
  return pair;
}

std::vector<double> random_values(std::size_t n, std::uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  std::vector<double> out(n);
  for (auto& v : out)
    v = (rng.uniform() * 2 - 1) * scale;
  return out;
}

TEST(SecurePaillier, PackingLayout) {
  const auto params = PackingParams::for_summands(10);
  EXPECT_EQ(params.headroom_bits, 4);
  EXPECT_EQ(params.slot_bits(), 36u);
  EXPECT_EQ(params.slots_per_ciphertext(2048), 56u);
  EXPECT_EQ(ciphertexts_needed(100, params, 2048), 2u);
  EXPECT_EQ(ciphertexts_needed(44428, params, 2048), 794u);  // the CNN's update + weight
  EXPECT_EQ(params.max_magnitude(), 128.0);
  EXPECT_EQ(PackingParams::for_summands(10, false).slots_per_ciphertext(2048), 1u);
  EXPECT_EQ(PackingParams::for_summands(16).headroom_bits, 4);
  EXPECT_EQ(PackingParams::for_summands(17).headroom_bits, 5);
}

TEST(SecurePaillier, SumOfEncryptedVectorsDecryptsToSumWithinFixedPointError) {
  const crypto::PaillierEncryptor encryptor(key().public_key);
  const auto params = PackingParams::for_summands(5);
  std::vector<EncryptedVector> encrypted;
  std::vector<double> expected(300, 0.0);
  for (int k = 0; k < 5; ++k) {
    const auto values = random_values(300, static_cast<std::uint64_t>(k), 100.0);
    for (std::size_t i = 0; i < values.size(); ++i)
      expected[i] += values[i];
    auto e = encrypt_vector(encryptor, values, params, 4);
    ASSERT_TRUE(e) << e.error().to_string();
    encrypted.push_back(std::move(*e));
  }
  std::vector<const EncryptedVector*> pointers;
  for (const auto& e : encrypted)
    pointers.push_back(&e);
  const auto sum = sum_encrypted(key().public_key, pointers);
  ASSERT_TRUE(sum) << sum.error().to_string();
  EXPECT_EQ(sum->summands, 5u);
  const auto decrypted = decrypt_vector(key().private_key, *sum);
  ASSERT_TRUE(decrypted) << decrypted.error().to_string();
  const double bound = 5 * std::ldexp(1.0, -params.frac_bits - 1) + 1e-12;
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR((*decrypted)[i], expected[i], bound) << i;
}

TEST(SecurePaillier, UnpackedGivesTheSameSum) {
  const crypto::PaillierEncryptor encryptor(key().public_key);
  const auto params = PackingParams::for_summands(2, false);
  const auto a = random_values(20, 1), b = random_values(20, 2);
  auto ea = encrypt_vector(encryptor, a, params, 0).value();
  auto eb = encrypt_vector(encryptor, b, params, 0).value();
  EXPECT_EQ(ea.ciphertexts.size(), 20u);
  const EncryptedVector* both[] = {&ea, &eb};
  const auto sum =
      decrypt_vector(key().private_key, sum_encrypted(key().public_key, both).value()).value();
  for (std::size_t i = 0; i < 20; ++i)
    EXPECT_NEAR(sum[i], a[i] + b[i], 1e-6);
}

TEST(SecurePaillier, RejectsOutOfRangeValuesAndTooManySummands) {
  const crypto::PaillierEncryptor encryptor(key().public_key);
  const auto params = PackingParams::for_summands(2);
  const std::vector<double> too_big{params.max_magnitude() * 2};
  EXPECT_FALSE(encrypt_vector(encryptor, too_big, params, 0));
  const std::vector<double> nan{std::nan("")};
  EXPECT_FALSE(encrypt_vector(encryptor, nan, params, 0));
  const auto v = encrypt_vector(encryptor, random_values(4, 3), params, 0).value();
  const EncryptedVector* three[] = {&v, &v, &v};
  const auto sum = sum_encrypted(key().public_key, three);
  ASSERT_FALSE(sum);
  EXPECT_NE(sum.error().message.find("headroom"), std::string::npos);
}

TEST(SecurePaillier, RejectsMismatchedVersionsAndKeys) {
  const crypto::PaillierEncryptor encryptor(key().public_key);
  const auto params = PackingParams::for_summands(4);
  const auto a = encrypt_vector(encryptor, random_values(4, 1), params, 1).value();
  const auto b = encrypt_vector(encryptor, random_values(4, 2), params, 2).value();
  const EncryptedVector* both[] = {&a, &b};
  const auto sum = sum_encrypted(key().public_key, both);
  ASSERT_FALSE(sum);
  EXPECT_NE(sum.error().message.find("model versions"), std::string::npos);
  const auto other = crypto::paillier_generate(1024, true).value();
  EXPECT_NE(
      check_encrypted_vector(other.public_key, a).error().message.find("different Paillier key"),
      std::string::npos);
}

TEST(SecurePaillier, EncodingRoundTripsAndRejectsTruncation) {
  const crypto::PaillierEncryptor encryptor(key().public_key);
  const auto params = PackingParams::for_summands(3);
  const auto v = encrypt_vector(encryptor, random_values(100, 9), params, 12).value();
  const auto bytes = encode_encrypted_vector(key().public_key, v);
  const auto back = decode_encrypted_vector(bytes);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_TRUE(check_encrypted_vector(key().public_key, *back));
  EXPECT_EQ(back->model_version, 12u);
  EXPECT_EQ(back->value_count, 100u);
  const auto decrypted = decrypt_vector(key().private_key, *back).value();
  const auto original = random_values(100, 9);
  for (std::size_t i = 0; i < 100; ++i)
    EXPECT_NEAR(decrypted[i], original[i], 1e-7);
  for (std::size_t n : {std::size_t{0}, std::size_t{10}, std::size_t{71}, bytes.size() - 1}) {
    const auto cut = decode_encrypted_vector(ByteView(bytes).first(n));
    ASSERT_FALSE(cut) << "accepted " << n << " bytes";
  }
  EXPECT_NE(decode_encrypted_vector(ByteView(bytes).first(bytes.size() - 5))
                .error()
                .message.find("truncated"),
            std::string::npos);
  // A ciphertext zeroed out: structurally fine, rejected against the key.
  auto zeroed = bytes;
  std::fill(zeroed.end() - 256, zeroed.end(), std::byte{0});
  const auto z = decode_encrypted_vector(zeroed);
  ASSERT_TRUE(z);
  EXPECT_FALSE(check_encrypted_vector(key().public_key, *z));
}

TEST(SecurePaillier, AValueCountTheCiphertextsCannotHoldIsRefused) {
  // Found by fuzz_paillier_ciphertext: a value count near 2^64 wrapped the ciphertext count
  // it needs to a handful, passed the check, and decryption tried to allocate it.
  const crypto::PaillierEncryptor encryptor(key().public_key);
  const auto params = PackingParams::for_summands(3);
  auto v = encrypt_vector(encryptor, random_values(100, 9), params, 1).value();
  for (std::uint64_t lie : {~std::uint64_t{0} - 4, ~std::uint64_t{0}, std::uint64_t{1} << 40}) {
    auto forged = v;
    forged.value_count = lie;
    EXPECT_FALSE(check_encrypted_vector(key().public_key, forged)) << lie;
    auto bytes = encode_encrypted_vector(key().public_key, forged);
    const auto decoded = decode_encrypted_vector(bytes);
    ASSERT_FALSE(decoded) << lie;
    EXPECT_NE(decoded.error().message.find("claims"), std::string::npos) << decoded.error().message;
  }
  __extension__ typedef unsigned __int128 Wide;
  const Wide slots = params.slots_per_ciphertext(1024);
  EXPECT_EQ(ciphertexts_needed(~std::uint64_t{0}, params, 1024),
            static_cast<std::size_t>((~std::uint64_t{0} + slots - 1) / slots));
}

TEST(SecurePaillier, ThreadCountDoesNotChangeResults) {
  const crypto::PaillierEncryptor encryptor(key().public_key);
  const auto params = PackingParams::for_summands(3);
  const auto values = random_values(1000, 21, 50.0);
  std::vector<EncryptedVector> vectors;
  for (unsigned threads : {1u, 3u, 7u})
    vectors.push_back(encrypt_vector(encryptor, values, params, 5, threads).value());
  const EncryptedVector* all[] = {&vectors[0], &vectors[1], &vectors[2]};
  const auto sum_1 = sum_encrypted(key().public_key, all, 1).value();
  const auto sum_4 = sum_encrypted(key().public_key, all, 4).value();
  EXPECT_EQ(sum_1.ciphertexts, sum_4.ciphertexts);  // the same products, however split
  const auto one = decrypt_vector(key().private_key, sum_1, 1).value();
  const auto many = decrypt_vector(key().private_key, sum_4, 5).value();
  EXPECT_EQ(one, many);
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_NEAR(one[i], 3 * values[i], 3e-7) << i;
  // The first bad value is named whichever thread meets it.
  auto bad = values;
  bad[700] = std::nan("");
  bad[900] = 1e9;
  const auto refused = encrypt_vector(encryptor, bad, params, 5, 4);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("index 700"), std::string::npos)
      << refused.error().message;
}

TEST(SecurePaillier, BatchedCoprimalityCheckNamesTheBadCiphertext) {
  const crypto::PaillierEncryptor encryptor(key().public_key);
  const auto params = PackingParams::for_summands(2);
  auto v = encrypt_vector(encryptor, random_values(2000, 4), params, 0).value();
  ASSERT_GT(v.ciphertexts.size(), 10u);
  EXPECT_TRUE(check_encrypted_vector(key().public_key, v, 3));
  // A multiple of p is in range but not a unit mod n: only the product's gcd sees it.
  mpz_mul_ui(v.ciphertexts[9].get(), key().private_key.p.get(), 12345);
  for (unsigned threads : {1u, 2u, 4u}) {
    const auto status = check_encrypted_vector(key().public_key, v, threads);
    ASSERT_FALSE(status);
    EXPECT_NE(status.error().message.find("ciphertext 9"), std::string::npos)
        << status.error().message;
    EXPECT_NE(status.error().message.find("shares a factor"), std::string::npos)
        << status.error().message;
  }
  EXPECT_FALSE(decrypt_vector(key().private_key, v));
}

TEST(SecurePaillier, PrecomputedRandomisersAreUsedOnceEach) {
  const crypto::PaillierEncryptor encryptor(key().public_key);
  EXPECT_EQ(encryptor.precomputed(), 0u);
  encryptor.precompute(20);
  EXPECT_EQ(encryptor.precomputed(), 20u);
  const crypto::PaillierEncryptor copy = encryptor;  // shares the pool
  const auto params = PackingParams::for_summands(2);
  const auto values = random_values(params.slots_per_ciphertext(1024) * 5, 8);
  const auto v = encrypt_vector(copy, values, params, 0, 2).value();
  ASSERT_EQ(v.ciphertexts.size(), 5u);
  EXPECT_EQ(encryptor.precomputed(), 15u);
  // Fresh randomisers: the same message twice gives different ciphertexts.
  const auto again = encrypt_vector(encryptor, values, params, 0, 2).value();
  for (std::size_t c = 0; c < 5; ++c)
    EXPECT_FALSE(again.ciphertexts[c] == v.ciphertexts[c]);
  // Pool drained: encryption goes on with randomisers made on the spot.
  const auto many =
      encrypt_vector(encryptor, random_values(params.slots_per_ciphertext(1024) * 12, 9), params, 0)
          .value();
  EXPECT_EQ(encryptor.precomputed(), 0u);
  const auto decrypted = decrypt_vector(key().private_key, many).value();
  const auto expected = random_values(params.slots_per_ciphertext(1024) * 12, 9);
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(decrypted[i], expected[i], 1e-7);
}

}  // namespace
}  // namespace cairn::learn

#include "crypto/paillier.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/testing.hpp"

namespace cairn::crypto {
namespace {

const PaillierKeyPair& small_key() {
  static const auto key = paillier_generate(512, true).value();
  return key;
}

Mpz number(unsigned long v) { return Mpz(v); }

TEST(Paillier, RefusesKeysUnder2048BitsByDefault) {
  const auto key = paillier_generate(1024);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message.find("2048"), std::string::npos);
}

TEST(Paillier, Generates2048BitKeyThatRoundTrips) {
  const auto key = paillier_generate(2048);
  ASSERT_TRUE(key) << key.error().to_string();
  EXPECT_EQ(key->public_key.bits, 2048u);
  EXPECT_TRUE(key->public_key.simple_g());
  const auto c = paillier_encrypt(key->public_key, number(123456789));
  ASSERT_TRUE(c);
  EXPECT_EQ(paillier_decrypt(key->private_key, *c)->to_decimal(), "123456789");
}

TEST(Paillier, CrtDecryptionMatchesTextbook) {
  const auto& key = small_key();
  for (unsigned long m : {0ul, 1ul, 42ul, 0xfffffffful}) {
    const auto c = paillier_encrypt(key.public_key, number(m)).value();
    EXPECT_EQ(paillier_decrypt(key.private_key, c)->to_decimal(), std::to_string(m));
    EXPECT_EQ(paillier_decrypt_textbook(key.private_key, c)->to_decimal(), std::to_string(m));
  }
  Mpz n_minus_one;
  mpz_sub_ui(n_minus_one.get(), key.public_key.n.get(), 1);
  const auto c = paillier_encrypt(key.public_key, n_minus_one).value();
  EXPECT_EQ(*paillier_decrypt(key.private_key, c), n_minus_one);
}

TEST(Paillier, AdditionAndScalingAreHomomorphic) {
  const auto& key = small_key();
  const auto a = paillier_encrypt(key.public_key, number(1000)).value();
  const auto b = paillier_encrypt(key.public_key, number(234)).value();
  EXPECT_EQ(paillier_decrypt(key.private_key, paillier_add(key.public_key, a, b))->to_decimal(), "1234");
  EXPECT_EQ(paillier_decrypt(key.private_key, paillier_scale(key.public_key, b, number(3)))->to_decimal(), "702");
  // Addition wraps modulo n: (n - 1) + 2 = 1.
  Mpz n_minus_one;
  mpz_sub_ui(n_minus_one.get(), key.public_key.n.get(), 1);
  const auto big = paillier_encrypt(key.public_key, n_minus_one).value();
  const auto two = paillier_encrypt(key.public_key, number(2)).value();
  EXPECT_EQ(paillier_decrypt(key.private_key, paillier_add(key.public_key, big, two))->to_decimal(), "1");
}

TEST(Paillier, PrecomputedEncryptorGivesOrdinaryCiphertexts) {
  const auto& key = small_key();
  const PaillierEncryptor encryptor(key.public_key);
  const auto c1 = encryptor.encrypt(number(77)).value();
  const auto c2 = encryptor.encrypt(number(77)).value();
  EXPECT_FALSE(c1 == c2);  // randomised
  EXPECT_EQ(paillier_decrypt(key.private_key, c1)->to_decimal(), "77");
  EXPECT_EQ(paillier_decrypt_textbook(key.private_key, c2)->to_decimal(), "77");
  const auto sum = paillier_add(key.public_key, c1, paillier_encrypt(key.public_key, number(3)).value());
  EXPECT_EQ(paillier_decrypt(key.private_key, sum)->to_decimal(), "80");
  EXPECT_FALSE(encryptor.encrypt(key.public_key.n));  // plaintext out of range
}

TEST(Paillier, EncryptWithGivenRandomnessIsDeterministic) {
  const auto& key = small_key();
  const auto c1 = paillier_encrypt_with(key.public_key, number(5), number(17)).value();
  const auto c2 = paillier_encrypt_with(key.public_key, number(5), number(17)).value();
  EXPECT_TRUE(c1 == c2);
}

TEST(Paillier, KeysAndCiphertextsRoundTripTheirEncodings) {
  const auto& key = small_key();
  const auto pub = decode_public_key(encode_public_key(key.public_key));
  ASSERT_TRUE(pub) << pub.error().to_string();
  EXPECT_TRUE(pub->n == key.public_key.n);
  EXPECT_EQ(pub->fingerprint(), key.public_key.fingerprint());
  const auto priv = decode_private_key(encode_private_key(key.private_key));
  ASSERT_TRUE(priv) << priv.error().to_string();
  const auto c = paillier_encrypt(key.public_key, number(9)).value();
  const auto bytes = encode_ciphertext(key.public_key, c);
  EXPECT_EQ(bytes.size(), key.public_key.ciphertext_bytes());
  const auto back = decode_ciphertext(key.public_key, bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(paillier_decrypt(*priv, *back)->to_decimal(), "9");
}

TEST(Paillier, RejectsMalformedEncodings) {
  const auto& key = small_key();
  const auto pub = encode_public_key(key.public_key);
  for (std::size_t n = 0; n < pub.size(); n += 7) EXPECT_FALSE(decode_public_key(ByteView(pub).first(n)));
  auto trailing = pub;
  trailing.push_back(std::byte{0});
  EXPECT_FALSE(decode_public_key(trailing));
  auto bad_magic = pub;
  bad_magic[0] = std::byte{'x'};
  EXPECT_FALSE(decode_public_key(bad_magic));
  const auto c = encode_ciphertext(key.public_key, paillier_encrypt(key.public_key, number(1)).value());
  EXPECT_NE(decode_ciphertext(key.public_key, ByteView(c).first(c.size() - 1)).error().message.find("bytes"),
            std::string::npos);
  EXPECT_FALSE(decode_ciphertext(key.public_key, Bytes(c.size(), std::byte{0})));     // zero
  EXPECT_FALSE(decode_ciphertext(key.public_key, Bytes(c.size(), std::byte{0xff})));  // >= n^2
  // A private key whose primes do not match its public key.
  const auto other = paillier_generate(512, true).value();
  auto mixed = other.private_key;
  mixed.public_key = key.public_key;
  EXPECT_FALSE(decode_private_key(encode_private_key(mixed)));
}

TEST(Paillier, ImportsKeyFromLambdaByFactoringN) {
  const auto& key = small_key();
  const auto imported = paillier_private_from_lambda(key.public_key.n, key.public_key.g, key.private_key.lambda);
  ASSERT_TRUE(imported) << imported.error().to_string();
  EXPECT_TRUE((imported->p == key.private_key.p && imported->q == key.private_key.q) ||
              (imported->p == key.private_key.q && imported->q == key.private_key.p));
  EXPECT_FALSE(paillier_private_from_lambda(key.public_key.n, key.public_key.g, number(1234)));
}

// Encrypt in cairn, decrypt with npm paillier-bigint; encrypt there, decrypt here; and
// import a paillier-bigint key (random g) and decrypt its ciphertexts.
TEST(Paillier, CrossChecksWithPaillierBigint) {
  const auto node = testing::run_command("command -v node");
  const auto module = testing::source_dir() / "node_modules" / "paillier-bigint";
  if (node.exit_code != 0 || !std::filesystem::exists(module)) {
    GTEST_SKIP() << "node or npm paillier-bigint missing (scripts/setup installs them)";
  }
  const auto key = paillier_generate(2048).value();
  const auto& pk = key.public_key;
  nlohmann::json in;
  in["key"] = {{"n", pk.n.to_hex()}, {"g", pk.g.to_hex()}, {"lambda", key.private_key.lambda.to_hex()},
               {"mu", key.private_key.mu.to_hex()}, {"p", key.private_key.p.to_hex()}, {"q", key.private_key.q.to_hex()}};
  const PaillierEncryptor encryptor(pk);
  std::vector<std::string> messages{"0", "deadbeef", "123456789abcdef0123456789abcdef"};
  for (const auto& m : messages) {
    const auto value = Mpz::from_hex(m).value();
    in["from_cairn"].push_back({{"m", m}, {"c", encryptor.encrypt(value)->to_hex()}});
    in["to_encrypt"].push_back(m);
  }
  in["add"] = {{1, 2}};
  in["js_key_bits"] = 768;  // paillier-bigint's own key: prime generation in JS is slow
  testing::TempDir dir;
  testing::write_file(dir / "in.json", as_bytes(in.dump()));
  const auto script = testing::source_dir() / "tests" / "learn" / "js" / "paillier_cross.mjs";
  const auto run = testing::run_command("node " + script.string() + " " + (dir / "in.json").string() + " " +
                                        (dir / "out.json").string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto out = nlohmann::json::parse(as_chars(testing::read_file(dir / "out.json")));
  for (std::size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(Mpz::from_hex(out["decrypted"][i].get<std::string>()).value(), Mpz::from_hex(messages[i]).value())
        << "paillier-bigint could not decrypt cairn's ciphertext " << i;
    const auto c = Mpz::from_hex(out["from_js"][i]["c"].get<std::string>()).value();
    EXPECT_EQ(*paillier_decrypt(key.private_key, c), Mpz::from_hex(messages[i]).value())
        << "cairn could not decrypt paillier-bigint's ciphertext " << i;
  }
  Mpz expected_sum;
  mpz_add(expected_sum.get(), Mpz::from_hex(messages[1])->get(), Mpz::from_hex(messages[2])->get());
  EXPECT_EQ(*paillier_decrypt(key.private_key, Mpz::from_hex(out["sums"][0].get<std::string>()).value()), expected_sum);
  // paillier-bigint's own key, with a random generator g.
  const auto& js = out["js_key"];
  const auto js_key = paillier_private_from_lambda(Mpz::from_hex(js["n"].get<std::string>()).value(),
                                                   Mpz::from_hex(js["g"].get<std::string>()).value(),
                                                   Mpz::from_hex(js["lambda"].get<std::string>()).value());
  ASSERT_TRUE(js_key) << js_key.error().to_string();
  EXPECT_FALSE(js_key->public_key.simple_g());
  EXPECT_EQ(js_key->mu, Mpz::from_hex(js["mu"].get<std::string>()).value());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto c = Mpz::from_hex(out["from_js_key"][i]["c"].get<std::string>()).value();
    EXPECT_EQ(*paillier_decrypt(*js_key, c), Mpz::from_hex(messages[i]).value());
  }
}

}  // namespace
}  // namespace cairn::crypto

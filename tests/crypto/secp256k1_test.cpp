#include "crypto/secp256k1.hpp"

#include <gtest/gtest.h>

#include "base/encoding.hpp"
#include "crypto/keccak.hpp"

namespace cairn::crypto {
namespace {

Secp256k1SecretKey key_from_hex(std::string_view hex) {
  const auto bytes = from_hex(hex, true).value();
  Secp256k1SecretKey key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

TEST(Secp256k1, AddressOfSecretKeyOne) {
  const auto key = key_from_hex("0000000000000000000000000000000000000000000000000000000000000001");
  const auto public_key = secp256k1_public_key(key).value();
  EXPECT_EQ(to_hex(public_key).substr(0, 64),
            "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
  EXPECT_EQ(to_hex(ethereum_address(public_key)), "7e5f4552091a69125d5dfcb7b8c2659029395bdf");
}

// The EIP-155 example key, and a signature cross-checked with ethers' SigningKey.sign.
TEST(Secp256k1, DeterministicSignatureMatchesEthers) {
  const auto key =
      key_from_hex("0x4646464646464646464646464646464646464646464646464646464646464646");
  const auto public_key = secp256k1_public_key(key).value();
  EXPECT_EQ(to_hex(ethereum_address(public_key)), "9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f");
  const auto digest = keccak256(std::string_view("cairn"));
  const auto signature = secp256k1_sign(key, digest).value();
  EXPECT_EQ(to_hex(signature.r),
            "8642283f4164936488e5150573b6743f27454907f10368cd802ba51f0c2cc022");
  EXPECT_EQ(to_hex(signature.s),
            "3f548aff0a6fc9802a060c545980a6d137810580f8af365391954c86bd776d03");
  EXPECT_EQ(signature.recovery_id, 0);
  EXPECT_EQ(secp256k1_recover(digest, signature).value(), public_key);
  EXPECT_TRUE(secp256k1_verify(public_key, digest, signature));
}

TEST(Secp256k1, RecoverRejectsTamperedSignature) {
  const auto key = secp256k1_generate();
  const auto public_key = secp256k1_public_key(key).value();
  const auto digest = keccak256(std::string_view("message"));
  auto signature = secp256k1_sign(key, digest).value();
  auto other_digest = keccak256(std::string_view("other message"));
  EXPECT_FALSE(secp256k1_verify(public_key, other_digest, signature));
  signature.recovery_id ^= 1;
  EXPECT_FALSE(secp256k1_verify(public_key, digest, signature));
  signature.recovery_id = 7;
  EXPECT_FALSE(secp256k1_recover(digest, signature).has_value());
}

TEST(Secp256k1, RejectsHighS) {
  const auto key = secp256k1_generate();
  const auto digest = keccak256(std::string_view("message"));
  auto signature = secp256k1_sign(key, digest).value();
  // s' = n - s is the malleated twin that EIP-2 forbids.
  const auto n =
      from_hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141").value();
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int diff = std::to_integer<int>(n[i]) - std::to_integer<int>(signature.s[i]) - borrow;
    borrow = diff < 0 ? 1 : 0;
    signature.s[i] = static_cast<std::byte>(diff + 256 * borrow);
  }
  signature.recovery_id ^= 1;
  const auto recovered = secp256k1_recover(digest, signature);
  ASSERT_FALSE(recovered.has_value());
  EXPECT_NE(recovered.error().message.find("high s"), std::string::npos);
}

TEST(Secp256k1, RejectsInvalidSecretKeys) {
  EXPECT_FALSE(secp256k1_secret_key_valid(Secp256k1SecretKey{}));
  EXPECT_FALSE(secp256k1_public_key(Secp256k1SecretKey{}).has_value());
  const auto order =
      key_from_hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  EXPECT_FALSE(secp256k1_secret_key_valid(order));
  EXPECT_TRUE(secp256k1_secret_key_valid(secp256k1_generate()));
}

TEST(Secp256k1, RejectsWrongDigestLength) {
  const auto key = secp256k1_generate();
  const Bytes short_digest(31);
  EXPECT_FALSE(secp256k1_sign(key, short_digest).has_value());
}

}  // namespace
}  // namespace cairn::crypto

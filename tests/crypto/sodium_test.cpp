#include "crypto/sodium.hpp"

#include <gtest/gtest.h>

#include "base/encoding.hpp"

namespace cairn::crypto {
namespace {

// RFC 8032 section 7.1, test 1 (empty message).
TEST(Ed25519, MatchesRfc8032Vector) {
  ByteArray<32> seed;
  const auto seed_bytes =
      from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").value();
  std::copy(seed_bytes.begin(), seed_bytes.end(), seed.begin());
  const auto key = ed25519_from_seed(seed);
  EXPECT_EQ(to_hex(key.public_key),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const auto signature = ed25519_sign(key, {});
  EXPECT_EQ(to_hex(signature),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(ed25519_verify(key.public_key, {}, signature));
}

TEST(Ed25519, RejectsAlteredMessageAndSignature) {
  const auto key = ed25519_generate();
  const auto message = to_bytes(std::string_view("round 7 aggregate"));
  auto signature = ed25519_sign(key, message);
  EXPECT_TRUE(ed25519_verify(key.public_key, message, signature));
  auto altered = message;
  altered[0] ^= std::byte{1};
  EXPECT_FALSE(ed25519_verify(key.public_key, altered, signature));
  signature[10] ^= std::byte{1};
  EXPECT_FALSE(ed25519_verify(key.public_key, message, signature));
  EXPECT_FALSE(ed25519_verify(ByteView(key.public_key).first(31), message, signature));
}

TEST(X25519, BothSidesAgree) {
  const auto a = x25519_generate();
  const auto b = x25519_generate();
  EXPECT_EQ(x25519_agree(a.secret_key, b.public_key).value(),
            x25519_agree(b.secret_key, a.public_key).value());
  EXPECT_FALSE(x25519_agree(a.secret_key, ByteView(b.public_key).first(16)).has_value());
  ByteArray<32> zero{};
  EXPECT_FALSE(x25519_agree(a.secret_key, zero).has_value());
}

TEST(Aead, RoundTripsAndDetectsTampering) {
  ByteArray<32> key{};
  key[0] = std::byte{7};
  const auto plain = to_bytes(std::string_view("shard 3 of dataset"));
  const auto ad = to_bytes(std::string_view("cid"));
  auto sealed = aead_seal(key, plain, ad);
  EXPECT_EQ(sealed.size(), plain.size() + kAeadNonceBytes + kAeadTagBytes);
  EXPECT_EQ(aead_open(key, sealed, ad).value(), plain);
  EXPECT_EQ(aead_open(key, sealed, {}).error().code, Errc::integrity);
  sealed[30] ^= std::byte{1};
  EXPECT_EQ(aead_open(key, sealed, ad).error().code, Errc::integrity);
  EXPECT_EQ(aead_open(key, ByteView(sealed).first(10), ad).error().code, Errc::parse);
}

TEST(KeyWrap, OnlyTheRecipientUnwraps) {
  const auto recipient = x25519_generate();
  const auto other = x25519_generate();
  const auto secret = to_bytes(std::string_view("0123456789abcdef0123456789abcdef"));
  const auto wrapped = wrap_key(recipient.public_key, secret).value();
  EXPECT_EQ(unwrap_key(recipient, wrapped).value(), secret);
  EXPECT_EQ(unwrap_key(other, wrapped).error().code, Errc::integrity);
  EXPECT_FALSE(wrap_key(ByteView(recipient.public_key).first(5), secret).has_value());
}

}  // namespace
}  // namespace cairn::crypto

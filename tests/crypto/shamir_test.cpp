#include "crypto/shamir.hpp"

#include <gtest/gtest.h>

#include "testing/testing.hpp"

namespace cairn::crypto {
namespace {

TEST(Shamir, AnyThresholdSubsetReconstructs) {
  const auto secret = testing::pseudo_random_bytes(32, 1);
  const auto shares = shamir_split(secret, 3, 5);
  ASSERT_TRUE(shares);
  ASSERT_EQ(shares->size(), 5u);
  for (std::size_t a = 0; a < 5; ++a) {
    for (std::size_t b = a + 1; b < 5; ++b) {
      for (std::size_t c = b + 1; c < 5; ++c) {
        const auto back = shamir_reconstruct({(*shares)[a], (*shares)[b], (*shares)[c]}, 3, 32);
        ASSERT_TRUE(back) << back.error().to_string();
        EXPECT_EQ(*back, secret);
      }
    }
  }
}

TEST(Shamir, FewerThanThresholdFailsOrGivesGarbage) {
  const auto secret = testing::pseudo_random_bytes(32, 2);
  const auto shares = shamir_split(secret, 3, 5).value();
  EXPECT_FALSE(shamir_reconstruct({shares[0], shares[1]}, 3, 32));
  // Two shares interpreted with threshold 2 do not give the secret (overwhelmingly): the
  // interpolation is either too large for the size or a different value.
  const auto wrong = shamir_reconstruct({shares[0], shares[1]}, 2, 64);
  EXPECT_TRUE(!wrong || Bytes(wrong->end() - 32, wrong->end()) != secret);
}

TEST(Shamir, KeepsLeadingZeroBytesAndSupports64ByteSecrets) {
  Bytes secret(64, std::byte{0});
  secret[63] = std::byte{7};
  const auto shares = shamir_split(secret, 2, 3).value();
  EXPECT_EQ(shamir_reconstruct({shares[2], shares[0]}, 2, 64).value(), secret);
  EXPECT_FALSE(shamir_split(Bytes(65), 2, 3));
}

TEST(Shamir, RejectsBadParametersAndShares) {
  EXPECT_FALSE(shamir_split(Bytes(4), 0, 3));
  EXPECT_FALSE(shamir_split(Bytes(4), 4, 3));
  const auto shares = shamir_split(testing::pseudo_random_bytes(16, 3), 2, 3).value();
  EXPECT_FALSE(shamir_reconstruct({shares[0], shares[0]}, 2, 16));  // repeated x
  auto corrupted = shares[1];
  corrupted.y[10] ^= std::byte{1};
  const auto bad = shamir_reconstruct({shares[0], corrupted}, 2, 16);
  EXPECT_FALSE(bad && *bad == testing::pseudo_random_bytes(16, 3));
  const auto encoded = encode_share(shares[0]);
  EXPECT_EQ(decode_share(encoded)->y, shares[0].y);
  EXPECT_FALSE(decode_share(ByteView(encoded).first(encoded.size() - 1)));
  Bytes zero_x = encoded;
  std::fill(zero_x.begin(), zero_x.begin() + 4, std::byte{0});
  EXPECT_FALSE(decode_share(zero_x));
}

}  // namespace
}  // namespace cairn::crypto

#include "learn/secure_mask.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "learn/rng.hpp"

namespace cairn::learn {
namespace {

std::map<std::uint32_t, std::vector<double>> inputs(std::size_t clients, std::size_t length) {
  std::map<std::uint32_t, std::vector<double>> out;
  Rng rng(11);
  for (std::uint32_t c = 0; c < clients; ++c) {
    auto& v = out[c];
    for (std::size_t i = 0; i < length; ++i)
      v.push_back((rng.uniform() * 2 - 1) * 10);
  }
  return out;
}

std::vector<double> plain_sum(const std::map<std::uint32_t, std::vector<double>>& in,
                              const std::set<std::uint32_t>& skip = {}) {
  std::vector<double> sum(in.begin()->second.size(), 0.0);
  for (const auto& [id, v] : in) {
    if (skip.contains(id)) continue;
    for (std::size_t i = 0; i < v.size(); ++i)
      sum[i] += v[i];
  }
  return sum;
}

TEST(SecureMask, SumMatchesPlainSumWithinFixedPointError) {
  const auto in = inputs(6, 500);
  const auto sum = mask_aggregate(in, 4);
  ASSERT_TRUE(sum) << sum.error().to_string();
  const auto expected = plain_sum(in);
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR((*sum)[i], expected[i], 6 * std::ldexp(1.0, -kMaskFracBits));
}

TEST(SecureMask, RecoversWhenClientsDropAfterSharing) {
  const auto in = inputs(7, 200);
  const std::set<std::uint32_t> dropped{1, 4, 6};
  const auto sum = mask_aggregate(in, 4, dropped);
  ASSERT_TRUE(sum) << sum.error().to_string();
  const auto expected = plain_sum(in, dropped);
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR((*sum)[i], expected[i], 1e-5);
}

TEST(SecureMask, FailsClearlyWhenTooManyDrop) {
  const auto in = inputs(5, 10);
  const auto sum = mask_aggregate(in, 3, {0, 1, 2});
  ASSERT_FALSE(sum);
  EXPECT_NE(sum.error().message.find("fewer than the threshold"), std::string::npos);
}

TEST(SecureMask, ASingleMaskedInputRevealsNothingUseful) {
  // A masked vector of all zeros looks uniformly random in Z_2^64.
  MaskServer server(3, 2, 64);
  std::vector<MaskClient> clients;
  for (std::uint32_t i = 1; i <= 3; ++i)
    clients.emplace_back(i, 3, 2);
  for (auto& c : clients)
    ASSERT_TRUE(server.advertise(c.advertise()));
  std::vector<SealedShares> all;
  for (auto& c : clients) {
    auto shares = c.share_keys(server.roster()).value();
    all.insert(all.end(), shares.begin(), shares.end());
  }
  auto routed = server.route(all).value();
  for (auto& c : clients)
    ASSERT_TRUE(c.receive_shares(routed[c.index()]));
  const auto masked = clients[0].masked_input(std::vector<double>(64, 0.0)).value();
  std::size_t zeros = 0;
  for (auto w : masked)
    zeros += (w == 0);
  EXPECT_EQ(zeros, 0u);
}

TEST(SecureMask, ServerRejectsWrongLengthDuplicatesAndStrangers) {
  MaskServer server(3, 2, 8);
  std::vector<MaskClient> clients;
  for (std::uint32_t i = 1; i <= 3; ++i)
    clients.emplace_back(i, 3, 2);
  for (auto& c : clients)
    ASSERT_TRUE(server.advertise(c.advertise()));
  EXPECT_FALSE(server.advertise(clients[0].advertise()));  // twice
  std::vector<SealedShares> all;
  for (auto& c : clients) {
    auto shares = c.share_keys(server.roster()).value();
    all.insert(all.end(), shares.begin(), shares.end());
  }
  auto routed = server.route(all).value();
  for (auto& c : clients)
    ASSERT_TRUE(c.receive_shares(routed[c.index()]));
  const auto short_input = server.submit(1, std::vector<std::uint64_t>(7, 0));
  ASSERT_FALSE(short_input);
  EXPECT_NE(short_input.error().message.find("has 7 values, expected 8"), std::string::npos);
  ASSERT_TRUE(server.submit(1, clients[0].masked_input(std::vector<double>(8, 1.0)).value()));
  EXPECT_FALSE(server.submit(1, clients[0].masked_input(std::vector<double>(8, 1.0)).value()));
  EXPECT_FALSE(server.submit(9, std::vector<std::uint64_t>(8, 0)));
  // Tampered sealed shares are refused by the recipient.
  auto tampered = routed[2];
  tampered[0].sealed.back() ^= std::byte{1};
  EXPECT_FALSE(clients[1].receive_shares(tampered));
}

TEST(SecureMask, ClientRefusesToRevealBothSharesOfOnePeer) {
  MaskClient client(1, 3, 2);
  UnmaskRequest request{{1, 2}, {2}};
  const auto response = client.unmask(request);
  ASSERT_FALSE(response);
  EXPECT_NE(response.error().message.find("both shares"), std::string::npos);
}

}  // namespace
}  // namespace cairn::learn

#pragma once
// One fresh anvil per test (about 0.4 s to start), the ten funded dev accounts, and a
// transaction sender that polls quickly.
#include <gtest/gtest.h>

#include "chain/anvil.hpp"
#include "chain/sender.hpp"

namespace cairn::chain::testing {

class AnvilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = Anvil::start();
    ASSERT_TRUE(started) << started.error().to_string();
    anvil = std::move(*started);
    auto client = RpcClient::create(anvil->url());
    ASSERT_TRUE(client);
    rpc.emplace(*client);
    SenderOptions options;
    options.poll_interval = std::chrono::milliseconds(10);
    options.receipt_timeout = std::chrono::milliseconds(20000);
    auto created = TransactionSender::create(*rpc, options, 31337);
    ASSERT_TRUE(created) << created.error().to_string();
    sender = *created;
    for (std::size_t i = 0; i < kDevAccountCount; ++i)
      accounts.push_back(Signer::from_key(dev_account_key(i)));
  }

  // Moves the chain's clock forward and mines a block with the new time.
  void advance_time(std::uint64_t seconds) {
    ASSERT_TRUE(rpc->call("evm_increaseTime", nlohmann::json::array({seconds})));
    ASSERT_TRUE(rpc->call("evm_mine", nlohmann::json::array()));
  }
  void mine(int blocks = 1) {
    for (int i = 0; i < blocks; ++i)
      ASSERT_TRUE(rpc->call("evm_mine", nlohmann::json::array()));
  }
  U256 balance(const Address& address) { return rpc->balance(address).value(); }
  // What a mined transaction cost its sender in gas.
  static U256 gas_cost(const SentTransaction& tx) {
    U256 cost = tx.receipt.effective_gas_price;
    return cost.checked_mul(tx.receipt.gas_used).value();
  }

  std::unique_ptr<Anvil> anvil;
  std::optional<RpcClient> rpc;
  std::shared_ptr<TransactionSender> sender;
  std::vector<Signer> accounts;
};

// Expects a failed Result whose message contains `fragment`.
#define EXPECT_FAILS_WITH(expr, fragment)                                                 \
  do {                                                                                    \
    const auto& expect_fails_result_ = (expr);                                            \
    ASSERT_FALSE(expect_fails_result_.has_value()) << "expected failure: " << (fragment); \
    EXPECT_NE(expect_fails_result_.error().message.find(fragment), std::string::npos)     \
        << expect_fails_result_.error().message;                                          \
  } while (false)

}  // namespace cairn::chain::testing

// DataTransfer on a real anvil: every access rule, timing rule and revert, with balances.
#include "chain/data_transfer.hpp"

#include <gtest/gtest.h>

#include "anvil_fixture.hpp"
#include "crypto/hash.hpp"

namespace cairn::chain {
namespace {

constexpr std::uint64_t kDuration = 3600;
const U256 kPrice = U256(1000000000000000000ULL);  // 1 ether

ByteArray<32> digest(std::string_view text) {
  return crypto::sha256(text);
}

class DataTransferTest : public testing::AnvilTest {
 protected:
  void SetUp() override {
    AnvilTest::SetUp();
    if (HasFatalFailure()) return;
    // Account 0 deploys; account 9 is the authority; 1 is the consumer, 2 the provider.
    auto deployed = DataTransfer::deploy(sender, deployer(), authority().address, kDuration);
    ASSERT_TRUE(deployed) << deployed.error().to_string();
    contract.emplace(std::move(*deployed));
  }
  const Signer& deployer() { return accounts[0]; }
  const Signer& consumer() { return accounts[1]; }
  const Signer& provider() { return accounts[2]; }
  const Signer& stranger() { return accounts[3]; }
  const Signer& authority() { return accounts[9]; }

  U256 open_deal() {
    auto deal = contract->init_transaction(consumer(), provider().address, digest("schema"),
                                           digest("pubkey"), kPrice);
    EXPECT_TRUE(deal) << deal.error().to_string();
    return deal ? deal->deal_id : U256();
  }
  U256 provided_deal() {
    const U256 id = open_deal();
    auto provided = contract->provide_data(provider(), id, digest("key"), digest("data"));
    EXPECT_TRUE(provided) << provided.error().to_string();
    return id;
  }

  std::optional<DataTransfer> contract;
};

TEST_F(DataTransferTest, ConstructorSetsAuthorityAndDuration) {
  EXPECT_EQ(contract->authority().value(), authority().address);
  EXPECT_EQ(contract->duration().value(), kDuration);
  // Without an explicit authority the deployer is the authority.
  auto defaulted = DataTransfer::deploy(sender, deployer(), std::nullopt, 60);
  ASSERT_TRUE(defaulted);
  EXPECT_EQ(defaulted->authority().value(), deployer().address);
}

TEST_F(DataTransferTest, HappyPathPaysTheProviderExactly) {
  const U256 consumer_before = balance(consumer().address);
  auto initiated = contract->init_transaction(consumer(), provider().address, digest("schema"),
                                              digest("pubkey"), kPrice);
  ASSERT_TRUE(initiated) << initiated.error().to_string();
  EXPECT_EQ(initiated->deal_id, U256(1));
  EXPECT_EQ(
      balance(consumer().address),
      consumer_before.checked_sub(kPrice).value().checked_sub(gas_cost(initiated->tx)).value());
  EXPECT_EQ(balance(contract->address()), kPrice);

  const Deal deal = contract->deal(initiated->deal_id).value();
  EXPECT_EQ(deal.consumer, consumer().address);
  EXPECT_EQ(deal.provider, provider().address);
  EXPECT_EQ(deal.price, kPrice);
  EXPECT_FALSE(deal.data_provided);
  const auto block = rpc->block(initiated->tx.receipt.block_number).value();
  EXPECT_EQ(deal.expiration_time, block.timestamp + kDuration);

  // The event carries the digests (storage does not).
  const auto event = decode_data_transfer_event(initiated->tx.receipt.logs.at(0)).value();
  const auto& init = std::get<DealInitiated>(event);
  EXPECT_EQ(init.schema, digest("schema"));
  EXPECT_EQ(init.consumer_pub_key, digest("pubkey"));
  EXPECT_EQ(init.price, kPrice);

  auto provided =
      contract->provide_data(provider(), initiated->deal_id, digest("key"), digest("data"));
  ASSERT_TRUE(provided) << provided.error().to_string();
  const auto data_event =
      std::get<DataProvided>(decode_data_transfer_event(provided->receipt.logs.at(0)).value());
  EXPECT_EQ(data_event.encrypted_key, digest("key"));
  EXPECT_EQ(data_event.data, digest("data"));
  EXPECT_TRUE(contract->deal(initiated->deal_id).value().data_provided);

  const U256 provider_before = balance(provider().address);
  auto verified = contract->verified_data(consumer(), initiated->deal_id);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(balance(provider().address), provider_before.checked_add(kPrice).value());
  EXPECT_EQ(balance(contract->address()), U256(0));
  EXPECT_FALSE(contract->deal(initiated->deal_id).value().exists());
  const auto settled =
      std::get<DealSettled>(decode_data_transfer_event(verified->receipt.logs.at(0)).value());
  EXPECT_EQ(settled.amount, kPrice);
  EXPECT_FALSE(settled.forced);
  // A closed deal is gone: nothing can be done with it any more.
  EXPECT_FAILS_WITH(contract->verified_data(consumer(), initiated->deal_id), "UnknownDeal(1)");
}

TEST_F(DataTransferTest, InitTransactionRules) {
  EXPECT_FAILS_WITH(
      contract->init_transaction(consumer(), provider().address, digest("s"), digest("k"), U256(0)),
      "NoEtherProvided()");
  EXPECT_FAILS_WITH(
      contract->init_transaction(consumer(), Address{}, digest("s"), digest("k"), kPrice),
      "InvalidProvider()");
  EXPECT_FAILS_WITH(
      contract->init_transaction(consumer(), consumer().address, digest("s"), digest("k"), kPrice),
      "InvalidProvider()");
  // Ids count up per deal, and deals are independent.
  EXPECT_EQ(open_deal(), U256(1));
  EXPECT_EQ(open_deal(), U256(2));
  EXPECT_EQ(balance(contract->address()), kPrice.checked_mul(2).value());
}

TEST_F(DataTransferTest, ProvideDataOnlyByTheProviderBeforeExpiry) {
  const U256 id = open_deal();
  EXPECT_FAILS_WITH(contract->provide_data(consumer(), id, digest("k"), digest("d")),
                    "Unauthorized(" + consumer().address.to_checksum() + ")");
  EXPECT_FAILS_WITH(contract->provide_data(stranger(), id, digest("k"), digest("d")),
                    "Unauthorized(");
  EXPECT_FAILS_WITH(contract->provide_data(provider(), U256(99), digest("k"), digest("d")),
                    "UnknownDeal(99)");
  advance_time(kDuration);
  EXPECT_FAILS_WITH(contract->provide_data(provider(), id, digest("k"), digest("d")),
                    "DealExpired(");
}

TEST_F(DataTransferTest, ProvideDataOnlyOnce) {
  const U256 id = provided_deal();
  EXPECT_FAILS_WITH(contract->provide_data(provider(), id, digest("k2"), digest("d2")),
                    "DataAlreadyProvided()");
}

TEST_F(DataTransferTest, CancelRefundsOnlyAfterExpiryWithoutData) {
  const U256 id = open_deal();
  EXPECT_FAILS_WITH(contract->cancel(consumer(), id), "DealNotExpired(");
  EXPECT_FAILS_WITH(contract->cancel(provider(), id), "Unauthorized(");
  advance_time(kDuration + 1);
  const U256 before = balance(consumer().address);
  auto cancelled = contract->cancel(consumer(), id);
  ASSERT_TRUE(cancelled) << cancelled.error().to_string();
  EXPECT_EQ(balance(consumer().address),
            before.checked_add(kPrice).value().checked_sub(gas_cost(*cancelled)).value());
  const auto refunded =
      std::get<DealRefunded>(decode_data_transfer_event(cancelled->receipt.logs.at(0)).value());
  EXPECT_FALSE(refunded.forced);
  EXPECT_EQ(refunded.amount, kPrice);
  EXPECT_FAILS_WITH(contract->cancel(consumer(), id), "UnknownDeal(");
}

TEST_F(DataTransferTest, CancelRefusedOnceDataWasProvided) {
  const U256 id = provided_deal();
  advance_time(kDuration + 1);
  EXPECT_FAILS_WITH(contract->cancel(consumer(), id), "DataAlreadyProvided()");
}

TEST_F(DataTransferTest, VerifiedDataNeedsDataAndTheConsumer) {
  const U256 id = open_deal();
  EXPECT_FAILS_WITH(contract->verified_data(consumer(), id), "DataNotProvided()");
  ASSERT_TRUE(contract->provide_data(provider(), id, digest("k"), digest("d")));
  EXPECT_FAILS_WITH(contract->verified_data(provider(), id), "Unauthorized(");
  EXPECT_FAILS_WITH(contract->verified_data(stranger(), id), "Unauthorized(");
}

TEST_F(DataTransferTest, ForcefulRefundByTheAuthorityOnRequest) {
  const U256 id = provided_deal();
  EXPECT_FAILS_WITH(contract->request_forceful_refund(provider(), id), "Unauthorized(");
  EXPECT_FAILS_WITH(contract->execute_forceful_refund(authority(), id),
                    "NoForcefulRefundRequested()");
  ASSERT_TRUE(contract->request_forceful_refund(consumer(), id));
  EXPECT_TRUE(contract->deal(id).value().requested_forceful_refund);
  EXPECT_FAILS_WITH(contract->execute_forceful_refund(consumer(), id),
                    "Unauthorized(" + consumer().address.to_checksum() + ")");
  EXPECT_FAILS_WITH(contract->execute_forceful_refund(deployer(), id), "Unauthorized(");
  const U256 before = balance(consumer().address);
  auto executed = contract->execute_forceful_refund(authority(), id);
  ASSERT_TRUE(executed) << executed.error().to_string();
  EXPECT_EQ(balance(consumer().address), before.checked_add(kPrice).value());
  EXPECT_TRUE(
      std::get<DealRefunded>(decode_data_transfer_event(executed->receipt.logs.at(0)).value())
          .forced);
  EXPECT_FAILS_WITH(contract->execute_forceful_refund(authority(), id), "UnknownDeal(");
  EXPECT_FAILS_WITH(contract->execute_forceful_refund(authority(), U256(77)), "UnknownDeal(77)");
}

TEST_F(DataTransferTest, ForcefulSettleByTheAuthorityOnRequest) {
  const U256 id = open_deal();
  EXPECT_FAILS_WITH(contract->request_forceful_settle(provider(), id), "DataNotProvided()");
  ASSERT_TRUE(contract->provide_data(provider(), id, digest("k"), digest("d")));
  EXPECT_FAILS_WITH(contract->request_forceful_settle(consumer(), id), "Unauthorized(");
  EXPECT_FAILS_WITH(contract->execute_forceful_settle(authority(), id),
                    "NoForcefulSettleRequested()");
  ASSERT_TRUE(contract->request_forceful_settle(provider(), id));
  EXPECT_FAILS_WITH(contract->execute_forceful_settle(provider(), id), "Unauthorized(");
  const U256 before = balance(provider().address);
  auto executed = contract->execute_forceful_settle(authority(), id);
  ASSERT_TRUE(executed) << executed.error().to_string();
  EXPECT_EQ(balance(provider().address), before.checked_add(kPrice).value());
  EXPECT_EQ(balance(contract->address()), U256(0));
  EXPECT_TRUE(
      std::get<DealSettled>(decode_data_transfer_event(executed->receipt.logs.at(0)).value())
          .forced);
}

// A transaction that reverts on chain (gas given, so no estimation stops it first): the
// reason is recovered by replaying it.
TEST_F(DataTransferTest, MinedRevertReasonIsRecoveredByReplay) {
  const U256 id = open_deal();
  const U256 before = balance(stranger().address);
  auto mined =
      contract->contract().transact(stranger(), "verifiedData", {abi::Value(id)}, U256(), 100000);
  ASSERT_FALSE(mined);
  EXPECT_EQ(mined.error().code, Errc::rejected);
  EXPECT_NE(mined.error().message.find("reverted in block"), std::string::npos)
      << mined.error().message;
  EXPECT_NE(mined.error().message.find("Unauthorized(" + stranger().address.to_checksum() + ")"),
            std::string::npos)
      << mined.error().message;
  // It was mined: the stranger paid for the gas, and the deal is untouched.
  EXPECT_LT(balance(stranger().address), before);
  EXPECT_TRUE(contract->deal(id).value().exists());
}

TEST_F(DataTransferTest, NonPayableFunctionsRefuseEther) {
  const U256 id = open_deal();
  auto paid =
      contract->contract().transact(consumer(), "requestForcefulRefund", {abi::Value(id)}, U256(1));
  ASSERT_FALSE(paid);
  EXPECT_EQ(paid.error().code, Errc::rejected);
}

}  // namespace
}  // namespace cairn::chain

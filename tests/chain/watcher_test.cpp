// The notification hub on anvil: confirmations, reorganisations, resume after restart.
#include "chain/watcher.hpp"

#include <gtest/gtest.h>

#include "anvil_fixture.hpp"
#include "chain/data_transfer.hpp"
#include "crypto/hash.hpp"
#include "testing/testing.hpp"

namespace cairn::chain {
namespace {

class WatcherTest : public testing::AnvilTest {
 protected:
  void SetUp() override {
    AnvilTest::SetUp();
    if (HasFatalFailure()) return;
    auto deployed = DataTransfer::deploy(sender, accounts[0], std::nullopt, 3600);
    ASSERT_TRUE(deployed) << deployed.error().to_string();
    contract.emplace(std::move(*deployed));
  }

  std::unique_ptr<EventWatcher> watcher(std::uint64_t confirmations,
                                        std::optional<std::filesystem::path> cursor = {}) {
    WatcherOptions options;
    options.contracts = {{"DataTransfer", contract->address()}};
    options.confirmations = confirmations;
    options.cursor_file = std::move(cursor);
    auto created = EventWatcher::create(*rpc, options);
    EXPECT_TRUE(created) << created.error().to_string();
    auto w = std::move(*created);
    w->subscribe([this](const ChainEvent& e) { seen.push_back(e); });
    return w;
  }

  U256 open_deal(std::uint64_t salt = 0) {
    auto deal = contract->init_transaction(accounts[1], accounts[2].address,
                                           crypto::sha256(std::to_string(salt)),
                                           crypto::sha256("pk"), U256(1000 + salt));
    EXPECT_TRUE(deal) << deal.error().to_string();
    return deal ? deal->deal_id : U256();
  }

  std::vector<ChainEvent> with(Finality finality) const {
    std::vector<ChainEvent> out;
    for (const auto& e : seen) {
      if (e.finality == finality) out.push_back(e);
    }
    return out;
  }

  std::optional<DataTransfer> contract;
  std::vector<ChainEvent> seen;
};

TEST_F(WatcherTest, DeliversDecodedEventsImmediatelyWithoutConfirmations) {
  auto w = watcher(0);
  const U256 id = open_deal();
  ASSERT_TRUE(contract->provide_data(accounts[2], id, crypto::sha256("k"), crypto::sha256("d")));
  ASSERT_TRUE(w->poll_once());
  const auto finals = with(Finality::final);
  ASSERT_EQ(finals.size(), 2u);
  EXPECT_TRUE(with(Finality::pending).empty());
  EXPECT_EQ(finals[0].name, "DealInitiated");
  EXPECT_EQ(finals[1].name, "DataProvided");
  const auto typed = decode_data_transfer_event(finals[1].log).value();
  EXPECT_EQ(std::get<DataProvided>(typed).data, crypto::sha256("d"));
  const auto json = finals[0].to_json();
  EXPECT_EQ(json["args"]["provider"], accounts[2].address.to_checksum());
  EXPECT_EQ(json["args"]["price"], "1000");
  EXPECT_EQ(json["finality"], "final");
  // Nothing new: nothing delivered twice.
  seen.clear();
  ASSERT_EQ(w->poll_once().value(), 0u);
  EXPECT_TRUE(seen.empty());
}

TEST_F(WatcherTest, FinalOnlyAfterConfirmations) {
  auto w = watcher(3);
  open_deal();
  ASSERT_TRUE(w->poll_once());
  EXPECT_EQ(with(Finality::pending).size(), 1u);
  EXPECT_TRUE(with(Finality::final).empty());
  mine(2);
  ASSERT_TRUE(w->poll_once());
  EXPECT_TRUE(with(Finality::final).empty());
  mine(1);
  ASSERT_TRUE(w->poll_once());
  ASSERT_EQ(with(Finality::final).size(), 1u);
  EXPECT_EQ(with(Finality::final)[0].name, "DealInitiated");
}

TEST_F(WatcherTest, SubscribersFilterByEventName) {
  auto w = watcher(0);
  std::vector<std::string> provided_only;
  const auto id =
      w->subscribe([&](const ChainEvent& e) { provided_only.push_back(e.name); }, "DataProvided");
  const U256 deal = open_deal();
  ASSERT_TRUE(contract->provide_data(accounts[2], deal, crypto::sha256("k"), crypto::sha256("d")));
  ASSERT_TRUE(w->poll_once());
  EXPECT_EQ(provided_only, std::vector<std::string>{"DataProvided"});
  w->unsubscribe(id);
  open_deal(1);
  ASSERT_TRUE(w->poll_once());
  EXPECT_EQ(provided_only.size(), 1u);
}

// A reorganisation (anvil's snapshot and revert, then a different chain mined on top):
// the abandoned deal was seen as pending, is delivered as removed, and never as final.
TEST_F(WatcherTest, ReorganisedLogsAreRemovedNeverFinal) {
  auto w = watcher(2);
  const auto snapshot = rpc->call("evm_snapshot", nlohmann::json::array()).value();
  const U256 abandoned = open_deal(42);
  ASSERT_TRUE(w->poll_once());
  ASSERT_EQ(with(Finality::pending).size(), 1u);
  const auto abandoned_tx = with(Finality::pending)[0].log.transaction_hash;

  ASSERT_TRUE(rpc->call("evm_revert", nlohmann::json::array({snapshot})).value().get<bool>());
  // The new chain: a different deal at the same height, then enough blocks to confirm.
  const U256 replacement = open_deal(7);
  EXPECT_EQ(replacement, abandoned);  // same id, different deal
  mine(3);
  ASSERT_TRUE(w->poll_once());
  const auto removed = with(Finality::removed);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].log.transaction_hash, abandoned_tx);
  const auto finals = with(Finality::final);
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_NE(finals[0].log.transaction_hash, abandoned_tx);
  EXPECT_EQ(finals[0].to_json()["args"]["price"], "1007");
  mine(3);
  ASSERT_TRUE(w->poll_once());
  for (const auto& e : with(Finality::final))
    EXPECT_NE(e.log.transaction_hash, abandoned_tx);
}

// A reorganisation to a chain no longer than ours is found too (by re-checking our tip).
TEST_F(WatcherTest, ReorganisationWithoutNewBlocksIsDetected) {
  auto w = watcher(5);
  const auto snapshot = rpc->call("evm_snapshot", nlohmann::json::array()).value();
  open_deal(1);
  ASSERT_TRUE(w->poll_once());
  ASSERT_TRUE(rpc->call("evm_revert", nlohmann::json::array({snapshot})));
  ASSERT_TRUE(w->poll_once());
  EXPECT_EQ(with(Finality::removed).size(), 1u);
}

TEST_F(WatcherTest, ResumesFromItsCursorAfterRestart) {
  cairn::testing::TempDir dir;
  const auto cursor = dir / "cursor.json";
  {
    auto w = watcher(1, cursor);
    open_deal(1);
    open_deal(2);
    mine(1);
    ASSERT_TRUE(w->poll_once());
    EXPECT_EQ(with(Finality::final).size(), 2u);
    EXPECT_TRUE(std::filesystem::exists(cursor));
  }
  seen.clear();
  open_deal(3);
  mine(1);
  auto restarted = watcher(1, cursor);
  ASSERT_TRUE(restarted->poll_once());
  const auto finals = with(Finality::final);
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0].to_json()["args"]["price"], "1003");
}

TEST_F(WatcherTest, RejectsACorruptCursor) {
  cairn::testing::TempDir dir;
  cairn::testing::write_file(dir / "cursor.json",
                             as_bytes(std::string_view("{\"block\": \"ten\"}")));
  WatcherOptions options;
  options.contracts = {{"DataTransfer", contract->address()}};
  options.cursor_file = dir / "cursor.json";
  const auto created = EventWatcher::create(*rpc, options);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, Errc::parse);
  // A cursor naming a block hash the chain does not have: the chain changed under it.
  cairn::testing::write_file(
      dir / "cursor.json",
      as_bytes(std::string_view(
          R"({"block": 1, "hash": "0x1111111111111111111111111111111111111111111111111111111111111111"})")));
  const auto moved = EventWatcher::create(*rpc, options);
  ASSERT_FALSE(moved);
  EXPECT_EQ(moved.error().code, Errc::conflict);
}

}  // namespace
}  // namespace cairn::chain

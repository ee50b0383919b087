// Anchor, Registry and TrainingTask on a real anvil.
#include <gtest/gtest.h>

#include "anvil_fixture.hpp"
#include "chain/contract.hpp"
#include "crypto/hash.hpp"

namespace cairn::chain {
namespace {

using abi::Value;
using abi::ValueList;

ByteArray<32> digest(std::string_view text) {
  return crypto::sha256(text);
}

class AnchorTest : public testing::AnvilTest {};

TEST_F(AnchorTest, PublishesImmutableRootsPerSigner) {
  auto anchor = Contract::deploy(sender, accounts[0], "Anchor").value();
  const std::uint64_t time = 1700000000;
  auto published = anchor.transact(accounts[1], "publish", {Value(time), Value(digest("root"))});
  ASSERT_TRUE(published) << published.error().to_string();
  const auto event = anchor.event_in(published->receipt, "Published").value();
  EXPECT_EQ(event[0].as_address().value(), accounts[1].address);
  EXPECT_EQ(event[2].as_bytes32().value(), digest("root"));
  EXPECT_TRUE(
      anchor.call("verify", {Value(accounts[1].address), Value(time), Value(digest("root"))})
          .value()[0]
          .as_bool()
          .value());
  EXPECT_FALSE(
      anchor.call("verify", {Value(accounts[2].address), Value(time), Value(digest("root"))})
          .value()[0]
          .as_bool()
          .value());
  // Same pair again: accepted, idempotent, no second event.
  auto again = anchor.transact(accounts[1], "publish", {Value(time), Value(digest("root"))});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->receipt.logs.empty());
  EXPECT_FAILS_WITH(anchor.transact(accounts[1], "publish", {Value(time), Value(digest("other"))}),
                    "AlreadyPublished(0x");
  EXPECT_FAILS_WITH(
      anchor.transact(accounts[1], "publish", {Value(time + 1), Value(ByteArray<32>{})}),
      "ZeroRoot()");
  // Another signer has its own record for the same time.
  EXPECT_TRUE(anchor.transact(accounts[2], "publish", {Value(time), Value(digest("other"))}));
}

class RegistryTest : public testing::AnvilTest {};

TEST_F(RegistryTest, RegistersUpdatesTransfersAndRetires) {
  auto registry = Contract::deploy(sender, accounts[0], "Registry").value();
  auto registered =
      registry.transact(accounts[1], "register",
                        {Value(0), Value(digest("dataset v1")), Value::text("bafymetadata")});
  ASSERT_TRUE(registered) << registered.error().to_string();
  const auto event = registry.event_in(registered->receipt, "Registered").value();
  const U256 id = event[0].as_uint().value();
  EXPECT_EQ(event[4].as_string().value(), "bafymetadata");
  auto entry = registry.call("getEntry", {Value(id)}).value();
  EXPECT_EQ(entry[0].as_address().value(), accounts[1].address);
  EXPECT_EQ(entry[3].as_bytes32().value(), digest("dataset v1"));
  const auto entry_of = [&](const Signer& owner, std::uint64_t kind, std::string_view text) {
    return registry.call("entryOf", {Value(owner.address), Value(kind), Value(digest(text))})
        .value()[0]
        .as_uint()
        .value();
  };
  EXPECT_EQ(entry_of(accounts[1], 0, "dataset v1"), id);

  // The same owner, kind and digest once only...
  EXPECT_FAILS_WITH(registry.transact(accounts[1], "register",
                                      {Value(0), Value(digest("dataset v1")), Value::text("")}),
                    "AlreadyRegistered(1)");
  // ...but another account registering that digest first locks nobody out: its entry is its
  // own (a squatter's), and the owner's lookup never finds it.
  ASSERT_TRUE(registry.transact(accounts[2], "register",
                                {Value(0), Value(digest("dataset v1")), Value::text("squat")}));
  EXPECT_EQ(entry_of(accounts[1], 0, "dataset v1"), id);
  EXPECT_EQ(entry_of(accounts[2], 0, "dataset v1"), U256(2));
  ASSERT_TRUE(registry.transact(accounts[1], "register",
                                {Value(1), Value(digest("dataset v1")), Value::text("")}));
  EXPECT_EQ(entry_of(accounts[1], 1, "dataset v1"), U256(3));
  EXPECT_FAILS_WITH(registry.transact(accounts[2], "register",
                                      {Value(1), Value(ByteArray<32>{}), Value::text("")}),
                    "ZeroDigest()");
  EXPECT_FAILS_WITH(
      registry.transact(accounts[2], "update", {Value(id), Value(digest("v2")), Value::text("")}),
      "NotOwner(");
  ASSERT_TRUE(registry.transact(accounts[1], "update",
                                {Value(id), Value(digest("dataset v2")), Value::text("bafy2")}));
  EXPECT_EQ(entry_of(accounts[1], 0, "dataset v1"), U256(0));
  EXPECT_EQ(entry_of(accounts[1], 0, "dataset v2"), id);
  EXPECT_FAILS_WITH(registry.transact(accounts[1], "update",
                                      {Value(id), Value(digest("dataset v2")), Value::text("")}),
                    "AlreadyRegistered(1)");
  EXPECT_FAILS_WITH(registry.transact(accounts[1], "transfer", {Value(id), Value(Address{})}),
                    "InvalidOwner()");
  // The new owner must not hold that kind and digest already.
  ASSERT_TRUE(registry.transact(accounts[2], "register",
                                {Value(0), Value(digest("dataset v2")), Value::text("")}));
  EXPECT_FAILS_WITH(
      registry.transact(accounts[1], "transfer", {Value(id), Value(accounts[2].address)}),
      "AlreadyRegistered(4)");
  ASSERT_TRUE(registry.transact(accounts[1], "transfer", {Value(id), Value(accounts[3].address)}));
  EXPECT_EQ(entry_of(accounts[1], 0, "dataset v2"), U256(0));
  EXPECT_EQ(entry_of(accounts[3], 0, "dataset v2"), id);
  EXPECT_FAILS_WITH(registry.transact(accounts[1], "retire", {Value(id)}), "NotOwner(");
  ASSERT_TRUE(registry.transact(accounts[3], "retire", {Value(id)}));
  EXPECT_FALSE(registry.call("getEntry", {Value(id)}).value()[2].as_bool().value());
  EXPECT_FAILS_WITH(registry.call("getEntry", {Value(99)}), "UnknownEntry(99)");
  // Device keys are entries too (kind 3).
  EXPECT_TRUE(registry.transact(accounts[3], "register",
                                {Value(3), Value(digest("device pk")), Value::text("")}));
  // A node's gateway endpoint (kind 4): the digest of the URL, the URL as metadata.
  EXPECT_TRUE(registry.transact(
      accounts[3], "register",
      {Value(4), Value(digest("http://127.0.0.1:1")), Value::text("http://127.0.0.1:1")}));
  // An out-of-range kind is refused by the ABI decoder in the contract.
  EXPECT_FALSE(
      registry.transact(accounts[3], "register", {Value(6), Value(digest("x")), Value::text("")}));
}

class TrainingTaskTest : public testing::AnvilTest {
 protected:
  void SetUp() override {
    AnvilTest::SetUp();
    if (HasFatalFailure()) return;
    task.emplace(Contract::deploy(sender, owner(), "TrainingTask").value());
  }
  const Signer& owner() { return accounts[0]; }
  std::uint64_t now() { return rpc->block(std::nullopt).value().timestamp; }
  const Signer& aggregator() { return accounts[5]; }
  U256 create(std::uint64_t rounds, std::uint64_t max_participants, const U256& reward,
              std::uint64_t min_participants = 1) {
    auto created = task->transact(
        owner(), "createTask",
        {Value(digest("spec")), Value::text("bafyspec"), Value(rounds), Value(max_participants),
         Value(min_participants), Value(now() + 3600), Value(aggregator().address)},
        reward);
    EXPECT_TRUE(created) << created.error().to_string();
    const auto event = task->event_in(created->receipt, "TaskCreated").value();
    EXPECT_EQ(event[3].as_string().value(), "bafyspec");
    EXPECT_EQ(event[4].as_address().value(), aggregator().address);
    return event[0].as_uint().value();
  }
  Result<SentTransaction> join(const Signer& who, const U256& id) {
    return task->transact(who, "join",
                          {Value(id), Value(digest("manifest")), Value::text("bafymanifest")});
  }
  std::optional<Contract> task;
};

TEST_F(TrainingTaskTest, FullTaskPaysContributions) {
  const U256 reward(1000000);
  const U256 id = create(2, 2, reward, 2);
  EXPECT_FAILS_WITH(task->transact(accounts[1], "submitUpdate",
                                   {Value(id), Value(0), Value(digest("u")), Value::text("u")}),
                    "NotStarted()");
  ASSERT_TRUE(join(accounts[1], id));
  EXPECT_FAILS_WITH(join(accounts[1], id), "AlreadyJoined()");
  EXPECT_FAILS_WITH(task->transact(owner(), "start", {Value(id)}), "TooFewParticipants(1, 2)");
  ASSERT_TRUE(join(accounts[2], id));
  EXPECT_FAILS_WITH(join(accounts[3], id), "TaskFull()");
  EXPECT_FAILS_WITH(task->transact(accounts[1], "start", {Value(id)}), "NotOwner(");
  auto started = task->transact(owner(), "start", {Value(id)});
  ASSERT_TRUE(started) << started.error().to_string();
  EXPECT_EQ(task->event_in(started->receipt, "TaskStarted").value()[1].as_uint().value(), U256(2));
  EXPECT_FAILS_WITH(task->transact(owner(), "start", {Value(id)}), "AlreadyStarted()");
  EXPECT_FAILS_WITH(task->transact(accounts[3], "submitUpdate",
                                   {Value(id), Value(0), Value(digest("u")), Value::text("u")}),
                    "NotParticipant(");
  for (std::uint64_t round = 0; round < 2; ++round) {
    for (int p = 1; p <= 2; ++p) {
      auto submitted = task->transact(
          accounts[p], "submitUpdate",
          {Value(id), Value(round), Value(digest("update")), Value::text("bafyupdate")});
      ASSERT_TRUE(submitted);
      const auto event = task->event_in(submitted->receipt, "UpdateCommitted").value();
      EXPECT_EQ(event[4].as_string().value(), "bafyupdate");
    }
    EXPECT_FAILS_WITH(
        task->transact(accounts[1], "submitUpdate",
                       {Value(id), Value(round), Value(digest("again")), Value::text("again")}),
        "AlreadyCommitted()");
    EXPECT_FAILS_WITH(
        task->transact(owner(), "postAggregate",
                       {Value(id), Value(round), Value(digest("agg")), Value::text("agg")}),
        "NotAggregator(");
    EXPECT_FAILS_WITH(
        task->transact(aggregator(), "postAggregate",
                       {Value(id), Value(round + 1), Value(digest("agg")), Value::text("agg")}),
        "WrongRound(" + std::to_string(round) + ")");
    ASSERT_TRUE(
        task->transact(aggregator(), "postAggregate",
                       {Value(id), Value(round), Value(digest("agg")), Value::text("agg")}));
    EXPECT_FAILS_WITH(
        task->transact(aggregator(), "postAggregate",
                       {Value(id), Value(round), Value(digest("agg2")), Value::text("agg2")}),
        "AlreadyCommitted()");
    EXPECT_FAILS_WITH(
        task->transact(aggregator(), "closeRound",
                       {Value(id), Value(round), Value(digest("record")), Value::text("record")}),
        "NotOwner(");
    auto closed = task->transact(
        owner(), "closeRound",
        {Value(id), Value(round), Value(digest("record")), Value::text("bafyrecord")});
    ASSERT_TRUE(closed);
    EXPECT_EQ(task->event_in(closed->receipt, "RoundClosed").value()[3].as_string().value(),
              "bafyrecord");
  }
  EXPECT_EQ(task->call("roundRecords", {Value(id), Value(1)}).value()[0].as_bytes32().value(),
            digest("record"));
  EXPECT_FAILS_WITH(task->transact(owner(), "closeRound",
                                   {Value(id), Value(2), Value(digest("r")), Value::text("r")}),
                    "WrongRound(2)");
  EXPECT_EQ(
      task->call("aggregateCommitments", {Value(id), Value(1)}).value()[0].as_bytes32().value(),
      digest("agg"));
  // Rewards beyond the pool are refused; an overflowing sum panics in the contract.
  EXPECT_FAILS_WITH(
      task->transact(owner(), "reportContributions",
                     {Value(id), Value(digest("report")), Value::text("bafyreport"),
                      Value(ValueList{Value(accounts[1].address), Value(accounts[2].address)}),
                      Value(ValueList{Value(600000), Value(600000)})}),
      "RewardExceeded(1200000, 1000000)");
  EXPECT_FAILS_WITH(
      task->transact(owner(), "reportContributions",
                     {Value(id), Value(digest("report")), Value::text("bafyreport"),
                      Value(ValueList{Value(accounts[1].address), Value(accounts[2].address)}),
                      Value(ValueList{Value(U256::max()), Value(1)})}),
      "Panic(0x11): arithmetic overflow or underflow");
  const U256 owner_before = balance(owner().address);
  auto reported =
      task->transact(owner(), "reportContributions",
                     {Value(id), Value(digest("report")), Value::text("bafyreport"),
                      Value(ValueList{Value(accounts[1].address), Value(accounts[2].address)}),
                      Value(ValueList{Value(600000), Value(300000)})});
  ASSERT_TRUE(reported) << reported.error().to_string();
  // The unassigned 100 000 wei went back to the owner.
  EXPECT_EQ(
      balance(owner().address),
      owner_before.checked_add(U256(100000)).value().checked_sub(gas_cost(*reported)).value());
  const U256 before = balance(accounts[1].address);
  auto claimed = task->transact(accounts[1], "claim", {Value(id)});
  ASSERT_TRUE(claimed);
  EXPECT_EQ(balance(accounts[1].address),
            before.checked_add(U256(600000)).value().checked_sub(gas_cost(*claimed)).value());
  EXPECT_FAILS_WITH(task->transact(accounts[1], "claim", {Value(id)}), "NothingToClaim()");
  EXPECT_FAILS_WITH(task->transact(accounts[3], "claim", {Value(id)}), "NothingToClaim()");
  EXPECT_TRUE(task->transact(accounts[2], "claim", {Value(id)}));
  EXPECT_EQ(balance(task->address()), U256(0));
}

TEST_F(TrainingTaskTest, RefundOnlyAfterExpiryAndOnlyToTheOwner) {
  const U256 reward(5000);
  const U256 id = create(3, 4, reward);
  ASSERT_TRUE(join(accounts[1], id));
  EXPECT_FAILS_WITH(task->transact(owner(), "refundExpired", {Value(id)}), "DeadlineNotPassed()");
  EXPECT_FAILS_WITH(task->transact(owner(), "reportContributions",
                                   {Value(id), Value(digest("r")), Value::text("r"),
                                    Value(ValueList{}), Value(ValueList{})}),
                    "TrainingNotFinished()");
  ASSERT_TRUE(task->transact(owner(), "start", {Value(id)}));
  advance_time(3601);
  EXPECT_FAILS_WITH(task->transact(accounts[1], "submitUpdate",
                                   {Value(id), Value(0), Value(digest("late")), Value::text("l")}),
                    "DeadlinePassed()");
  EXPECT_FAILS_WITH(task->transact(accounts[1], "refundExpired", {Value(id)}), "NotOwner(");
  const U256 before = balance(owner().address);
  auto refunded = task->transact(owner(), "refundExpired", {Value(id)});
  ASSERT_TRUE(refunded);
  EXPECT_EQ(balance(owner().address),
            before.checked_add(reward).value().checked_sub(gas_cost(*refunded)).value());
  EXPECT_FAILS_WITH(task->transact(owner(), "refundExpired", {Value(id)}), "TaskNotOpen()");
  EXPECT_FAILS_WITH(task->transact(owner(), "refundExpired", {Value(99)}), "UnknownTask(99)");
}

TEST_F(TrainingTaskTest, RejectsBadParameters) {
  auto create_with = [&](std::uint64_t rounds, std::uint64_t max, std::uint64_t min,
                         std::uint64_t deadline, const Address& aggregator_address) {
    return task->transact(owner(), "createTask",
                          {Value(digest("spec")), Value::text("s"), Value(rounds), Value(max),
                           Value(min), Value(deadline), Value(aggregator_address)},
                          U256(1));
  };
  EXPECT_FAILS_WITH(create_with(0, 1, 1, now() + 100, aggregator().address), "InvalidParameters()");
  EXPECT_FAILS_WITH(create_with(1, 1, 1, 1, aggregator().address), "InvalidParameters()");
  EXPECT_FAILS_WITH(create_with(1, 2, 3, now() + 100, aggregator().address), "InvalidParameters()");
  EXPECT_FAILS_WITH(create_with(1, 2, 0, now() + 100, aggregator().address), "InvalidParameters()");
  EXPECT_FAILS_WITH(create_with(1, 2, 1, now() + 100, Address{}), "InvalidParameters()");
}

}  // namespace
}  // namespace cairn::chain

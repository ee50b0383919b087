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

// TrainingTask v3 through the C++ ABI binding (tests/contracts has the Foundry suite:
// invariants, attacker contracts, gas at the participant cap).
class TrainingTaskTest : public testing::AnvilTest {
 protected:
  static constexpr std::uint64_t kFloor = 100000;
  static constexpr std::uint64_t kStake = 1000;
  static constexpr std::uint64_t kCommitWindow = 600;
  static constexpr std::uint64_t kReportWindow = 600;
  static constexpr std::uint64_t kChallengeWindow = 60;

  void SetUp() override {
    AnvilTest::SetUp();
    if (HasFatalFailure()) return;
    task.emplace(Contract::deploy(sender, owner(), "TrainingTask").value());
  }
  const Signer& owner() { return accounts[0]; }
  std::uint64_t now() { return rpc->block(std::nullopt).value().timestamp; }
  const Signer& aggregator() { return accounts[5]; }
  static Value terms(std::uint64_t floor = kFloor, std::uint64_t stake = kStake) {
    return Value(ValueList{Value(digest("rule")), Value(floor), Value(stake),
                           Value(ByteArray<32>{}), Value(kCommitWindow), Value(kReportWindow),
                           Value(kChallengeWindow)});
  }
  U256 create(std::uint64_t rounds, std::uint64_t max_participants, const U256& reward,
              std::uint64_t min_participants = 1, std::uint64_t lifetime = 36000) {
    auto created = task->transact(
        owner(), "createTask",
        {Value(digest("spec")), Value::text("bafyspec"), Value(rounds), Value(max_participants),
         Value(min_participants), Value(now() + lifetime), Value(aggregator().address), terms()},
        reward);
    EXPECT_TRUE(created) << created.error().to_string();
    const auto event = task->event_in(created->receipt, "TaskCreated").value();
    EXPECT_EQ(event[3].as_string().value(), "bafyspec");
    EXPECT_EQ(event[4].as_address().value(), aggregator().address);
    // The terms come back as committed, typed as the tuple they were sent as.
    const auto committed = task->call("getTaskTerms", {event[0]}).value();
    EXPECT_EQ(committed.at(0).as_list().value().at(1).as_uint().value(), U256(kFloor));
    return event[0].as_uint().value();
  }
  Result<SentTransaction> join(const Signer& who, const U256& id, std::uint64_t stake = kStake) {
    return task->transact(
        who, "join",
        {Value(id), Value(digest("manifest")), Value::text("bafymanifest"), Value(ValueList{})},
        U256(stake));
  }
  ByteArray<32> seal_of(const Signer& who, const U256& id, std::uint64_t round,
                        const ByteArray<32>& update) {
    return task->call("updateSeal", {Value(who.address), Value(id), Value(round), Value(update)})
        .value()[0]
        .as_bytes32()
        .value();
  }
  Result<SentTransaction> seal(const Signer& who, const U256& id, std::uint64_t round,
                               const ByteArray<32>& update) {
    return task->transact(who, "sealUpdate",
                          {Value(id), Value(round), Value(seal_of(who, id, round, update))});
  }
  Result<SentTransaction> reveal(const Signer& who, const U256& id, std::uint64_t round,
                                 const ByteArray<32>& update) {
    return task->transact(who, "submitUpdate",
                          {Value(id), Value(round), Value(update), Value::text("bafyupdate")});
  }
  Result<SentTransaction> close(const U256& id, std::uint64_t round, ValueList excluded = {}) {
    return task->transact(owner(), "closeRound",
                          {Value(id), Value(round), Value(digest("record")),
                           Value::text("bafyrecord"), Value(std::move(excluded))});
  }
  // One round where everyone in `who` seals and reveals (the round reveals once all have).
  void train_round(const U256& id, std::uint64_t round, const std::vector<int>& who) {
    for (int p : who)
      ASSERT_TRUE(seal(accounts[p], id, round, digest("update " + std::to_string(p))));
    for (int p : who)
      ASSERT_TRUE(reveal(accounts[p], id, round, digest("update " + std::to_string(p))));
  }
  Result<SentTransaction> report(const U256& id, std::vector<std::pair<int, std::uint64_t>> paid) {
    std::sort(paid.begin(), paid.end(), [&](const auto& a, const auto& b) {
      return accounts[a.first].address < accounts[b.first].address;
    });
    ValueList who, amounts;
    for (const auto& [p, amount] : paid) {
      who.push_back(Value(accounts[p].address));
      amounts.push_back(Value(amount));
    }
    return task->transact(owner(), "reportContributions",
                          {Value(id), Value(digest("report")), Value::text("bafyreport"),
                           Value(std::move(who)), Value(std::move(amounts))});
  }
  U256 claimable(const U256& id, int p) {
    return task->call("claimable", {Value(id), Value(accounts[p].address)})
        .value()[0]
        .as_uint()
        .value();
  }
  // Claims for participant p and checks it received exactly `expected`.
  void claim_exactly(const U256& id, int p, const U256& expected) {
    const U256 before = balance(accounts[p].address);
    auto claimed = task->transact(accounts[p], "claim", {Value(id)});
    ASSERT_TRUE(claimed) << claimed.error().to_string();
    EXPECT_EQ(balance(accounts[p].address),
              before.checked_add(expected).value().checked_sub(gas_cost(*claimed)).value());
    EXPECT_FAILS_WITH(task->transact(accounts[p], "claim", {Value(id)}), "NothingToClaim()");
  }
  std::optional<Contract> task;
};

TEST_F(TrainingTaskTest, SealedRoundsAndAReportWithinTheRule) {
  const U256 reward(1000000);
  const U256 id = create(2, 3, reward, 3);
  EXPECT_FAILS_WITH(join(accounts[1], id, kStake - 1), "WrongStake(999, 1000)");
  EXPECT_FAILS_WITH(join(owner(), id), "NotAdmitted(");
  for (int p = 1; p <= 3; ++p)
    ASSERT_TRUE(join(accounts[p], id));
  EXPECT_FAILS_WITH(join(accounts[4], id), "TaskFull()");
  EXPECT_FAILS_WITH(seal(accounts[1], id, 0, digest("u")), "NotStarted()");
  ASSERT_TRUE(task->transact(owner(), "start", {Value(id)}));

  // Round 0: nobody reveals while someone may still seal.
  ASSERT_TRUE(seal(accounts[1], id, 0, digest("update 1")));
  ASSERT_TRUE(seal(accounts[2], id, 0, digest("update 2")));
  EXPECT_FAILS_WITH(reveal(accounts[1], id, 0, digest("update 1")), "NotRevealing()");
  EXPECT_FAILS_WITH(seal(accounts[1], id, 0, digest("again")), "AlreadyCommitted()");
  ASSERT_TRUE(seal(accounts[3], id, 0, digest("update 3")));
  EXPECT_FAILS_WITH(seal(accounts[4], id, 0, digest("u")), "NotParticipant(");
  // A reveal must be what was sealed.
  EXPECT_FAILS_WITH(reveal(accounts[1], id, 0, digest("update 2")), "SealMismatch()");
  for (int p = 1; p <= 3; ++p)
    ASSERT_TRUE(reveal(accounts[p], id, 0, digest("update " + std::to_string(p))));
  EXPECT_FAILS_WITH(task->transact(aggregator(), "closeRound",
                                   {Value(id), Value(0), Value(digest("record")),
                                    Value::text("bafyrecord"), Value(ValueList{})}),
                    "NotOwner(");
  ASSERT_TRUE(task->transact(aggregator(), "postAggregate",
                             {Value(id), Value(0), Value(digest("agg")), Value::text("agg")}));
  EXPECT_FAILS_WITH(close(id, 0, {Value(accounts[4].address)}), "NotRevealed(");
  ASSERT_TRUE(close(id, 0));

  // Round 1: participant 3 waits to copy participant 1's update. Once the round reveals
  // (the commit window passed) it can neither seal nor reveal anything.
  ASSERT_TRUE(seal(accounts[1], id, 1, digest("update 1b")));
  ASSERT_TRUE(seal(accounts[2], id, 1, digest("update 2b")));
  EXPECT_FALSE(task->call("revealing", {Value(id)}).value()[0].as_bool().value());
  advance_time(kCommitWindow + 1);
  EXPECT_TRUE(task->call("revealing", {Value(id)}).value()[0].as_bool().value());
  ASSERT_TRUE(reveal(accounts[1], id, 1, digest("update 1b")));
  EXPECT_FAILS_WITH(seal(accounts[3], id, 1, digest("update 1b")), "SealingClosed()");
  EXPECT_FAILS_WITH(reveal(accounts[3], id, 1, digest("update 1b")), "SealMismatch()");
  ASSERT_TRUE(reveal(accounts[2], id, 1, digest("update 2b")));
  // The owner leaves participant 2's round-1 update out: it earns nothing for it.
  auto closed = close(id, 1, {Value(accounts[2].address)});
  ASSERT_TRUE(closed) << closed.error().to_string();
  EXPECT_TRUE(task->call("excludedUpdates", {Value(id), Value(1), Value(accounts[2].address)})
                  .value()[0]
                  .as_bool()
                  .value());
  EXPECT_FAILS_WITH(task->transact(owner(), "expire", {Value(id)}), "TrainingFinished()");

  // The report: every contributor, each at least the floor, summing to the pool.
  EXPECT_FAILS_WITH(report(id, {{1, 800000}, {2, 100000}, {3, 99999}}), "BelowFloor(");
  EXPECT_FAILS_WITH(report(id, {{1, 800000}, {2, 200000}}), "MissingContributors(2, 3)");
  EXPECT_FAILS_WITH(report(id, {{1, 700000}, {2, 100000}, {3, 100000}}),
                    "WrongTotal(900000, 1000000)");
  // Named twice (in place of participant 2): refused as out of order.
  EXPECT_FAILS_WITH(report(id, {{1, 700000}, {1, 200000}, {3, 100000}}), "NotInOrder(");
  EXPECT_FAILS_WITH(task->transact(accounts[1], "reportContributions",
                                   {Value(id), Value(digest("r")), Value::text("r"),
                                    Value(ValueList{}), Value(ValueList{})}),
                    "NotOwner(");
  auto reported = report(id, {{1, 600000}, {2, 250000}, {3, 150000}});
  ASSERT_TRUE(reported) << reported.error().to_string();
  EXPECT_FAILS_WITH(task->transact(accounts[1], "claim", {Value(id)}), "ClaimsNotOpen(");
  advance_time(kChallengeWindow + 1);
  EXPECT_FAILS_WITH(task->transact(accounts[1], "challenge", {Value(id)}),
                    "ChallengeWindowClosed()");
  claim_exactly(id, 1, U256(600000 + kStake));
  claim_exactly(id, 2, U256(250000 + kStake));
  claim_exactly(id, 3, U256(150000 + kStake));
  // The owner gets nothing back, and the contract holds nothing more.
  EXPECT_FAILS_WITH(task->transact(owner(), "claim", {Value(id)}), "NothingToClaim()");
  EXPECT_EQ(balance(task->address()), U256(0));
}

TEST_F(TrainingTaskTest, ChallengedOrMissingReportsPayTheDefault) {
  // Task A: participant 3 never updates (its stake joins the pool); no report comes.
  const U256 a = create(1, 3, U256(1000000), 3);
  // Task B: everyone updates; the report is challenged by two of three contributors.
  const U256 b = create(1, 3, U256(900000), 3);
  for (const U256& id : {a, b}) {
    for (int p = 1; p <= 3; ++p)
      ASSERT_TRUE(join(accounts[p], id));
    ASSERT_TRUE(task->transact(owner(), "start", {Value(id)}));
  }
  ASSERT_TRUE(seal(accounts[1], a, 0, digest("a1")));
  ASSERT_TRUE(seal(accounts[2], a, 0, digest("a2")));
  train_round(b, 0, {1, 2, 3});
  EXPECT_FAILS_WITH(close(a, 0), "NotRevealing()");
  advance_time(kCommitWindow + 1);
  ASSERT_TRUE(reveal(accounts[1], a, 0, digest("a1")));
  ASSERT_TRUE(reveal(accounts[2], a, 0, digest("a2")));
  ASSERT_TRUE(close(a, 0));
  ASSERT_TRUE(close(b, 0));
  ASSERT_TRUE(report(b, {{1, 700000}, {2, 100000}, {3, 100000}}));

  EXPECT_FAILS_WITH(task->transact(accounts[7], "payoutDefault", {Value(a)}), "ReportWindowOpen()");
  EXPECT_FAILS_WITH(task->transact(owner(), "challenge", {Value(b)}), "NotContributor(");
  ASSERT_TRUE(task->transact(accounts[2], "challenge", {Value(b)}));
  EXPECT_FAILS_WITH(task->transact(accounts[2], "challenge", {Value(b)}), "AlreadyChallenged()");
  EXPECT_EQ(claimable(b, 1), U256(700000 + kStake)) << "one of three is not a majority";
  ASSERT_TRUE(task->transact(accounts[3], "challenge", {Value(b)}));
  // Overturned: floor + the rest in proportion to accepted updates (one each).
  EXPECT_EQ(claimable(b, 1), U256(kFloor + 600000 / 3 + kStake));
  for (int p = 1; p <= 3; ++p)
    claim_exactly(b, p, U256(kFloor + 600000 / 3 + kStake));

  advance_time(kReportWindow + 1);
  EXPECT_FAILS_WITH(report(a, {{1, 500000}, {2, 501000}}), "ReportWindowClosed()");
  ASSERT_TRUE(task->transact(accounts[7], "payoutDefault", {Value(a)}));
  // pool = reward + participant 3's forfeited stake; the rest after two floors is halved.
  const std::uint64_t rest = 1000000 + kStake - 2 * kFloor;
  claim_exactly(a, 1, U256(kFloor + rest / 2 + kStake));
  claim_exactly(a, 2, U256(kFloor + rest / 2 + kStake));
  EXPECT_FAILS_WITH(task->transact(accounts[3], "claim", {Value(a)}), "NothingToClaim()");
  EXPECT_EQ(balance(task->address()), U256(0));
}

TEST_F(TrainingTaskTest, ATaskStillTrainingAtItsDeadlineExpires) {
  const U256 reward(500000);
  const U256 id = create(3, 4, reward, 2, 3600);
  ASSERT_TRUE(join(accounts[1], id));
  ASSERT_TRUE(join(accounts[2], id));
  ASSERT_TRUE(task->transact(owner(), "start", {Value(id)}));
  train_round(id, 0, {1, 2});
  ASSERT_TRUE(close(id, 0, {Value(accounts[2].address)}));
  EXPECT_FAILS_WITH(task->transact(accounts[7], "expire", {Value(id)}), "DeadlineNotPassed()");
  advance_time(3601);
  EXPECT_FAILS_WITH(seal(accounts[1], id, 1, digest("late")), "DeadlinePassed()");
  ASSERT_TRUE(task->transact(accounts[7], "expire", {Value(id)}));
  EXPECT_FAILS_WITH(task->transact(owner(), "expire", {Value(id)}), "TaskNotOpen()");
  // The contributor keeps its floor and stake; participant 2 (excluded) gets its stake
  // back: an unfinished task is the owner's doing, and no stake ever pays the owner.
  claim_exactly(id, 1, U256(kFloor + kStake));
  claim_exactly(id, 2, U256(kStake));
  const U256 before = balance(owner().address);
  auto refunded = task->transact(owner(), "claim", {Value(id)});
  ASSERT_TRUE(refunded);
  EXPECT_EQ(
      balance(owner().address),
      before.checked_add(U256(500000 - kFloor)).value().checked_sub(gas_cost(*refunded)).value());
  EXPECT_EQ(balance(task->address()), U256(0));
  EXPECT_FAILS_WITH(task->transact(owner(), "expire", {Value(99)}), "UnknownTask(99)");
}

TEST_F(TrainingTaskTest, RejectsBadParameters) {
  auto create_with = [&](std::uint64_t rounds, std::uint64_t max, std::uint64_t min,
                         std::uint64_t deadline, const Address& aggregator_address,
                         std::uint64_t floor = 0) {
    return task->transact(owner(), "createTask",
                          {Value(digest("spec")), Value::text("s"), Value(rounds), Value(max),
                           Value(min), Value(deadline), Value(aggregator_address), terms(floor, 0)},
                          U256(1000));
  };
  EXPECT_FAILS_WITH(create_with(0, 1, 1, now() + 100, aggregator().address), "InvalidParameters()");
  EXPECT_FAILS_WITH(create_with(1, 1, 1, 1, aggregator().address), "InvalidParameters()");
  EXPECT_FAILS_WITH(create_with(1, 2, 3, now() + 100, aggregator().address), "InvalidParameters()");
  EXPECT_FAILS_WITH(create_with(1, 2, 0, now() + 100, aggregator().address), "InvalidParameters()");
  EXPECT_FAILS_WITH(create_with(1, 2, 1, now() + 100, Address{}), "InvalidParameters()");
  EXPECT_FAILS_WITH(create_with(1, 257, 1, now() + 100, aggregator().address),
                    "InvalidParameters()");
  // Floors the reward cannot cover: 4 x 251 > 1000.
  EXPECT_FAILS_WITH(create_with(1, 4, 1, now() + 100, aggregator().address, 251),
                    "InvalidParameters()");
  EXPECT_TRUE(create_with(1, 4, 1, now() + 100, aggregator().address, 250));
}

}  // namespace
}  // namespace cairn::chain

// The reward rule's amounts, and the C++ side of TrainingTask v3's terms, seals and
// allowlist proofs against the contract on a real anvil.
#include "market/reward_rule.hpp"

#include <gtest/gtest.h>

#include "chain/anvil_fixture.hpp"
#include "chain/contract.hpp"
#include "crypto/hash.hpp"
#include "market/protocol.hpp"

namespace cairn::market {
namespace {

using chain::U256;
using chain::abi::Value;
using chain::abi::ValueList;

chain::Address address_of(std::uint8_t tag) {
  chain::Address out;
  out.bytes.fill(std::byte{tag});
  return out;
}

U256 sum_of(const std::vector<U256>& amounts) {
  U256 total;
  for (const auto& amount : amounts)
    total = total.checked_add(amount).value();
  return total;
}

TEST(RewardRuleTest, FloorsPlusShapleySharesSumToThePoolExactly) {
  const std::vector<chain::Address> who{address_of(1), address_of(2), address_of(3)};
  const std::map<std::string, double> totals{
      {who[0].to_checksum(), 0.75}, {who[1].to_checksum(), 0.25}, {who[2].to_checksum(), -0.5}};
  const U256 pool(1000000007);
  const U256 floor(100000000);
  const auto amounts = reward_amounts(who, totals, pool, floor);
  ASSERT_TRUE(amounts) << amounts.error().to_string();
  ASSERT_EQ(amounts->size(), 3u);
  EXPECT_EQ(sum_of(*amounts), pool);
  // The rest (700000007 wei) split 3/4 and 1/4, rounded down; a negative total gets the
  // floor; the remainder goes to the largest share.
  EXPECT_EQ((*amounts)[1], U256(100000000 + 175000001));
  EXPECT_EQ((*amounts)[2], floor);
  EXPECT_EQ((*amounts)[0], pool.checked_sub((*amounts)[1]).value().checked_sub(floor).value());
}

TEST(RewardRuleTest, EqualSharesWhenNobodyHelpedAndErrorsWhenFloorsExceedThePool) {
  const std::vector<chain::Address> who{address_of(1), address_of(2)};
  const auto equal = reward_amounts(who, {}, U256(1001), U256(0));
  ASSERT_TRUE(equal);
  EXPECT_EQ(sum_of(*equal), U256(1001));
  EXPECT_EQ((*equal)[0], U256(501)) << "the remainder goes to the first of the largest shares";
  EXPECT_EQ((*equal)[1], U256(500));
  EXPECT_TRUE(reward_amounts({}, {}, U256(5), U256(1))->empty());
  const auto over = reward_amounts(who, {}, U256(10), U256(6));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::invalid_argument);
}

TEST(RewardRuleTest, ShapleyTotalsAddUpRoundsAndRefuseMalformedOnes) {
  const auto totals = shapley_totals(nlohmann::json::parse(R"([
      {"round": 0, "contributions": {"clients": ["a", "b"], "shapley": [0.5, 0.25]}},
      {"round": 1, "contributions": null},
      {"round": 2, "contributions": {"clients": ["a"], "shapley": [0.25]}}])"));
  ASSERT_TRUE(totals) << totals.error().to_string();
  EXPECT_DOUBLE_EQ(totals->at("a"), 0.75);
  EXPECT_DOUBLE_EQ(totals->at("b"), 0.25);
  for (const char* bad : {R"({})", R"([{"round": 0}])",
                          R"([{"contributions": {"clients": ["a"], "shapley": [1, 2]}}])",
                          R"([{"contributions": {"clients": [1], "shapley": [1]}}])",
                          R"([{"contributions": {"clients": ["a"], "shapley": ["x"]}}])"}) {
    EXPECT_FALSE(shapley_totals(nlohmann::json::parse(bad))) << bad;
  }
}

class TaskTermsOnChainTest : public chain::testing::AnvilTest {
 protected:
  void SetUp() override {
    AnvilTest::SetUp();
    if (HasFatalFailure()) return;
    task.emplace(chain::Contract::deploy(sender, accounts[0], "TrainingTask").value());
  }
  std::optional<chain::Contract> task;
};

// The terms round-trip through the contract's tuple; the seal the trainers compute is the
// contract's; the allowlist root and proofs the model and data providers build are the
// ones the contract checks (an odd number of leaves, so one moves up unpaired).
TEST_F(TaskTermsOnChainTest, TermsSealsAndAllowlistProofsAreTheContracts) {
  const std::vector<chain::Address> admitted{accounts[1].address, accounts[2].address,
                                             accounts[3].address};
  TaskTerms terms;
  terms.rule = reward_rule_id();
  terms.floor = U256(7);
  terms.stake = U256(11);
  terms.allowlist = allowlist_root(admitted);
  terms.commit_window_s = 30;
  terms.report_window_s = 60;
  terms.challenge_window_s = 90;
  const auto head = rpc->block(std::nullopt).value();
  auto created = task->transact(
      accounts[0], "createTask",
      {Value(crypto::sha256(std::string_view("spec"))), Value::text("bafyspec"), Value(1), Value(4),
       Value(1), Value(head.timestamp + 3600), Value(accounts[5].address), terms.to_abi()},
      U256(1000));
  ASSERT_TRUE(created) << created.error().to_string();
  const auto read = task->call("getTaskTerms", {Value(1)});
  ASSERT_TRUE(read) << read.error().to_string();
  const auto back = TaskTerms::from_abi(read->at(0));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, terms);

  const auto join = [&](const chain::Signer& who, const std::vector<ByteArray<32>>& proof) {
    ValueList siblings;
    for (const auto& sibling : proof)
      siblings.push_back(Value(sibling));
    return task->transact(who, "join",
                          {Value(1), Value(crypto::sha256(std::string_view("manifest"))),
                           Value::text("bafymanifest"), Value(std::move(siblings))},
                          U256(11));
  };
  for (int p = 1; p <= 3; ++p) {
    const auto proof = allowlist_proof(admitted, accounts[p].address);
    EXPECT_FALSE(proof.empty());
    auto joined = join(accounts[p], proof);
    EXPECT_TRUE(joined) << "account " << p << ": " << joined.error().to_string();
  }
  EXPECT_TRUE(allowlist_proof(admitted, accounts[4].address).empty());
  auto stranger = join(accounts[4], allowlist_proof(admitted, accounts[1].address));
  ASSERT_FALSE(stranger);
  EXPECT_NE(stranger.error().message.find("NotAdmitted("), std::string::npos)
      << stranger.error().message;

  const auto digest = crypto::sha256(std::string_view("update"));
  const auto seal =
      task->call("updateSeal", {Value(accounts[2].address), Value(1), Value(4), Value(digest)});
  ASSERT_TRUE(seal) << seal.error().to_string();
  EXPECT_EQ(seal->at(0).as_bytes32().value(), update_seal(accounts[2].address, 1, 4, digest));
  EXPECT_NE(update_seal(accounts[3].address, 1, 4, digest),
            update_seal(accounts[2].address, 1, 4, digest));
}

}  // namespace
}  // namespace cairn::market

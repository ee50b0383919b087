// The task under adversity, driven through the roles in one process: five data providers,
// of which one poisons its updates, one commits garbage and one replays its round-0 update;
// an aggregator that posts a wrong sum in round 1; and the model provider's role destroyed
// and made again from its store and state after round 0. The task must complete, the
// record must say who did what, the passport must verify, and nothing is sent twice.
#include <gtest/gtest.h>

#include <set>

#include "chain/contract.hpp"
#include "market/directory.hpp"
#include "market/passport.hpp"
#include "market/protocol.hpp"
#include "market/task_protocol.hpp"
#include "store/exporter.hpp"
#include "store/repo.hpp"
#include "testing/testing.hpp"

namespace cairn::market {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kHonest1 = 0, kHonest2 = 1, kPoison = 2, kGarbage = 3, kReplay = 4;

class AdversityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new cairn::testing::TempDir();
    TaskConfig config;
    config.work_dir = dir_->path() / "task";
    config.providers = 5;
    config.rounds = 2;
    config.model = "logreg";
    config.rows_per_provider = 200;
    config.test_rows = 500;
    config.paillier_bits = 1024;  // test only
    config.insecure_test_key = true;
    config.round_timeout_s = 60;
    config.exclude_harmful = true;
    config.behaviours = {"honest", "honest", "poison:scale:-30", "garbage", "replay"};
    config.aggregator_behaviour = "wrong-aggregate:1";
    config.restart_model_provider_after_round = 0;
    config.progress = [](const std::string& line) {
      std::fprintf(stderr, "  [adversity] %s\n", line.c_str());
    };
    auto outcome = run_training_task(config);
    if (!outcome) {
      error_ = new std::string(outcome.error().to_string());
      return;
    }
    outcome_ = new TaskOutcome(std::move(*outcome));
  }
  static void TearDownTestSuite() {
    delete outcome_;
    outcome_ = nullptr;
    delete dir_;
    dir_ = nullptr;
    delete error_;
    error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(error_, nullptr) << *error_;
    ASSERT_NE(outcome_, nullptr);
  }

  static chain::Address provider(std::size_t k) {
    return chain::Signer::from_key(chain::dev_account_key(k + 1)).address;
  }
  static const ExclusionRecord* exclusion_of(const RoundRecord& round, std::size_t k) {
    for (const auto& exclusion : round.excluded) {
      if (exclusion.participant == provider(k)) return &exclusion;
    }
    return nullptr;
  }
  // A context that only reads the chain.
  static NodeContext reader() {
    NodeContext context;
    context.name = "test";
    auto rpc = chain::RpcClient::create(outcome_->rpc_url).value();
    context.sender = chain::TransactionSender::create(rpc).value();
    context.deployment = outcome_->deployment;
    return context;
  }

  static cairn::testing::TempDir* dir_;
  static TaskOutcome* outcome_;
  static std::string* error_;
};

cairn::testing::TempDir* AdversityTest::dir_ = nullptr;
TaskOutcome* AdversityTest::outcome_ = nullptr;
std::string* AdversityTest::error_ = nullptr;

TEST_F(AdversityTest, TheTaskCompletesAndItsPassportVerifies) {
  const PassportBody& body = outcome_->passport.body;
  ASSERT_EQ(body.rounds.size(), 2u);
  EXPECT_TRUE(outcome_->audit_ok);
  auto repo = store::Repo::open(outcome_->auditor_repo, store::RepoAccess::read);
  ASSERT_TRUE(repo) << repo.error().to_string();
  VerifyOptions options;
  options.store = &(*repo)->blocks();
  options.rpc_url = outcome_->rpc_url;
  const VerifyReport report = verify_passport(outcome_->model_path, outcome_->passport, options);
  EXPECT_TRUE(report.ok()) << report.failures();
  // The honest providers were paid something, the garbage one nothing.
  for (const auto& reward : body.evaluation.rewards) {
    if (reward.participant == provider(kGarbage)) {
      EXPECT_EQ(reward.amount, chain::U256{});
    }
  }
}

TEST_F(AdversityTest, AWrongAggregateIsCaughtAndReplaced) {
  const RoundRecord& round0 = outcome_->passport.body.rounds[0];
  const RoundRecord& round1 = outcome_->passport.body.rounds[1];
  EXPECT_TRUE(round0.accepted) << round0.reason;
  EXPECT_FALSE(round1.accepted);
  EXPECT_NE(round1.reason.find("not the homomorphic sum"), std::string::npos) << round1.reason;
  ASSERT_TRUE(round1.sum_used);
  EXPECT_NE(round1.record["aggregate"]["posted_sum"].get<std::string>(),
            round1.sum_used->cid.to_string());
  // The model still learnt: well above the untrained model's accuracy.
  EXPECT_GT(round1.accuracy, round0.record["start_accuracy"].get<double>() + 0.2);
}

TEST_F(AdversityTest, APoisonedUpdateIsExcludedAsHarmful) {
  for (const auto& round : outcome_->passport.body.rounds) {
    const ExclusionRecord* poisoned = exclusion_of(round, kPoison);
    ASSERT_NE(poisoned, nullptr) << "round " << round.round << ": " << round.record.dump();
    EXPECT_EQ(poisoned->reason.rfind("harmful: leave-one-out", 0), 0u) << poisoned->reason;
    EXPECT_TRUE(poisoned->cid);
    EXPECT_EQ(exclusion_of(round, kHonest1), nullptr);
    EXPECT_EQ(exclusion_of(round, kHonest2), nullptr);
  }
}

TEST_F(AdversityTest, GarbageAndAReplayAreExcludedWithReasons) {
  for (const auto& round : outcome_->passport.body.rounds) {
    const ExclusionRecord* garbage = exclusion_of(round, kGarbage);
    ASSERT_NE(garbage, nullptr) << round.record.dump();
    EXPECT_EQ(garbage->reason.rfind("wrong size:", 0), 0u) << garbage->reason;
  }
  // The replaying provider trains honestly in round 0 and resubmits that update later.
  EXPECT_EQ(exclusion_of(outcome_->passport.body.rounds[0], kReplay), nullptr);
  const ExclusionRecord* replay = exclusion_of(outcome_->passport.body.rounds[1], kReplay);
  ASSERT_NE(replay, nullptr);
  EXPECT_EQ(replay->reason.rfind("replay:", 0), 0u) << replay->reason;
  // The aggregator excluded them too, with its own reasons, in the manifest it posted.
  auto repo = store::Repo::open(outcome_->auditor_repo, store::RepoAccess::read);
  ASSERT_TRUE(repo);
  Bytes manifest_bytes;
  ASSERT_TRUE(store::export_file(outcome_->passport.body.rounds[1].aggregate.cid, (*repo)->blocks(),
                                 [&](ByteView chunk) -> Status {
                                   append(manifest_bytes, chunk);
                                   return {};
                                 }));
  const json manifest = json::parse(
      std::string(reinterpret_cast<const char*>(manifest_bytes.data()), manifest_bytes.size()));
  std::set<std::string> excluded;
  for (const auto& item : manifest["excluded"])
    excluded.insert(item["participant"].get<std::string>());
  EXPECT_TRUE(excluded.count(provider(kGarbage).to_checksum())) << manifest.dump();
  EXPECT_TRUE(excluded.count(provider(kReplay).to_checksum())) << manifest.dump();
}

TEST_F(AdversityTest, TheRestartedModelProviderSubmittedNothingTwice) {
  EXPECT_EQ(outcome_->model_provider_restarts, 1u);
  // No step of the model provider failed: it never tried a transaction the chain refused.
  if (auto errors = outcome_->step_errors.find("model-provider");
      errors != outcome_->step_errors.end()) {
    ADD_FAILURE() << errors->second.size() << " step error(s), first: " << errors->second.front();
  }
  NodeContext context = reader();
  const chain::Address owner = chain::Signer::from_key(chain::dev_account_key(0)).address;
  auto created = find_events(context, "TrainingTask", context.deployment.training_task,
                             "TaskCreated", {std::nullopt, topic_word(owner)});
  ASSERT_TRUE(created);
  EXPECT_EQ(created->size(), 1u);
  const std::uint64_t task = outcome_->passport.body.task.task_id;
  auto started = find_events(context, "TrainingTask", context.deployment.training_task,
                             "TaskStarted", {topic_word(task)});
  ASSERT_TRUE(started);
  EXPECT_EQ(started->size(), 1u);
  auto closed = find_events(context, "TrainingTask", context.deployment.training_task,
                            "RoundClosed", {topic_word(task)});
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->size(), 2u);
  auto reported = find_events(context, "TrainingTask", context.deployment.training_task,
                              "ContributionsReported", {topic_word(task)});
  ASSERT_TRUE(reported);
  EXPECT_EQ(reported->size(), 1u);
  auto models = find_events(context, "Registry", context.deployment.registry, "Registered",
                            {std::nullopt, topic_word(owner),
                             topic_word(static_cast<std::uint64_t>(RegistryKind::model))});
  ASSERT_TRUE(models);
  EXPECT_EQ(models->size(), 1u);
  auto endpoints = find_events(context, "Registry", context.deployment.registry, "Registered",
                               {std::nullopt, topic_word(owner),
                                topic_word(static_cast<std::uint64_t>(RegistryKind::endpoint))});
  ASSERT_TRUE(endpoints);
  EXPECT_EQ(endpoints->size(), 1u);
  // The key pair survived the restart: the task's key is the one the state directory holds.
  const fs::path key_file = outcome_->model_path.parent_path().parent_path() / "state" /
                            "model_provider" / "paillier.json";
  ASSERT_TRUE(fs::exists(key_file));
  EXPECT_EQ(fs::status(key_file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

// A model provider whose report moves reward between contributors within every check the
// contract makes (floors, the whole pool, every contributor named): the contract takes it,
// and before v3 nothing else looked. Now every honest data provider replays the report with
// the committed rule during the challenge window, challenges it, and the majority replaces
// it with the default payout; the passport then names both broken links.
TEST(UnfairReportTest, TheContributorsOverturnAReportThatIsNotTheRules) {
  cairn::testing::TempDir dir;
  TaskConfig config;
  config.work_dir = dir.path() / "task";
  config.providers = 3;
  config.rounds = 1;
  config.model = "logreg";
  config.rows_per_provider = 200;
  config.test_rows = 300;
  config.paillier_bits = 1024;  // test only
  config.insecure_test_key = true;
  config.round_timeout_s = 60;
  config.exclude_harmful = false;
  config.challenge_window_s = 30;
  config.model_provider_behaviour = "unfair-report";
  config.progress = [](const std::string& line) {
    std::fprintf(stderr, "  [unfair] %s\n", line.c_str());
  };
  auto outcome = run_training_task(config);
  ASSERT_TRUE(outcome) << outcome.error().to_string();

  NodeContext reader;
  reader.name = "test";
  reader.sender =
      chain::TransactionSender::create(chain::RpcClient::create(outcome->rpc_url).value()).value();
  reader.deployment = outcome->deployment;
  const std::uint64_t id = outcome->passport.body.task.task_id;
  const auto task = read_task(reader, id);
  ASSERT_TRUE(task) << task.error().to_string();
  EXPECT_EQ(task->state, TaskState::defaulted) << "the report still stands";
  EXPECT_GE(task->progress.challenges, 2u);
  // Every contributor was paid by the default formula (floor + rest × accepted / total).
  const auto claims = find_events(reader, "TrainingTask", reader.deployment.training_task,
                                  "RewardClaimed", {topic_word(id)});
  ASSERT_TRUE(claims) << claims.error().to_string();
  EXPECT_EQ(claims->size(), 3u);
  auto contract = training_task_contract(reader).value();
  const auto pool = contract.call("pool", {chain::abi::Value(id)}).value().at(0).as_uint().value();
  chain::U256 rest = pool.checked_sub(task->terms.floor.checked_mul(3).value()).value();
  rest.divmod_small(3);  // one accepted update each
  for (const auto& claim : *claims) {
    EXPECT_EQ(claim.values.at(2).as_uint().value(),
              task->terms.floor.checked_add(rest).value().checked_add(task->terms.stake).value());
  }

  EXPECT_FALSE(outcome->audit_ok) << "the auditor took the unfair report";
  VerifyOptions options;
  options.rpc_url = outcome->rpc_url;
  const VerifyReport report = verify_passport(outcome->model_path, outcome->passport, options);
  std::set<std::string> failed;
  for (const auto& link : report.links) {
    if (!link.ok && !link.skipped) failed.insert(link.link);
  }
  EXPECT_TRUE(failed.contains("rewards follow the committed rule")) << report.failures();
  EXPECT_TRUE(failed.contains("reward 0 on chain")) << report.failures();
  EXPECT_NE(report.failures().find("overturned"), std::string::npos) << report.failures();
}

}  // namespace
}  // namespace cairn::market

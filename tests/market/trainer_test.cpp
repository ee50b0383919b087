// The data provider and compute provider roles against the real components: anvil with the
// platform contracts, one RocksDB store behind its own loopback gateway per node, the
// signing service over HTTP, libtorch, Paillier (1024 bits, test only). The test plays the
// task owner and aggregator itself (spec, start, per-round sum and record, contributions)
// so that it checks exactly what the trainer roles send.
//
// One task runs in the suite's set-up with six data providers: honest (its role object
// destroyed and rebuilt after every step it takes: a restart at every point), poison:scale:4,
// garbage, replay, dropout:1, and one that delegates training to a compute provider.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <thread>

#include "base/encoding.hpp"
#include "chain/anvil.hpp"
#include "chain/contract.hpp"
#include "chain/data_transfer.hpp"
#include "crypto/hash.hpp"
#include "crypto/paillier.hpp"
#include "crypto/sodium.hpp"
#include "learn/contribution.hpp"
#include "learn/dataset.hpp"
#include "learn/params.hpp"
#include "learn/secure_paillier.hpp"
#include "learn/torch/model.hpp"
#include "market/compute_provider.hpp"
#include "market/data_provider.hpp"
#include "market/directory.hpp"
#include "market/passport.hpp"
#include "market/trainer_common.hpp"
#include "seal/http/server.hpp"
#include "seal/keys.hpp"
#include "seal/service.hpp"
#include "seal/signature.hpp"
#include "store/gateway.hpp"
#include "store/repo.hpp"
#include "testing/testing.hpp"

namespace cairn::market {
namespace {

namespace fs = std::filesystem;
using chain::abi::Value;
using nlohmann::json;

constexpr std::size_t kRows = 200;
constexpr std::uint64_t kRounds = 2;
constexpr double kPoisonScale = 4.0;

json parse(const Bytes& bytes) {
  return json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// One organisation's node: its store behind its gateway, its account, its private state.
struct TestNode {
  std::string name;
  fs::path dir;
  std::unique_ptr<store::Repo> repo;
  std::unique_ptr<store::Gateway> gateway;
  NodeContext context;
  std::unique_ptr<Role> role;
  Metrics metrics;
  json role_config;
  std::string kind;
};

struct Outcome {
  std::uint64_t task_id = 0;
  json spec;
  std::optional<crypto::PaillierKeyPair> paillier;
  std::vector<store::Cid> global_models;  // per round
  std::vector<learn::ParameterSet> globals;
  std::uint64_t restarts = 0;          // role objects of the honest provider destroyed mid-task
  std::uint64_t compute_restarts = 0;  // and of the compute provider
  std::uint64_t mismatched_task = 0;   // a task whose schema fits nobody
  std::map<std::string, std::string> finished_outcome;
};

class TrainerTaskTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new cairn::testing::TempDir();
    outcome_ = new Outcome();
    if (auto run = run_task(); !run) error_ = new std::string(run.error().to_string());
  }
  static void TearDownTestSuite() {
    for (auto& node : nodes_) {
      node->role.reset();
      if (node->gateway) node->gateway->stop();
    }
    nodes_.clear();
    if (seal_server_) seal_server_->stop();
    delete seal_server_;
    seal_server_ = nullptr;
    signing_.reset();
    anvil_.reset();
    delete outcome_;
    delete dir_;
    delete error_;
    outcome_ = nullptr;
    dir_ = nullptr;
    error_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(error_, nullptr) << *error_; }

  static TestNode& node(const std::string& name) {
    for (auto& node : nodes_)
      if (node->name == name) return *node;
    throw std::runtime_error("no node " + name);
  }

  static Status open_node(const std::string& name, std::size_t account, std::string kind,
                          json role_config) {
    auto node = std::make_unique<TestNode>();
    node->name = name;
    node->dir = dir_->path() / name;
    fs::create_directories(node->dir / "state");
    CAIRN_TRY_ASSIGN(node->repo, store::Repo::open(node->dir / "repo", store::RepoAccess::write));
    node->gateway = std::make_unique<store::Gateway>(node->repo->blocks(), store::GatewayOptions{});
    CAIRN_TRY(node->gateway->start());
    node->context.name = name;
    node->context.repo = node->repo.get();
    node->context.gateway_url = node->gateway->url();
    node->context.signer = chain::Signer::from_key(chain::dev_account_key(account));
    node->context.sender = sender_;
    node->context.deployment = deployment_;
    node->context.seal_url = seal_url_;
    node->context.state_dir = node->dir / "state";
    node->context.metrics = &node->metrics;
    node->context.log = [name](const std::string& line) {
      std::fprintf(stderr, "  [%s] %s\n", name.c_str(), line.c_str());
    };
    node->kind = std::move(kind);
    node->role_config = std::move(role_config);
    nodes_.push_back(std::move(node));
    return {};
  }

  static Status make_role(TestNode& node) {
    if (node.kind == "data_provider") {
      CAIRN_TRY_ASSIGN(node.role, make_data_provider(node.role_config, node.context));
    } else if (node.kind == "compute_provider") {
      CAIRN_TRY_ASSIGN(node.role, make_compute_provider(node.role_config, node.context));
    }
    return {};
  }

  // Steps every role once; the honest provider's and the compute provider's roles are rebuilt
  // after every step in which they did something, so that they resume from their store,
  // state directory and the chain alone.
  static Status step_all() {
    for (auto& node : nodes_) {
      if (!node->role) continue;
      auto acted = node->role->step();
      if (!acted) {
        std::fprintf(stderr, "  [%s] step failed: %s\n", node->name.c_str(),
                     acted.error().to_string().c_str());
        continue;
      }
      if (*acted && (node->name == "honest" || node->name == "compute")) {
        node->role.reset();
        CAIRN_TRY(make_role(*node));
        ++(node->name == "honest" ? outcome_->restarts : outcome_->compute_restarts);
      }
    }
    return {};
  }

  static Status step_until(const std::function<Result<bool>()>& done, const std::string& what,
                           std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      CAIRN_TRY_ASSIGN(bool ok, done());
      if (ok) return {};
      if (std::chrono::steady_clock::now() > deadline) {
        return fail(Errc::unavailable, "timed out waiting for " + what);
      }
      CAIRN_TRY(step_all());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  static Result<chain::Contract> tasks() { return training_task_contract(owner_context()); }
  static chain::Signer stranger() { return chain::Signer::from_key(chain::dev_account_key(9)); }
  static NodeContext& owner_context() { return node("owner").context; }

  static Result<Bytes> write_shard(const learn::Dataset& data, const std::string& name) {
    CAIRN_TRY_ASSIGN(Bytes images, learn::encode_idx_images(data));
    CAIRN_TRY_ASSIGN(Bytes labels, learn::encode_idx_labels(data));
    cairn::testing::write_file(dir_->path() / (name + "-images.idx"), images);
    cairn::testing::write_file(dir_->path() / (name + "-labels.idx"), labels);
    return images;
  }

  static Status start_infrastructure() {
    CAIRN_TRY_ASSIGN(anvil_, chain::Anvil::start());
    CAIRN_TRY_ASSIGN(chain::RpcClient rpc, chain::RpcClient::create(anvil_->url()));
    chain::SenderOptions options;
    options.poll_interval = std::chrono::milliseconds(20);
    CAIRN_TRY_ASSIGN(sender_, chain::TransactionSender::create(rpc, options));
    const chain::Signer deployer = chain::Signer::from_key(chain::dev_account_key(0));
    CAIRN_TRY_ASSIGN(auto registry, chain::Contract::deploy(sender_, deployer, "Registry"));
    CAIRN_TRY_ASSIGN(auto training, chain::Contract::deploy(sender_, deployer, "TrainingTask"));
    CAIRN_TRY_ASSIGN(auto transfer,
                     chain::DataTransfer::deploy(sender_, deployer, std::nullopt, 86400));
    deployment_.chain_id = sender_->chain_id();
    deployment_.registry = registry.address();
    deployment_.training_task = training.address();
    deployment_.data_transfer = transfer.address();
    CAIRN_TRY_ASSIGN(seal::ServiceKeys keys, seal::ServiceKeys::generate());
    seal::ServiceOptions seal_options;
    seal_options.round = std::chrono::milliseconds(100);
    CAIRN_TRY_ASSIGN(signing_, seal::SigningService::in_memory(seal_options, std::move(keys)));
    seal_server_ = new seal::SealServer(*signing_, 8);
    CAIRN_TRY(seal_server_->start("127.0.0.1", 0));
    seal_url_ = "http://127.0.0.1:" + std::to_string(seal_server_->port());
    return {};
  }

  static Status run_task() {
    CAIRN_TRY(start_infrastructure());
    CAIRN_TRY_ASSIGN(learn::TrainTest fashion, learn::load_fashion_mnist());
    CAIRN_TRY(open_node("owner", 0, "", json::object()));
    // A stranger registers the owner's gateway URL as an Endpoint of its own before the
    // owner announces it. While digests were unique across the Registry this locked the
    // owner out: announce_endpoint failed ("already registered") and nobody could fetch
    // from it. Entries are unique per owner now, and the owner's announcement goes through.
    CAIRN_TRY_ASSIGN(chain::Contract squatted_registry, registry_contract(owner_context()));
    CAIRN_TRY(
        squatted_registry.transact(stranger(), "register",
                                   {Value(static_cast<std::uint64_t>(RegistryKind::endpoint)),
                                    Value(crypto::sha256(as_bytes(owner_context().gateway_url))),
                                    Value::text(owner_context().gateway_url)}));
    CAIRN_TRY(announce_endpoint(owner_context()));
    const std::vector<std::pair<std::string, std::string>> providers = {
        {"honest", "honest"}, {"poison", "poison:scale:4"}, {"garbage", "garbage"},
        {"replay", "replay"}, {"dropout", "dropout:1"},     {"delegating", "honest"}};
    const chain::Address compute_address =
        chain::Signer::from_key(chain::dev_account_key(7)).address;
    CAIRN_TRY(open_node("compute", 7, "compute_provider", json{{"price_wei", "5000"}}));
    for (std::size_t k = 0; k < providers.size(); ++k) {
      std::vector<std::size_t> rows(kRows);
      for (std::size_t i = 0; i < kRows; ++i)
        rows[i] = k * kRows + i;
      const learn::Dataset shard = fashion.train.subset(rows);
      CAIRN_TRY(write_shard(shard, providers[k].first));
      json config = {{"images", (dir_->path() / (providers[k].first + "-images.idx")).string()},
                     {"labels", (dir_->path() / (providers[k].first + "-labels.idx")).string()},
                     {"dataset", "fashion-mnist"},
                     {"price_wei", "0"},
                     {"behaviour", providers[k].second}};
      if (providers[k].first == "delegating") config["delegate_to"] = compute_address.to_checksum();
      CAIRN_TRY(open_node(providers[k].first, k + 1, "data_provider", std::move(config)));
      shards_[providers[k].first] = shard;
    }
    for (auto& node : nodes_)
      CAIRN_TRY(make_role(*node));
    // The compute provider's offer comes first: the delegating provider's deal needs it.
    CAIRN_TRY(step_until(
        [&]() -> Result<bool> {
          CAIRN_TRY_ASSIGN(auto offer, current_compute_offer(owner_context(), compute_address));
          return offer.has_value();
        },
        "the compute offer"));
    // Every provider's offer registered.
    CAIRN_TRY(step_until(
        [&]() -> Result<bool> {
          for (const auto& [name, behaviour] : providers) {
            CAIRN_TRY_ASSIGN(auto events, registered_datasets(node(name).context.signer.address));
            if (events.empty()) return false;
          }
          return true;
        },
        "the dataset offers"));
    // The owner publishes a task for other data (nobody joins it), then the task.
    CAIRN_TRY(publish_mismatched_task());
    CAIRN_TRY(publish_task(providers.size()));
    CAIRN_TRY_ASSIGN(chain::Contract training, tasks());
    CAIRN_TRY(step_until(
        [&]() -> Result<bool> {
          CAIRN_TRY_ASSIGN(auto task, training.call("getTask", {Value(outcome_->task_id)}));
          CAIRN_TRY_ASSIGN(std::uint64_t count, task.at(5).as_u64());
          return count == providers.size();
        },
        "every provider to join"));
    const chain::Signer owner = owner_context().signer;
    CAIRN_TRY(training.transact(owner, "start", {Value(outcome_->task_id)}));
    for (std::uint64_t round = 0; round < kRounds; ++round) {
      CAIRN_TRY(step_until(
          [&]() -> Result<bool> {
            for (const auto& [name, behaviour] : providers) {
              if (name == "dropout" && round >= 1) continue;
              CAIRN_TRY_ASSIGN(ByteArray<32> committed,
                               update_commitment(owner_context(), outcome_->task_id, round,
                                                 node(name).context.signer.address));
              if (committed == ByteArray<32>{}) return false;
            }
            return true;
          },
          "round " + std::to_string(round) + "'s updates", std::chrono::seconds(90)));
      CAIRN_TRY(close_round(round, providers));
    }
    CAIRN_TRY(report(providers));
    CAIRN_TRY(step_until(
        [&]() -> Result<bool> {
          for (auto& node : nodes_)
            if (node->role && !node->role->finished()) return false;
          return true;
        },
        "every trainer role to finish"));
    for (auto& node : nodes_) {
      if (!node->role) continue;
      const json status = node->role->status();
      std::fprintf(stderr, "  [%s] status %s\n", node->name.c_str(), status.dump().c_str());
    }
    return {};
  }

  static Result<std::vector<ContractEvent>> registered_datasets(const chain::Address& owner) {
    return find_events(owner_context(), "Registry", deployment_.registry, "Registered",
                       {std::nullopt, topic_word(owner),
                        topic_word(static_cast<std::uint64_t>(RegistryKind::dataset))});
  }

  static Status publish_mismatched_task() {
    NodeContext& owner = owner_context();
    // A well-formed spec (the strict parser refuses a partial one) whose schema fits nobody.
    CAIRN_TRY_ASSIGN(crypto::PaillierKeyPair keys, crypto::paillier_generate(1024, true));
    learn::InputSpec input{{1, 32, 32}, 3};
    CAIRN_TRY_ASSIGN(learn::Model model, learn::Model::builtin("logreg", input, 3));
    CAIRN_TRY_ASSIGN(
        store::Cid initial_cid,
        put_artifact(owner, learn::encode_parameters(model.parameters(0)), "model v0"));
    const auto packing = learn::PackingParams::for_summands(3);
    const json spec = {{"type", "cairn.task.v1"},
                       {"model", "logreg"},
                       {"initial_parameters", initial_cid.to_string()},
                       {"rounds", 1},
                       {"participants", 3},
                       {"aggregation", "fedavg"},
                       {"privacy", "paillier"},
                       {"paillier_public_key", to_hex(crypto::encode_public_key(keys.public_key))},
                       {"packing",
                        {{"frac_bits", packing.frac_bits},
                         {"value_bits", packing.value_bits},
                         {"headroom_bits", packing.headroom_bits}}},
                       {"schema", {{"format", "idx"}, {"features", {1, 32, 32}}, {"classes", 3}}},
                       {"test_set", {{"rows", 100}, {"sha256", std::string(64, '0')}}},
                       {"training", {{"epochs", 1}, {"lr", 0.05}, {"batch_size", 32}, {"seed", 1}}},
                       {"reward_wei", "1000"},
                       {"reward_rule", kRewardRule},
                       {"round_timeout_s", 60},
                       {"exclude_harmful", false}};
    CAIRN_TRY_ASSIGN(store::Cid spec_cid, put_artifact(owner, canonical_json_bytes(spec), "spec"));
    CAIRN_TRY_ASSIGN(ByteArray<32> digest, cid_commitment(spec_cid));
    CAIRN_TRY_ASSIGN(chain::BlockHeader head, sender_->rpc().block(std::nullopt));
    CAIRN_TRY_ASSIGN(chain::Contract training, tasks());
    CAIRN_TRY_ASSIGN(auto tx,
                     training.transact(owner.signer, "createTask",
                                       {Value(digest), Value::text(spec_cid.to_string()), Value(1),
                                        Value(10), Value(1), Value(head.timestamp + 3600),
                                        Value(owner.signer.address), terms().to_abi()},
                                       chain::U256(1000)));
    CAIRN_TRY_ASSIGN(auto event, training.event_in(tx.receipt, "TaskCreated"));
    CAIRN_TRY_ASSIGN(outcome_->mismatched_task, event.at(0).as_u64());
    return {};
  }

  // No floor and no stake; a round reveals 20 s after it opened when someone (the dropout)
  // never seals (the six trainers step in turn on one thread: a round's updates take
  // seconds to make); claims open at once.
  static TaskTerms terms() {
    TaskTerms terms;
    terms.rule = reward_rule_id();
    terms.commit_window_s = 20;
    terms.report_window_s = 3600;
    terms.challenge_window_s = 0;
    return terms;
  }

  static Status publish_task(std::size_t providers) {
    NodeContext& owner = owner_context();
    CAIRN_TRY_ASSIGN(crypto::PaillierKeyPair keys, crypto::paillier_generate(1024, true));
    outcome_->paillier.emplace(std::move(keys));
    learn::InputSpec input{{1, 28, 28}, 10};
    CAIRN_TRY_ASSIGN(learn::Model model, learn::Model::builtin("logreg", input, 3));
    const learn::ParameterSet initial = model.parameters(0);
    CAIRN_TRY_ASSIGN(store::Cid initial_cid,
                     put_artifact(owner, learn::encode_parameters(initial), "model v0"));
    outcome_->global_models.push_back(initial_cid);
    outcome_->globals.push_back(initial);
    const auto packing = learn::PackingParams::for_summands(providers);
    outcome_->spec = {
        {"type", "cairn.task.v1"},
        {"model", "logreg"},
        {"initial_parameters", initial_cid.to_string()},
        {"rounds", kRounds},
        {"participants", providers},
        {"aggregation", "fedavg"},
        {"privacy", "paillier"},
        {"test_set", {{"rows", 100}, {"sha256", std::string(64, '0')}}},
        {"reward_wei", "1000"},
        {"reward_rule", kRewardRule},
        {"exclude_harmful", false},
        {"round_timeout_s", 60},
        {"paillier_public_key", to_hex(crypto::encode_public_key(outcome_->paillier->public_key))},
        {"packing",
         {{"frac_bits", packing.frac_bits},
          {"value_bits", packing.value_bits},
          {"headroom_bits", packing.headroom_bits}}},
        {"schema", {{"format", "idx"}, {"features", {1, 28, 28}}, {"classes", 10}}},
        // The trainers build the model with this standardisation (the spec's field).
        {"input_standardisation", {{"mean", 0.2860}, {"std", 0.3530}}},
        {"training", {{"epochs", 1}, {"lr", 0.05}, {"batch_size", 32}, {"seed", 11}}}};
    CAIRN_TRY_ASSIGN(store::Cid spec_cid,
                     put_artifact(owner, canonical_json_bytes(outcome_->spec), "spec"));
    CAIRN_TRY_ASSIGN(ByteArray<32> digest, cid_commitment(spec_cid));
    CAIRN_TRY_ASSIGN(chain::BlockHeader head, sender_->rpc().block(std::nullopt));
    CAIRN_TRY_ASSIGN(chain::Contract training, tasks());
    CAIRN_TRY_ASSIGN(auto tx, training.transact(
                                  owner.signer, "createTask",
                                  {Value(digest), Value::text(spec_cid.to_string()), Value(kRounds),
                                   Value(10), Value(providers), Value(head.timestamp + 3600),
                                   Value(owner.signer.address), terms().to_abi()},
                                  chain::U256(1000000000000000000ULL)));
    CAIRN_TRY_ASSIGN(auto event, training.event_in(tx.receipt, "TaskCreated"));
    CAIRN_TRY_ASSIGN(outcome_->task_id, event.at(0).as_u64());
    return {};
  }

  // The owner's side of a round: every committed update that is well-formed for this round
  // is summed; the sum is decrypted and applied; the record names the next global model.
  static Status close_round(std::uint64_t round,
                            const std::vector<std::pair<std::string, std::string>>& providers) {
    NodeContext& owner = owner_context();
    const auto& keys = *outcome_->paillier;
    CAIRN_TRY_ASSIGN(TaskKey key, task_key(outcome_->spec));
    const learn::ParameterSet& global = outcome_->globals.back();
    std::vector<learn::EncryptedVector> included;
    json included_json = json::array(), excluded_json = json::array();
    for (const auto& [name, behaviour] : providers) {
      const chain::Address who = node(name).context.signer.address;
      CAIRN_TRY_ASSIGN(auto cid_text, committed_update_cid(owner, outcome_->task_id, round, who));
      if (!cid_text) continue;
      CAIRN_TRY_ASSIGN(store::Cid cid, store::Cid::parse(*cid_text));
      CAIRN_TRY_ASSIGN(Bytes bytes, fetch_artifact(owner, who, cid, kModelCap));
      if (Status ok = check_update(key, bytes, global.values.size() + 1, round); !ok) {
        excluded_json.push_back({{"participant", who.to_checksum()},
                                 {"cid", *cid_text},
                                 {"reason", ok.error().to_string()}});
        continue;
      }
      CAIRN_TRY_ASSIGN(learn::EncryptedVector update, learn::decode_encrypted_vector(bytes));
      included.push_back(std::move(update));
      included_json.push_back({{"participant", who.to_checksum()}, {"cid", *cid_text}});
    }
    std::vector<const learn::EncryptedVector*> all;
    for (const auto& update : included)
      all.push_back(&update);
    CAIRN_TRY_ASSIGN(learn::EncryptedVector sum, learn::sum_encrypted(keys.public_key, all));
    CAIRN_TRY_ASSIGN(std::vector<double> values, learn::decrypt_vector(keys.private_key, sum));
    const std::size_t n = global.values.size();
    learn::ParameterSet next = global;
    next.model_version = round + 1;
    for (std::size_t i = 0; i < n; ++i)
      next.values[i] += static_cast<float>(values[i] / values[n]);
    CAIRN_TRY_ASSIGN(store::Cid model_cid,
                     put_artifact(owner, learn::encode_parameters(next), "model"));
    // Every field of the model provider's round record (the trainers read it strictly); the
    // test's owner neither seals nor anchors, so those are placeholders of the right shape.
    const json record = {{"type", "cairn.round.v1"},
                         {"task", outcome_->task_id},
                         {"round", round},
                         {"global_model", outcome_->global_models.back().to_string()},
                         {"start_accuracy", 0.0},
                         {"aggregate",
                          {{"posted", nullptr},
                           {"posted_sum", nullptr},
                           {"used", nullptr},
                           {"accepted", false},
                           {"reason", "the test's owner sums the updates itself"}}},
                         {"included", included_json},
                         {"excluded", excluded_json},
                         {"result_model", model_cid.to_string()},
                         {"accuracy", 0.0},
                         {"contributions", nullptr},
                         {"contribution_config", learn::ContributionConfig{}.to_json()},
                         {"signatures", json::object()},
                         {"anchor",
                          {{"publication_time", 1},
                           {"root", "01" + std::string(64, '0')},
                           {"contract", deployment_.registry.to_checksum()},
                           {"signer", owner.signer.address.to_checksum()},
                           {"tx", "0x" + std::string(64, '0')},
                           {"block", 1}}}};
    CAIRN_TRY_ASSIGN(store::Cid record_cid,
                     put_artifact(owner, canonical_json_bytes(record), "record"));
    CAIRN_TRY_ASSIGN(ByteArray<32> digest, cid_commitment(record_cid));
    CAIRN_TRY_ASSIGN(chain::Contract training, tasks());
    chain::abi::ValueList left_out;
    for (const auto& entry : excluded_json)
      left_out.push_back(Value(*chain::Address::parse(entry.at("participant").get<std::string>())));
    CAIRN_TRY(training.transact(owner.signer, "closeRound",
                                {Value(outcome_->task_id), Value(round), Value(digest),
                                 Value::text(record_cid.to_string()), Value(left_out)}));
    outcome_->global_models.push_back(model_cid);
    outcome_->globals.push_back(std::move(next));
    return {};
  }

  // Everyone but the garbage sender (excluded from every round) shares the pool equally.
  static Status report(const std::vector<std::pair<std::string, std::string>>& providers) {
    NodeContext& owner = owner_context();
    const json report = {{"type", "cairn.contributions.v1"}, {"task", outcome_->task_id}};
    CAIRN_TRY_ASSIGN(store::Cid cid, put_artifact(owner, canonical_json_bytes(report), "report"));
    CAIRN_TRY_ASSIGN(ByteArray<32> digest, cid_commitment(cid));
    std::set<chain::Address> contributors;
    for (const auto& [name, behaviour] : providers) {
      if (name != "garbage") contributors.insert(node(name).context.signer.address);
    }
    chain::U256 share(1000000000000000000ULL);
    const std::uint64_t remainder = share.divmod_small(contributors.size());
    chain::abi::ValueList who, amounts;
    for (const auto& address : contributors) {
      who.push_back(Value(address));
      amounts.push_back(Value(amounts.empty() ? share.checked_add(remainder).value() : share));
    }
    CAIRN_TRY_ASSIGN(chain::Contract training, tasks());
    CAIRN_TRY(training.transact(owner.signer, "reportContributions",
                                {Value(outcome_->task_id), Value(digest),
                                 Value::text(cid.to_string()), Value(who), Value(amounts)}));
    return {};
  }

  static Result<std::vector<double>> decrypt_committed(const std::string& name,
                                                       std::uint64_t round) {
    NodeContext& owner = owner_context();
    const chain::Address who = node(name).context.signer.address;
    CAIRN_TRY_ASSIGN(auto cid_text, committed_update_cid(owner, outcome_->task_id, round, who));
    if (!cid_text) return fail(Errc::not_found, name + " committed nothing");
    CAIRN_TRY_ASSIGN(store::Cid cid, store::Cid::parse(*cid_text));
    CAIRN_TRY_ASSIGN(Bytes bytes, fetch_artifact(owner, who, cid, kModelCap));
    CAIRN_TRY_ASSIGN(learn::EncryptedVector update, learn::decode_encrypted_vector(bytes));
    return learn::decrypt_vector(outcome_->paillier->private_key, update);
  }

  static cairn::testing::TempDir* dir_;
  static Outcome* outcome_;
  static std::string* error_;
  static std::unique_ptr<chain::Anvil> anvil_;
  static std::shared_ptr<chain::TransactionSender> sender_;
  static Deployment deployment_;
  static std::unique_ptr<seal::SigningService> signing_;
  static seal::SealServer* seal_server_;
  static std::string seal_url_;
  static std::vector<std::unique_ptr<TestNode>> nodes_;
  static std::map<std::string, learn::Dataset> shards_;
};

cairn::testing::TempDir* TrainerTaskTest::dir_ = nullptr;
Outcome* TrainerTaskTest::outcome_ = nullptr;
std::string* TrainerTaskTest::error_ = nullptr;
std::unique_ptr<chain::Anvil> TrainerTaskTest::anvil_;
std::shared_ptr<chain::TransactionSender> TrainerTaskTest::sender_;
Deployment TrainerTaskTest::deployment_;
std::unique_ptr<seal::SigningService> TrainerTaskTest::signing_;
seal::SealServer* TrainerTaskTest::seal_server_ = nullptr;
std::string TrainerTaskTest::seal_url_;
std::vector<std::unique_ptr<TestNode>> TrainerTaskTest::nodes_;
std::map<std::string, learn::Dataset> TrainerTaskTest::shards_;

TEST_F(TrainerTaskTest, OfferIsSealedRegisteredOnceAndItsShardsAreEncrypted) {
  NodeContext& owner = owner_context();
  for (const std::string name : {"honest", "poison", "delegating"}) {
    TestNode& provider = node(name);
    auto events = registered_datasets(provider.context.signer.address);
    ASSERT_TRUE(events) << events.error().to_string();
    ASSERT_EQ(events->size(), 1u) << name << " registered its offer more than once";
    const std::string cid_text = *(*events)[0].values.at(4).as_string();
    const store::Cid cid = *store::Cid::parse(cid_text);
    auto bytes = fetch_artifact(owner, provider.context.signer.address, cid, kDocumentCap);
    ASSERT_TRUE(bytes) << bytes.error().to_string();
    const json manifest = parse(*bytes);
    EXPECT_EQ(manifest["type"], "cairn.dataset.v1");
    EXPECT_EQ(manifest["owner"], provider.context.signer.address.to_checksum());
    EXPECT_EQ(manifest["schema"],
              (json{{"format", "idx"}, {"features", {1, 28, 28}}, {"classes", 10}}));
    EXPECT_EQ(manifest["shards"][0]["rows"], kRows);
    EXPECT_EQ(manifest["quality"]["rows"], kRows);
    EXPECT_EQ(manifest["price_wei"], "0");
    // The shard the gateway serves is ciphertext; the key in the node's state opens it.
    const store::Cid images_cid =
        *store::Cid::parse(manifest["shards"][0]["images"].get<std::string>());
    auto sealed = fetch_artifact(owner, provider.context.signer.address, images_cid, kShardCap);
    ASSERT_TRUE(sealed);
    const Bytes plain = cairn::testing::read_file(dir_->path() / (name + "-images.idx"));
    EXPECT_NE(*sealed, plain);
    const Bytes key_bytes =
        cairn::testing::read_file(provider.context.state_dir / "data_provider/shard.key");
    ASSERT_EQ(key_bytes.size(), 32u);
    ByteArray<32> key{};
    std::copy(key_bytes.begin(), key_bytes.end(), key.begin());
    auto opened = crypto::aead_open(
        key, *sealed, as_bytes(shard_binding(provider.context.signer.address, "images")));
    ASSERT_TRUE(opened) << opened.error().to_string();
    EXPECT_EQ(*opened, plain);
    // The keyless signature over the manifest, kept in the provider's store.
    const json status = provider.role->status();
    const store::Cid signature_cid =
        *store::Cid::parse(status["offer"]["signature"].get<std::string>());
    auto signature_bytes = read_artifact(provider.context, signature_cid, kDocumentCap);
    ASSERT_TRUE(signature_bytes);
    auto signature = seal::Signature::parse(*signature_bytes);
    ASSERT_TRUE(signature) << signature.error().to_string();
    EXPECT_EQ(signature->document_hash().hex(), cid_imprint(cid)->hex());
    EXPECT_EQ(status["offer"]["manifest"], cid_text);
  }
}

TEST_F(TrainerTaskTest, AStrangersEntryForTheOwnersGatewayUrlLocksNobodyOut) {
  NodeContext& owner = owner_context();
  auto registry = registry_contract(owner);
  ASSERT_TRUE(registry);
  const auto digest = crypto::sha256(as_bytes(owner.gateway_url));
  auto squat = registry_entry_of(*registry, stranger().address, RegistryKind::endpoint, digest);
  ASSERT_TRUE(squat) << squat.error().to_string();
  EXPECT_NE(*squat, 0u) << "the stranger's entry is there";
  auto own = registry_entry_of(*registry, owner.signer.address, RegistryKind::endpoint, digest);
  ASSERT_TRUE(own) << own.error().to_string();
  EXPECT_NE(*own, 0u);
  EXPECT_NE(*own, *squat);
  auto gateway = gateway_of(owner, owner.signer.address);
  ASSERT_TRUE(gateway) << gateway.error().to_string();
  EXPECT_EQ(*gateway, owner.gateway_url);
}

TEST_F(TrainerTaskTest, ARestartedProviderResumesAndNeverSubmitsTwice) {
  EXPECT_GE(outcome_->restarts, 5u);  // offer, join, two updates, claim at least
  NodeContext& owner = owner_context();
  const chain::Address who = node("honest").context.signer.address;
  for (std::uint64_t round = 0; round < kRounds; ++round) {
    auto events = find_events(owner, "TrainingTask", deployment_.training_task, "UpdateCommitted",
                              {topic_word(outcome_->task_id), topic_word(round), topic_word(who)});
    ASSERT_TRUE(events);
    EXPECT_EQ(events->size(), 1u) << "round " << round;
    auto values = decrypt_committed("honest", round);
    ASSERT_TRUE(values) << values.error().to_string();
    EXPECT_NEAR(values->back(), 1.0 / 6.0, 1e-6);  // its weight rides as the last value
  }
  auto joined = find_events(owner, "TrainingTask", deployment_.training_task, "ParticipantJoined",
                            {topic_word(outcome_->task_id), topic_word(who)});
  ASSERT_TRUE(joined);
  EXPECT_EQ(joined->size(), 1u);
  auto datasets = registered_datasets(who);
  ASSERT_TRUE(datasets);
  EXPECT_EQ(datasets->size(), 1u);
  auto claimed = find_events(owner, "TrainingTask", deployment_.training_task, "RewardClaimed",
                             {topic_word(outcome_->task_id), topic_word(who)});
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->size(), 1u);
  EXPECT_TRUE(node("honest").role->finished());
  // Its node's metrics outlive the role objects: two updates, not more.
  EXPECT_EQ(node("honest").metrics.snapshot()["updates_submitted_total"], 2.0);
  EXPECT_GT(node("honest").metrics.snapshot()["training_seconds_total"], 0.0);
}

TEST_F(TrainerTaskTest, ATaskWhoseSchemaDoesNotFitIsNotJoined) {
  auto joined = find_events(owner_context(), "TrainingTask", deployment_.training_task,
                            "ParticipantJoined", {topic_word(outcome_->mismatched_task)});
  ASSERT_TRUE(joined);
  EXPECT_TRUE(joined->empty());
  EXPECT_NE(outcome_->mismatched_task, outcome_->task_id);
}

TEST_F(TrainerTaskTest, AnHonestUpdateIsTheWeightedDeltaOfLocalTraining) {
  // The owner, knowing the seed rule and holding the shard in this test, recomputes it.
  const chain::Address who = node("honest").context.signer.address;
  for (std::uint64_t round = 0; round < kRounds; ++round) {
    auto expected = weighted_delta(outcome_->spec, outcome_->globals[round], shards_["honest"],
                                   round, who, 1.0 / 6.0);
    ASSERT_TRUE(expected) << expected.error().to_string();
    auto got = decrypt_committed("honest", round);
    ASSERT_TRUE(got);
    ASSERT_EQ(got->size(), expected->size());
    double max_error = 0, norm = 0;
    for (std::size_t i = 0; i < got->size(); ++i) {
      max_error = std::max(max_error, std::abs((*got)[i] - (*expected)[i]));
      norm = std::max(norm, std::abs((*expected)[i]));
    }
    EXPECT_GT(norm, 1e-4);
    EXPECT_LT(max_error, 1e-6 + norm * 1e-3) << "round " << round;
  }
}

TEST_F(TrainerTaskTest, PoisonScalesItsDelta) {
  const chain::Address who = node("poison").context.signer.address;
  auto key = task_key(outcome_->spec);
  ASSERT_TRUE(key);
  for (std::uint64_t round = 0; round < kRounds; ++round) {
    auto honest = weighted_delta(outcome_->spec, outcome_->globals[round], shards_["poison"], round,
                                 who, 1.0 / 6.0);
    ASSERT_TRUE(honest);
    auto got = decrypt_committed("poison", round);
    ASSERT_TRUE(got);
    ASSERT_EQ(got->size(), honest->size());
    EXPECT_NEAR(got->back(), 1.0 / 6.0, 1e-6);  // the weight is not scaled
    double max_error = 0, norm = 0;
    for (std::size_t i = 0; i + 1 < got->size(); ++i) {
      const double expected = std::clamp((*honest)[i] * kPoisonScale, -key->packing.max_magnitude(),
                                         key->packing.max_magnitude());
      max_error = std::max(max_error, std::abs((*got)[i] - expected));
      norm = std::max(norm, std::abs(expected));
    }
    EXPECT_LT(max_error, 1e-6 + norm * 1e-3) << "round " << round;
  }
}

TEST_F(TrainerTaskTest, GarbageIsCommittedAndDoesNotDecode) {
  NodeContext& owner = owner_context();
  const chain::Address who = node("garbage").context.signer.address;
  for (std::uint64_t round = 0; round < kRounds; ++round) {
    auto cid_text = committed_update_cid(owner, outcome_->task_id, round, who);
    ASSERT_TRUE(cid_text && *cid_text);
    auto bytes = fetch_artifact(owner, who, *store::Cid::parse(**cid_text), kModelCap);
    ASSERT_TRUE(bytes);
    EXPECT_FALSE(learn::decode_encrypted_vector(*bytes));
  }
  // Owed nothing: finished without a claim.
  EXPECT_TRUE(node("garbage").role->finished());
  EXPECT_EQ(node("garbage").role->status()["tasks"][0]["outcome"], "nothing owed");
}

TEST_F(TrainerTaskTest, ReplayRecommitsItsFirstUpdate) {
  NodeContext& owner = owner_context();
  const chain::Address who = node("replay").context.signer.address;
  auto first = committed_update_cid(owner, outcome_->task_id, 0, who);
  auto second = committed_update_cid(owner, outcome_->task_id, 1, who);
  ASSERT_TRUE(first && *first && second && *second);
  EXPECT_EQ(**first, **second);
  // Its round tag gives it away.
  auto key = task_key(outcome_->spec);
  auto bytes = fetch_artifact(owner, who, *store::Cid::parse(**second), kModelCap);
  ASSERT_TRUE(key && bytes);
  const auto checked = check_update(*key, *bytes, outcome_->globals[0].values.size() + 1, 1);
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().message.find("round 0"), std::string::npos);
}

TEST_F(TrainerTaskTest, DropoutStopsSubmittingFromItsRound) {
  NodeContext& owner = owner_context();
  const chain::Address who = node("dropout").context.signer.address;
  auto first = update_commitment(owner, outcome_->task_id, 0, who);
  auto second = update_commitment(owner, outcome_->task_id, 1, who);
  ASSERT_TRUE(first && second);
  EXPECT_NE(*first, ByteArray<32>{});
  EXPECT_EQ(*second, ByteArray<32>{});
  EXPECT_TRUE(node("dropout").role->finished());  // and still claimed what it was owed
  EXPECT_EQ(node("dropout").role->status()["tasks"][0]["outcome"], "claimed");
}

TEST_F(TrainerTaskTest, DelegationTrainsElsewhereCommitsAsTheProviderAndPaysTheComputeProvider) {
  NodeContext& owner = owner_context();
  TestNode& provider = node("delegating");
  TestNode& compute = node("compute");
  const chain::Address dp = provider.context.signer.address;
  const chain::Address cp = compute.context.signer.address;
  // The deal: the data provider escrowed the compute price for the compute provider.
  auto opened = find_events(owner, "DataTransfer", deployment_.data_transfer, "DealInitiated",
                            {std::nullopt, topic_word(dp), topic_word(cp)});
  ASSERT_TRUE(opened);
  ASSERT_EQ(opened->size(), 1u);
  const std::uint64_t deal_id = *(*opened)[0].values.at(0).as_u64();
  EXPECT_EQ(*(*opened)[0].values.at(5).as_uint(), chain::U256(5000));
  // The shard key went over only wrapped to the compute provider's X25519 key.
  const ByteArray<32> wrapped_digest = *(*opened)[0].values.at(4).as_bytes32();
  auto wrapped = fetch_artifact(owner, dp, raw_cid_of_digest(wrapped_digest), kDocumentCap);
  ASSERT_TRUE(wrapped) << wrapped.error().to_string();
  const Bytes shard_key =
      cairn::testing::read_file(provider.context.state_dir / "data_provider/shard.key");
  const Bytes secret =
      cairn::testing::read_file(compute.context.state_dir / "compute_provider/x25519.key");
  ByteArray<32> secret_key{};
  std::copy(secret.begin(), secret.end(), secret_key.begin());
  auto unwrapped = crypto::unwrap_key(crypto::x25519_from_secret(secret_key), *wrapped);
  ASSERT_TRUE(unwrapped);
  EXPECT_EQ(*unwrapped, shard_key);
  EXPECT_EQ(std::search(wrapped->begin(), wrapped->end(), shard_key.begin(), shard_key.end()),
            wrapped->end());
  // The manifest names the compute provider and the deal.
  auto offer_events = registered_datasets(dp);
  ASSERT_TRUE(offer_events && offer_events->size() == 1);
  const store::Cid manifest_cid = *store::Cid::parse(*(*offer_events)[0].values.at(4).as_string());
  const json manifest = parse(*fetch_artifact(owner, dp, manifest_cid, kDocumentCap));
  EXPECT_EQ(manifest["compute"]["provider"], cp.to_checksum());
  EXPECT_EQ(manifest["compute"]["deal"], std::to_string(deal_id));
  // Every round's update was made by the compute provider and committed by the data
  // provider under its own account.
  auto offer = current_compute_offer(owner, cp);
  ASSERT_TRUE(offer && *offer);
  for (std::uint64_t round = 0; round < kRounds; ++round) {
    const auto delivered = delivered_update(**offer, deal_id, outcome_->task_id, round);
    ASSERT_TRUE(delivered) << "round " << round;
    auto committed = committed_update_cid(owner, outcome_->task_id, round, dp);
    ASSERT_TRUE(committed && *committed);
    EXPECT_EQ(**committed, *delivered);
    auto values = decrypt_committed("delegating", round);
    ASSERT_TRUE(values);
    EXPECT_NEAR(values->back(), 1.0 / 6.0, 1e-6);
    auto expected = weighted_delta(outcome_->spec, outcome_->globals[round], shards_["delegating"],
                                   round, dp, 1.0 / 6.0);
    ASSERT_TRUE(expected);
    double max_error = 0, norm = 0;
    for (std::size_t i = 0; i < values->size(); ++i) {
      max_error = std::max(max_error, std::abs((*values)[i] - (*expected)[i]));
      norm = std::max(norm, std::abs((*expected)[i]));
    }
    EXPECT_LT(max_error, 1e-6 + norm * 1e-3);
  }
  // The compute provider recorded its delivery; the data provider confirmed; the compute
  // provider was paid the escrow and the deal is closed.
  auto provided = find_events(owner, "DataTransfer", deployment_.data_transfer, "DataProvided",
                              {topic_word(deal_id)});
  ASSERT_TRUE(provided);
  EXPECT_EQ(provided->size(), 1u);
  auto settled = find_events(owner, "DataTransfer", deployment_.data_transfer, "DealSettled",
                             {topic_word(deal_id), topic_word(cp)});
  ASSERT_TRUE(settled);
  ASSERT_EQ(settled->size(), 1u);
  EXPECT_EQ(*(*settled)[0].values.at(2).as_uint(), chain::U256(5000));
  EXPECT_FALSE(*(*settled)[0].values.at(3).as_bool());
  auto transfer = chain::DataTransfer::at(sender_, deployment_.data_transfer);
  ASSERT_TRUE(transfer);
  EXPECT_FALSE(transfer->deal(deal_id)->exists());
  // The data provider, not the compute provider, is the participant that was rewarded.
  auto claimed = find_events(owner, "TrainingTask", deployment_.training_task, "RewardClaimed",
                             {topic_word(outcome_->task_id), topic_word(dp)});
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->size(), 1u);
  EXPECT_TRUE(compute.role->finished());
  EXPECT_TRUE(provider.role->finished());
  // The compute provider was rebuilt after each of its steps and delivered each round once.
  EXPECT_GE(outcome_->compute_restarts, 4u);  // offer, two deliveries, provideData
  EXPECT_EQ((*offer)->document["deliveries"].size(), kRounds);
}

TEST_F(TrainerTaskTest, ARestartWithChangedDataFilesIsRefused) {
  TestNode& provider = node("poison");
  const fs::path images = dir_->path() / "poison-images.idx";
  const Bytes original = cairn::testing::read_file(images);
  Bytes changed = original;
  changed.back() ^= std::byte{1};
  cairn::testing::write_file(images, changed);
  auto role = make_data_provider(provider.role_config, provider.context);
  ASSERT_TRUE(role);
  auto stepped = (*role)->step();
  cairn::testing::write_file(images, original);
  ASSERT_FALSE(stepped);
  EXPECT_NE(stepped.error().message.find("changed since offer"), std::string::npos)
      << stepped.error().to_string();
  // With the files as they were, the rebuilt role finds its task done.
  auto again = make_data_provider(provider.role_config, provider.context);
  ASSERT_TRUE(again);
  for (int i = 0; i < 3; ++i) {
    auto step = (*again)->step();
    ASSERT_TRUE(step) << step.error().to_string();
  }
  EXPECT_TRUE((*again)->finished());
}

TEST(DataProviderBehaviourTest, ParsesEveryBehaviourAndRejectsOthers) {
  EXPECT_EQ(DataProviderBehaviour::parse("honest")->kind, DataProviderBehaviour::Kind::honest);
  auto poison = DataProviderBehaviour::parse("poison:scale:2.5");
  ASSERT_TRUE(poison);
  EXPECT_EQ(poison->kind, DataProviderBehaviour::Kind::poison);
  EXPECT_DOUBLE_EQ(poison->scale, 2.5);
  auto dropout = DataProviderBehaviour::parse("dropout:3");
  ASSERT_TRUE(dropout);
  EXPECT_EQ(dropout->from_round, 3u);
  EXPECT_EQ(DataProviderBehaviour::parse("garbage")->kind, DataProviderBehaviour::Kind::garbage);
  EXPECT_EQ(DataProviderBehaviour::parse("replay")->kind, DataProviderBehaviour::Kind::replay);
  for (const char* bad : {"poison", "poison:scale:", "poison:scale:x", "dropout:", "dropout:-1",
                          "dropout:2x", "lazy", "poison:scale:nan"}) {
    EXPECT_FALSE(DataProviderBehaviour::parse(bad)) << bad;
  }
}

TEST(DataProviderConfigTest, RejectsMissingPathsBadPriceAndBadAddress) {
  NodeContext context;
  EXPECT_FALSE(make_data_provider(json{{"labels", "x"}}, context));
  EXPECT_FALSE(
      make_data_provider(json{{"images", "x"}, {"labels", "y"}, {"price_wei", 5}}, context));
  EXPECT_FALSE(make_data_provider(json{{"images", "x"}, {"labels", "y"}, {"delegate_to", "0x1234"}},
                                  context));
  EXPECT_FALSE(make_data_provider(json{{"images", "x"}, {"labels", "y"}}, context));  // no store
  EXPECT_FALSE(make_compute_provider(json{{"price_wei", "0"}}, context));
  EXPECT_FALSE(make_compute_provider(json::array(), context));
  // The stake a node is willing to pay is wei, as a decimal string, named in the error.
  for (const json& stake : {json("-1"), json("1ether"), json(5)}) {
    auto refused = make_data_provider(
        json{{"images", "x"}, {"labels", "y"}, {"max_stake_wei", stake}}, context);
    ASSERT_FALSE(refused) << stake.dump();
    EXPECT_NE(refused.error().message.find("max_stake_wei"), std::string::npos)
        << refused.error().message;
  }
}

TEST(DataProviderConfigTest, AShardMissingTheHighestLabelsFitsATaskWithMoreClasses) {
  const json task = {{"format", "idx"}, {"features", {1, 28, 28}}, {"classes", 10}};
  EXPECT_TRUE(schema_fits({{"format", "idx"}, {"features", {1, 28, 28}}, {"classes", 9}}, task));
  EXPECT_TRUE(schema_fits({{"format", "idx"}, {"features", {1, 28, 28}}, {"classes", 10}}, task));
  EXPECT_FALSE(schema_fits({{"format", "idx"}, {"features", {1, 28, 28}}, {"classes", 11}}, task));
  EXPECT_FALSE(schema_fits({{"format", "idx"}, {"features", {1, 32, 32}}, {"classes", 10}}, task));
  EXPECT_FALSE(schema_fits({{"format", "idx"}, {"features", {1, 28, 28}}}, task));
}

}  // namespace
}  // namespace cairn::market

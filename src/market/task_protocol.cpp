#include "market/task_protocol.hpp"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "base/file.hpp"
#include "base/json.hpp"
#include "chain/contract.hpp"
#include "learn/dataset.hpp"
#include "learn/partition.hpp"
#include "market/anchor_chain.hpp"
#include "market/directory.hpp"
#include "market/protocol.hpp"
#include "net/url.hpp"
#include "seal/http/server.hpp"
#include "seal/keys.hpp"
#include "seal/service.hpp"
#include "store/gateway.hpp"
#include "store/repo.hpp"

namespace cairn::market {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// One organisation: its store behind its gateway, its account, its role on its thread.
struct Party {
  std::string name;
  std::string kind;
  json role_config;
  std::unique_ptr<store::Repo> repo;
  std::unique_ptr<store::Gateway> gateway;
  Metrics metrics;
  NodeContext context;
  std::unique_ptr<Role> role;
  std::thread thread;
  std::atomic<bool> done{false};
  std::atomic<bool> restart{false};
  std::mutex errors_mutex;
  std::vector<std::string> errors;

  ~Party() {
    if (thread.joinable()) thread.join();
    role.reset();
    if (gateway) gateway->stop();
  }
};

class TaskDriver {
 public:
  explicit TaskDriver(const TaskConfig& config) : config_(config) {}

  ~TaskDriver() { stop_threads(); }

  Result<TaskOutcome> run() {
    CAIRN_TRY(start_chain());
    CAIRN_TRY(start_signing_service());
    CAIRN_TRY(prepare_data());
    CAIRN_TRY(open_parties());
    CAIRN_TRY(drive());
    CAIRN_TRY(collect());
    return std::move(outcome_);
  }

 private:
  void say(const std::string& line) {
    std::lock_guard lock(say_mutex_);
    if (config_.progress) config_.progress(line);
  }

  Status start_chain() {
    if (config_.rpc_url) {
      outcome_.rpc_url = *config_.rpc_url;
    } else {
      CAIRN_TRY_ASSIGN(outcome_.anvil, chain::Anvil::start());
      outcome_.rpc_url = outcome_.anvil->url();
    }
    CAIRN_TRY_ASSIGN(sender_, new_sender(std::nullopt));
    CAIRN_TRY_ASSIGN(chain::BlockHeader head, sender_->rpc().block(std::nullopt));
    Deployment& deployment = outcome_.deployment;
    deployment.chain_id = sender_->chain_id();
    deployment.start_block = head.number;
    const chain::Signer deployer = chain::Signer::from_key(chain::dev_account_key(0));
    CAIRN_TRY_ASSIGN(auto registry, chain::Contract::deploy(sender_, deployer, "Registry"));
    CAIRN_TRY_ASSIGN(auto tasks, chain::Contract::deploy(sender_, deployer, "TrainingTask"));
    deployment.registry = registry.address();
    deployment.training_task = tasks.address();
    // The signing service's operator anchors its calendar publications with its account.
    CAIRN_TRY_ASSIGN(anchor_, ChainAnchor::deploy(sender_, account(seal_operator_index())));
    deployment.anchor = anchor_->address();
    say(fmt::format("chain {} (id {}): Registry {}, TrainingTask {}, Anchor {}",
                    net::redact_url(outcome_.rpc_url), deployment.chain_id,
                    deployment.registry.to_checksum(), deployment.training_task.to_checksum(),
                    deployment.anchor.to_checksum()));
    return {};
  }

  Result<std::shared_ptr<chain::TransactionSender>> new_sender(
      std::optional<fs::path> journal_dir) {
    CAIRN_TRY_ASSIGN(chain::RpcClient rpc, chain::RpcClient::create(outcome_.rpc_url));
    chain::SenderOptions options;
    options.poll_interval = std::chrono::milliseconds(20);
    options.journal_dir = std::move(journal_dir);
    return chain::TransactionSender::create(rpc, options);
  }

  // Accounts: 0 the model provider, 1..n the data providers, then the aggregator, the
  // signing service's operator and the auditor.
  std::size_t aggregator_index() const { return config_.providers + 1; }
  std::size_t seal_operator_index() const { return config_.providers + 2; }
  std::size_t auditor_index() const { return config_.providers + 3; }
  static chain::Signer account(std::size_t index) {
    return chain::Signer::from_key(chain::dev_account_key(index));
  }

  Status start_signing_service() {
    CAIRN_TRY_ASSIGN(seal::ServiceKeys keys, seal::ServiceKeys::generate());
    seal::ServiceOptions options;
    options.round = std::chrono::milliseconds(100);
    CAIRN_TRY_ASSIGN(signing_, seal::SigningService::in_memory(options, std::move(keys)));
    signing_->set_anchor(anchor_.get());
    seal_server_ = std::make_unique<seal::SealServer>(*signing_, 16);
    CAIRN_TRY(seal_server_->start("127.0.0.1", 0));
    seal_url_ = fmt::format("http://127.0.0.1:{}", seal_server_->port());
    say("signing service " + seal_url_);
    TrustRoot& trust = outcome_.trust;
    trust = trust_root_for(outcome_.deployment);
    trust.calendar_certificates = {signing_->keys().calendar_cert_der};
    trust.anchor_signers = {account(seal_operator_index()).address};
    // As a node serving a signing service does: the key in the Registry, under the account
    // that anchors.
    CAIRN_TRY_ASSIGN(chain::Contract registry,
                     chain::Contract::at(sender_, "Registry", outcome_.deployment.registry));
    CAIRN_TRY(announce_calendar_key(registry, account(seal_operator_index()),
                                    signing_->keys().calendar_cert_der));
    return {};
  }

  // The data providers' shards and the model provider's test set as IDX files in their
  // own directories: what each organisation holds before the task.
  Status prepare_data() {
    if (config_.providers < 2 || config_.providers + 4 > chain::kDevAccountCount) {
      return fail(Errc::invalid_argument,
                  fmt::format("between 2 and {} data providers", chain::kDevAccountCount - 4));
    }
    CAIRN_TRY_ASSIGN(learn::TrainTest data, learn::load_fashion_mnist(config_.fashion_mnist_dir));
    const std::size_t rows = config_.providers * config_.rows_per_provider;
    if (rows > data.train.rows() || config_.test_rows > data.test.rows()) {
      return fail(Errc::invalid_argument, "not that many Fashion-MNIST rows");
    }
    learn::Dataset pool = data.train.head(rows);
    CAIRN_TRY_ASSIGN(learn::PartitionSpec spec, learn::parse_partition(config_.partition));
    CAIRN_TRY_ASSIGN(auto parts, learn::partition_rows(pool.labels, pool.num_classes,
                                                       config_.providers, spec, config_.seed));
    fs::create_directories(config_.work_dir);
    for (std::size_t k = 0; k < config_.providers; ++k) {
      const fs::path dir = files_dir(provider_name(k));
      const learn::Dataset shard = pool.subset(parts[k]);
      CAIRN_TRY_ASSIGN(Bytes images, learn::encode_idx_images(shard));
      CAIRN_TRY_ASSIGN(Bytes labels, learn::encode_idx_labels(shard));
      CAIRN_TRY(write_file(dir / "images.idx", images));
      CAIRN_TRY(write_file(dir / "labels.idx", labels));
      say(fmt::format("{} holds {} rows", provider_name(k), shard.rows()));
    }
    const learn::Dataset test = data.test.head(config_.test_rows);
    CAIRN_TRY_ASSIGN(Bytes images, learn::encode_idx_images(test));
    CAIRN_TRY_ASSIGN(Bytes labels, learn::encode_idx_labels(test));
    CAIRN_TRY(write_file(files_dir("model-provider") / "test-images.idx", images));
    CAIRN_TRY(write_file(files_dir("model-provider") / "test-labels.idx", labels));
    return {};
  }

  static std::string provider_name(std::size_t k) { return fmt::format("data-provider-{}", k + 1); }
  // A party's own files beside its store (a store's directory holds only the store).
  fs::path files_dir(const std::string& party) const { return config_.work_dir / "files" / party; }

  static Status write_file(const fs::path& path, ByteView bytes) {
    return file::write_atomic(path, bytes);
  }

  Status open_party(const std::string& name, const std::string& kind, std::size_t account_index,
                    json role_config) {
    auto party = std::make_unique<Party>();
    party->name = name;
    party->kind = kind;
    party->role_config = std::move(role_config);
    const fs::path dir = config_.work_dir / name;
    CAIRN_TRY_ASSIGN(party->repo, store::Repo::open(dir, store::RepoAccess::write));
    party->gateway =
        std::make_unique<store::Gateway>(party->repo->blocks(), store::GatewayOptions{});
    if (Status started = party->gateway->start(); !started) {
      return std::unexpected(std::move(started).error().context("starting " + name + "'s gateway"));
    }
    const fs::path state = files_dir(name) / "state";
    CAIRN_TRY(file::create_directories(state / "journal", 0700));
    NodeContext& context = party->context;
    context.name = name;
    context.repo = party->repo.get();
    context.gateway_url = party->gateway->url();
    context.signer = account(account_index);
    CAIRN_TRY_ASSIGN(context.sender, new_sender(state / "journal"));
    context.deployment = outcome_.deployment;
    context.seal_url = seal_url_;
    context.state_dir = state;
    Party* self = party.get();
    context.log = [this, self](const std::string& line) { say(self->name + ": " + line); };
    context.metrics = &party->metrics;
    context.stopping = &stopping_;
    CAIRN_TRY_ASSIGN(party->role, make_role(kind, party->role_config, context));
    parties_.push_back(std::move(party));
    return {};
  }

  Status open_parties() {
    const fs::path mp = files_dir("model-provider");
    json model_provider = {{"model", config_.model},
                           {"rounds", config_.rounds},
                           {"participants", config_.providers},
                           {"reward_wei", config_.reward.to_decimal()},
                           {"test_images", (mp / "test-images.idx").string()},
                           {"test_labels", (mp / "test-labels.idx").string()},
                           {"test_rows", config_.test_rows},
                           {"lr", config_.learning_rate},
                           {"epochs", config_.local_epochs},
                           {"batch_size", 64},
                           {"paillier_bits", config_.paillier_bits},
                           {"insecure_test_key", config_.insecure_test_key},
                           {"round_timeout_s", config_.round_timeout_s},
                           {"challenge_window_s", config_.challenge_window_s},
                           {"behaviour", config_.model_provider_behaviour},
                           {"exclude_harmful", config_.exclude_harmful},
                           {"out", (mp / "out").string()},  // model, passport, plot
                           {"aggregator", account(aggregator_index()).address.to_checksum()},
                           {"seed", config_.seed},
                           {"binary", config_.binary.string()}};
    if (config_.commit_window_s) model_provider["commit_window_s"] = *config_.commit_window_s;
    CAIRN_TRY(open_party("model-provider", "model_provider", 0, model_provider));
    for (std::size_t k = 0; k < config_.providers; ++k) {
      const fs::path data = files_dir(provider_name(k));
      json provider = {
          {"images", (data / "images.idx").string()},
          {"labels", (data / "labels.idx").string()},
          {"dataset", "fashion-mnist"},
          {"price_wei", "0"},
          {"behaviour", k < config_.behaviours.size() ? config_.behaviours[k] : "honest"}};
      CAIRN_TRY(open_party(provider_name(k), "data_provider", k + 1, provider));
    }
    CAIRN_TRY(open_party("aggregator", "aggregator", aggregator_index(),
                         {{"behaviour", config_.aggregator_behaviour}}));
    CAIRN_TRY(open_party("auditor", "auditor", auditor_index(),
                         {{"out", (files_dir("auditor") / "audit").string()}}));
    return {};
  }

  // Steps the party's role until it is finished or the run stops; errors are logged and
  // retried, as the node daemon does.
  void loop(Party& party) {
    using namespace std::chrono_literals;
    while (!stopping_.load()) {
      if (party.restart.exchange(false)) {
        party.role.reset();
        auto role = make_role(party.kind, party.role_config, party.context);
        if (!role) {
          record_error(party, "restart: " + role.error().to_string());
          std::this_thread::sleep_for(200ms);
          continue;
        }
        party.role = std::move(*role);
        ++outcome_.model_provider_restarts;
        say(party.name + ": role destroyed and made again from its store and state");
      }
      auto did = party.role->step();
      if (!did) {
        record_error(party, did.error().to_string());
        std::this_thread::sleep_for(200ms);
        continue;
      }
      if (party.role->finished()) break;
      if (!*did) std::this_thread::sleep_for(100ms);
    }
    party.done = true;
  }

  void record_error(Party& party, const std::string& message) {
    {
      std::lock_guard lock(party.errors_mutex);
      party.errors.push_back(message);
    }
    say(party.name + ": step failed (retrying): " + message);
  }

  Party& party(const std::string& name) {
    for (auto& candidate : parties_) {
      if (candidate->name == name) return *candidate;
    }
    std::abort();  // names are the driver's own
  }

  Status drive() {
    for (auto& p : parties_) {
      Party* raw = p.get();
      raw->thread = std::thread([this, raw] { loop(*raw); });
    }
    const auto deadline = std::chrono::steady_clock::now() + config_.time_limit;
    Party& model_provider = party("model-provider");
    Party& auditor = party("auditor");
    bool restarted = false;
    std::optional<std::chrono::steady_clock::time_point> grace;
    while (true) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (config_.restart_model_provider_after_round && !restarted) {
        if (auto round = closed_rounds();
            round && *round > *config_.restart_model_provider_after_round) {
          model_provider.restart = true;
          restarted = true;
        }
      }
      if (model_provider.done && auditor.done) {
        // The data providers claim their rewards once reported: a little time for that.
        if (!grace) grace = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        bool all = true;
        for (const auto& p : parties_)
          all = all && (p->done || p->kind == "aggregator");
        if (all || std::chrono::steady_clock::now() > *grace) break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        stop_threads();
        return fail(Errc::unavailable,
                    fmt::format("the task did not finish within {} s; last model "
                                "provider error: {}",
                                config_.time_limit.count(), last_error(model_provider)));
      }
    }
    stop_threads();
    return {};
  }

  // Read with the driver's own connection (the parties' are their threads').
  std::optional<std::uint64_t> closed_rounds() {
    if (!reader_.sender) {
      auto sender = new_sender(std::nullopt);
      if (!sender) return std::nullopt;
      reader_.sender = std::move(*sender);
      reader_.deployment = outcome_.deployment;
    }
    auto tasks = all_tasks(reader_);
    if (!tasks || tasks->empty()) return std::nullopt;
    return tasks->back().current_round;
  }

  static std::string last_error(Party& p) {
    std::lock_guard lock(p.errors_mutex);
    return p.errors.empty() ? "none" : p.errors.back();
  }

  void stop_threads() {
    stopping_ = true;
    for (auto& p : parties_) {
      if (p->thread.joinable()) p->thread.join();
    }
  }

  Status collect() {
    for (auto& p : parties_) {
      std::lock_guard lock(p->errors_mutex);
      if (!p->errors.empty()) outcome_.step_errors[p->name] = p->errors;
    }
    const fs::path out = files_dir("model-provider") / "out";
    outcome_.model_path = out / "model.pt";
    outcome_.passport_path = out / "passport.json";
    outcome_.accuracy_svg_path = out / "accuracy.svg";
    outcome_.auditor_repo = config_.work_dir / "auditor";
    CAIRN_TRY_ASSIGN(const Bytes text, file::read(outcome_.passport_path, kPassportCap));
    CAIRN_TRY_ASSIGN(outcome_.passport, parse_passport(text));
    for (const auto& round : outcome_.passport.body.rounds)
      outcome_.accuracy.push_back(round.accuracy);
    if (!outcome_.passport.body.rounds.empty()) {
      outcome_.initial_accuracy =
          outcome_.passport.body.rounds.front().record.value("start_accuracy", 0.0);
    }
    const auto tasks = outcome_.passport.body.task.task_id;
    outcome_.audit_dir = files_dir("auditor") / "audit" / fmt::format("task-{}", tasks);
    const auto verify_file = outcome_.audit_dir / "verify.json";
    CAIRN_TRY_ASSIGN(const Bytes verify_text, file::read(verify_file, file::kSmallFileCap));
    CAIRN_TRY_ASSIGN(const json report, parse_json(verify_text, verify_file.string()));
    outcome_.audit_ok = report.is_object() && report.value("ok", false);
    // The stores close here so that the caller (and `cairn --repo`) can open them.
    parties_.clear();
    seal_server_->stop();
    say(fmt::format("task {} done: final accuracy {:.4f}; the auditor's verification {}", tasks,
                    outcome_.accuracy.empty() ? 0.0 : outcome_.accuracy.back(),
                    outcome_.audit_ok ? "holds" : "FAILED"));
    return {};
  }

  const TaskConfig& config_;
  TaskOutcome outcome_;
  std::mutex say_mutex_;
  std::atomic<bool> stopping_{false};
  std::shared_ptr<chain::TransactionSender> sender_;
  std::unique_ptr<ChainAnchor> anchor_;
  std::unique_ptr<seal::SigningService> signing_;
  std::unique_ptr<seal::SealServer> seal_server_;
  std::string seal_url_;
  NodeContext reader_;
  std::vector<std::unique_ptr<Party>> parties_;
};

}  // namespace

Result<TaskOutcome> run_training_task(const TaskConfig& config) {
  if (config.work_dir.empty()) return fail(Errc::invalid_argument, "no work directory given");
  if (config.rounds == 0 || config.rounds > 255) {
    return fail(Errc::invalid_argument, "rounds must be between 1 and 255");
  }
  return TaskDriver(config).run();
}

}  // namespace cairn::market

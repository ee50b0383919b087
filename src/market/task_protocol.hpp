#pragma once
// `cairn task run`: a whole training task in one process, driven through the platform's
// roles exactly as separate nodes would run them. Every party (the model provider, the data
// providers, the aggregator, the auditor) gets its own RocksDB store behind its own
// gateway on loopback, its own chain account and its own state directory, and runs its
// role on its own thread; the parties share nothing but the chain (a private anvil, or any
// RPC) and the keyless signing service (served over HTTP on loopback, its calendar
// publications anchored on chain by its operator's account). The protocol itself lives in
// the roles (model_provider.hpp, aggregator.hpp, data_provider.hpp, auditor.hpp) and is
// described in docs/platform.md.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "chain/anvil.hpp"
#include "chain/u256.hpp"
#include "market/passport.hpp"
#include "market/role.hpp"
#include "market/trust_root.hpp"

namespace cairn::market {

struct TaskConfig {
  std::filesystem::path work_dir;      // party directories, model.pt, passport.json
  std::optional<std::string> rpc_url;  // none: start a private anvil
  std::size_t providers = 3;
  std::uint64_t rounds = 2;
  std::string model = "logreg";  // learn's built-ins: logreg, mlp, cnn
  std::size_t rows_per_provider = 500;
  std::size_t test_rows = 1000;
  std::string partition = "iid";  // learn's partition specs: iid, dirichlet:A, shards:K
  int local_epochs = 1;
  double learning_rate = 0.05;
  std::size_t paillier_bits = 2048;
  bool insecure_test_key = false;  // allows paillier_bits below 2048: tests only
  chain::U256 reward = chain::U256(1000000000000000000ULL);  // 1 ether
  std::uint64_t seed = 1;
  bool exclude_harmful = true;
  std::uint64_t round_timeout_s = 120;
  // TrainingTask's windows: a round reveals this long after it opened even if someone
  // never sealed (default: half the round timeout); claims open this long after the report.
  std::optional<std::uint64_t> commit_window_s;
  std::uint64_t challenge_window_s = 5;
  // Per data provider (missing ones are honest): honest | poison:scale:S | garbage |
  // dropout:ROUND | replay. The aggregator: honest | wrong-aggregate:ROUND.
  std::vector<std::string> behaviours;
  std::string aggregator_behaviour = "honest";
  // The model provider: honest | unfair-report.
  std::string model_provider_behaviour = "honest";
  // Destroys the model provider's role once round N is closed and makes a new one from the
  // same store and state directory (a node restarted mid-task).
  std::optional<std::uint64_t> restart_model_provider_after_round;
  std::chrono::seconds time_limit{1800};
  std::filesystem::path fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";
  std::filesystem::path binary = "/proc/self/exe";  // hashed into the passport
  std::function<void(const std::string&)> progress;
};

struct TaskOutcome {
  std::unique_ptr<chain::Anvil> anvil;  // when the run started one; the chain stays up
  std::string rpc_url;
  Deployment deployment;
  std::filesystem::path model_path;     // written by the model provider
  std::filesystem::path passport_path;  // written by the model provider
  std::filesystem::path accuracy_svg_path;
  std::filesystem::path auditor_repo;  // every artifact, pulled through the gateways
  std::filesystem::path audit_dir;     // the auditor's copy of passport and model, verify.json
  bool audit_ok = false;               // the auditor's verify_passport held
  Passport passport;
  // What a verifier of this run pins: its deployment, the signing service's calendar
  // certificate and the operator's anchoring account.
  TrustRoot trust;
  std::vector<double> accuracy;  // after each round
  double initial_accuracy = 0;
  // Step errors per party (logged and retried, as a node does): a clean run has none from
  // the model provider and the aggregator.
  std::map<std::string, std::vector<std::string>> step_errors;
  std::size_t model_provider_restarts = 0;
};

[[nodiscard]] Result<TaskOutcome> run_training_task(const TaskConfig& config);

}  // namespace cairn::market

#pragma once
// The training-task protocol of seed 003, run in one process through the real components:
// a chain (anvil, or any RPC) with the Anchor, Registry and TrainingTask contracts; one
// RocksDB store per party, each behind its own trustless gateway on loopback, so every
// artifact moves by CID and is re-hashed on arrival; a keyless signing service whose
// calendar publications are anchored on chain; libtorch training and Paillier aggregation.
//
//   1. Data providers cut their shard (Fashion-MNIST, IDX), store it, write a manifest
//      (shard CIDs, quality report), seal the manifests and register them (Registry).
//   2. The model provider stores the initial model and publishes a TrainingTask (spec
//      digest, rounds, escrowed reward, Paillier public key in the spec).
//   3. The data providers join.
//   4. Each round: trainers fetch the global model by CID, train locally, encrypt their
//      weighted delta with Paillier, store it and commit its digest on chain; the
//      aggregator fetches each update, checks it against its commitment, sums them
//      homomorphically and stores the sum; the model provider checks the sum against the
//      committed updates, decrypts only the aggregate, applies it, evaluates, and commits
//      the aggregate on chain. The round's artifacts are sealed in one aggregation round
//      and the calendar root is anchored.
//   5. Contributions (learn's leave-one-out and GTG-Shapley, from decrypted aggregates of
//      subsets of at least two updates) are published with their inputs; the contract
//      records the rewards and the providers claim them.
//   6. The final model and the passport are written; an auditor's store pulls every
//      artifact from the gateways.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "chain/anvil.hpp"
#include "chain/u256.hpp"
#include "learn/dataset.hpp"
#include "market/passport.hpp"

namespace cairn::market {

struct TaskConfig {
  std::filesystem::path work_dir;      // party repositories, model.pt, passport.json
  std::optional<std::string> rpc_url;  // none: start a private anvil
  std::size_t providers = 3;
  std::uint64_t rounds = 2;
  std::string model = "logreg";  // learn's built-ins: logreg, mlp, cnn
  std::size_t rows_per_provider = 500;
  std::size_t test_rows = 1000;
  std::string partition = "iid";  // learn's partition specs: iid, dirichlet:A, shards:K
  int local_epochs = 1;
  double learning_rate = 0.05;
  std::size_t paillier_bits = 2048;                          // below 2048 only for tests
  chain::U256 reward = chain::U256(1000000000000000000ULL);  // 1 ether
  std::uint64_t seed = 1;
  std::filesystem::path fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";
  std::filesystem::path binary = "/proc/self/exe";  // hashed into the passport
  std::function<void(const std::string&)> progress;
};

struct TaskOutcome {
  std::unique_ptr<chain::Anvil> anvil;  // when the run started one; the chain stays up
  std::string rpc_url;
  std::filesystem::path model_path;
  std::filesystem::path passport_path;
  std::filesystem::path auditor_repo;  // every artifact, fetched through the gateways
  Passport passport;
  std::vector<double> accuracy;  // after each round
  double initial_accuracy = 0;
};

[[nodiscard]] Result<TaskOutcome> run_training_task(const TaskConfig& config);

// An accuracy-per-round line chart (SVG), for demo-out/accuracy.svg.
[[nodiscard]] std::string accuracy_svg(double initial, const std::vector<double>& accuracy);

}  // namespace cairn::market

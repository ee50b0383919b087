#pragma once
// Federated learning with every party in one process: data providers (clients) train
// locally, send their updates in plain, Paillier-encrypted or pairwise-masked form, the
// aggregator combines them, the model provider decrypts only the aggregate, updates the
// global model, and measures each provider's contribution.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "learn/aggregate.hpp"
#include "learn/contribution.hpp"
#include "learn/dataset.hpp"
#include "learn/partition.hpp"
#include "learn/torch/train.hpp"

namespace cairn::learn {

enum class SecureMode { none, paillier, mask };
[[nodiscard]] Result<SecureMode> parse_secure_mode(std::string_view text);
std::string_view secure_mode_name(SecureMode mode);

struct MaliciousSpec {
  enum class Kind { signflip, scale, noise } kind = Kind::signflip;
  std::size_t count = 0;  // clients 0 .. count-1 are poisoned
  double scale = 10;      // scale:S multiplies the update by S; noise uses N(0, 1)
  std::string to_string() const;
};
// "K:signflip", "K:scale:S", "K:noise".
[[nodiscard]] Result<MaliciousSpec> parse_malicious(std::string_view text);

// Clients that send broken messages (the last `count` clients): NaN values, an update
// trained on the previous model version, or a message cut short in transit.
struct FaultySpec {
  // nan: a NaN in the update; stale: trained on another model version; truncated: the
  // message cut short in transit; shape: an update for a model whose last tensor is one
  // value shorter (a client running another architecture).
  enum class Kind { nan, stale, truncated, shape } kind = Kind::nan;
  std::size_t count = 0;
  std::string to_string() const;
};
// "K:nan", "K:stale", "K:truncated", "K:shape".
[[nodiscard]] Result<FaultySpec> parse_faulty(std::string_view text);

struct SimulationConfig {
  std::string dataset = "fashion-mnist";  // or a CSV file (with csv_schema)
  std::optional<std::filesystem::path> csv_schema;
  // CSV rows held out for testing (0: a fifth), split by seed as `learn partition` does
  // (split_rows in learn/dataset.hpp).
  std::size_t csv_test_rows = 0;
  std::filesystem::path fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";
  std::size_t clients = 10;
  int rounds = 1;
  // Each round's learning rate is train.lr x lr_decay^(round-1) (the centralised baseline
  // decays per epoch-equivalent the same way), the usual step-size schedule that lets SGD
  // settle once the early rounds have done the coarse work.
  double lr_decay = 1.0;
  TrainConfig train;
  PartitionSpec partition;
  std::string model = "cnn";
  // The built-in models standardise their input with the mean and standard deviation of
  // every training feature value (InputSpec; for Fashion-MNIST 0.2860 and 0.3530, the
  // figures torchvision users normalise with); false feeds the raw features. A model file
  // does its own.
  bool standardise_input = true;
  AggregationRule rule;
  SecureMode secure = SecureMode::none;
  std::size_t paillier_bits = 2048;
  // Allows a Paillier key below 2048 bits (crypto::check_paillier_bits): tests only.
  bool insecure_test_key = false;
  bool packing = true;
  // Make Paillier randomisers on a background thread while the clients train (offline
  // phase); encryption then only multiplies them in.
  bool paillier_precompute = true;
  std::size_t mask_threshold = 0;  // 0: floor(clients / 2) + 1
  MaliciousSpec malicious;
  FaultySpec faulty;
  double dropout = 0;  // probability a client drops out mid-round
  std::uint64_t seed = 1;
  std::size_t train_limit = 0;  // use only the first N training rows (0: all)
  std::size_t test_limit = 0;
  bool contributions = true;
  int contribution_every = 0;  // every k rounds; 0: the final round only
  std::size_t contribution_test_rows = 2000;
  ContributionConfig contribution;
  bool centralised_baseline = false;
  int threads = 2;
};

struct PhaseSeconds {
  double train = 0, encrypt = 0, aggregate = 0, decrypt = 0, evaluate = 0, contribution = 0;
  // Paillier's offline phase: randomisers made on a second thread while clients train.
  // It overlaps the other phases, so total() leaves it out (its cost shows in their times).
  double precompute = 0;
  PhaseSeconds& operator+=(const PhaseSeconds& o);
  double total() const { return train + encrypt + aggregate + decrypt + evaluate + contribution; }
  nlohmann::json to_json() const;
};

struct RoundRecord {
  int round = 0;
  double accuracy = 0;
  double loss = 0;
  double train_loss = 0;  // mean over participating clients
  std::size_t participants = 0;
  std::size_t dropped = 0;
  std::size_t rejected = 0;
  bool applied = true;                // false when too few updates arrived and the model was kept
  std::vector<std::string> messages;  // rejections and dropouts, for the operator
  PhaseSeconds seconds;
  std::size_t upload_bytes = 0;  // all clients' messages this round
  nlohmann::json to_json() const;
};

struct SimulationResult {
  SimulationConfig config;
  std::vector<RoundRecord> rounds;
  double final_accuracy = 0;
  std::vector<RoundContribution> contributions;
  std::vector<std::string> clients;
  std::vector<double> shapley_total;  // summed over the evaluated rounds
  std::vector<double> loo_total;
  PhaseSeconds seconds;
  std::optional<std::vector<double>> centralised_curve;  // accuracy after each epoch
  std::vector<std::size_t> client_rows;
  ParameterSet final_parameters;
  InputSpec input;  // what the built-in model was made for (its input standardisation)
  nlohmann::json to_json() const;
};

using RoundCallback = std::function<void(const RoundRecord&)>;

// Runs the simulation; `final_model` (if given) receives the trained model.
// The simulation's training and test data: Fashion-MNIST's own sets, or a CSV split by
// split_rows (the rows `cairn learn partition` holds out for the same seed); then cut to
// train_limit and test_limit.
[[nodiscard]] Result<TrainTest> simulation_data(const SimulationConfig& config);

[[nodiscard]] Result<SimulationResult> simulate(const SimulationConfig& config,
                                                const RoundCallback& on_round = {},
                                                std::optional<Model>* final_model = nullptr);

// The curve as CSV (one row per round) and as an SVG line chart.
[[nodiscard]] std::string curve_csv(const SimulationResult& result);
[[nodiscard]] std::string curve_svg(const SimulationResult& result);

}  // namespace cairn::learn

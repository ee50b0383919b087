#pragma once
// Aggregation rules on flat parameter deltas (local model minus global model): FedAvg,
// FedProx (FedAvg on the server; the proximal term lives in local training), FedAdam (a
// server optimiser on the averaged delta) and rules robust to poisoned updates: coordinate
// median, trimmed mean, Krum / Multi-Krum, and norm clipping in front of any of them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace cairn::learn {

struct ClientUpdate {
  std::string client;
  std::uint64_t base_version = 0;  // the global model version the client trained from
  std::vector<float> delta;        // local parameters minus that global model
  double weight = 1;               // training samples behind the update
};

struct AggregationRule {
  enum class Kind {
    fedavg,
    fedprox,
    fedadam,
    median,
    trimmed_mean,
    krum,
    multi_krum
  } kind = Kind::fedavg;
  double trim_fraction = 0.1;      // trimmed_mean: cut this fraction from each end
  std::optional<int> byzantine;    // krum: f, the poisoned updates tolerated
  std::optional<int> krum_select;  // multi_krum: m, the updates averaged
  double clip_norm = 0;            // > 0: scale each delta down to this L2 norm first
  // FedAdam (Reddi et al. 2021, "Adaptive Federated Optimization").
  double server_lr = 0.01;
  double beta1 = 0.9;
  double beta2 = 0.99;
  double tau = 1e-3;

  [[nodiscard]] bool robust() const;  // needs the individual updates
  std::string to_string() const;
};
// "fedavg", "fedprox", "fedadam", "median", "trimmed:0.2", "krum", "krum:2",
// "multikrum", "multikrum:2:6" (f:m).
[[nodiscard]] Result<AggregationRule> parse_aggregation_rule(std::string_view text);

// Checks one update before it is counted: its length, finiteness, base version, weight.
[[nodiscard]] Status validate_update(const ClientUpdate& update, std::size_t expected_size,
                                     std::uint64_t current_version);

// Scales `delta` down (never up) so its L2 norm is at most `max_norm`; returns the factor.
double clip_to_norm(std::vector<float>& delta, double max_norm);

// The combined delta of the updates under `rule` (FedAdam returns the weighted average;
// the ServerOptimizer turns it into a step). Every update must already be validated.
[[nodiscard]] Result<std::vector<float>> combine_updates(const std::vector<ClientUpdate>& updates,
                                                         const AggregationRule& rule);
// Sample-weighted average: sum_k w_k d_k / sum_k w_k.
[[nodiscard]] std::vector<float> weighted_average(const std::vector<ClientUpdate>& updates);
// Krum scores (sum of squared distances to the n - f - 2 nearest others); lower is better.
[[nodiscard]] Result<std::vector<double>> krum_scores(const std::vector<ClientUpdate>& updates,
                                                      int byzantine);

// Applies a combined delta to the global model, keeping FedAdam's moment estimates.
class ServerOptimizer {
 public:
  explicit ServerOptimizer(AggregationRule rule) : rule_(std::move(rule)) {}
  void apply(std::vector<float>& global, const std::vector<float>& delta);

 private:
  AggregationRule rule_;
  std::vector<double> m_;
  std::vector<double> v_;
};

}  // namespace cairn::learn

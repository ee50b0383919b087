#pragma once
// Contribution of each data provider to a round: leave-one-out and a GTG-Shapley estimate
// (Liu et al. 2022: Monte-Carlo permutations with between- and within-round truncation and
// guided first positions), deterministic by seed. Both are computed from the utilities of
// aggregates of subsets of the round's clients — under secure aggregation those subsets
// are aggregated securely; no individual update is decrypted. The report carries the seed,
// the permutations, every subset's utility and a digest of its aggregate, so another party
// can replay the estimate and, with the test data, re-evaluate each utility.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace cairn::learn {

struct ContributionConfig {
  std::uint64_t seed = 1;
  std::size_t max_permutations = 0;       // 0: 2 * clients
  double between_round_tolerance = 1e-3;  // |v(N) - v(empty)| below this: round skipped
  double within_round_tolerance = 5e-3;   // |v(N) - v(S)| below this: rest of permutation 0
  double convergence_tolerance = 0.02;    // stop when estimates move less than this (relative)
  // Subsets smaller than this are never aggregated (their utility counts as v(empty)), so
  // no lone update is ever decrypted or evaluated. 2 under secure aggregation.
  std::size_t min_subset = 1;
  nlohmann::json to_json() const;
  static Result<ContributionConfig> from_json(const nlohmann::json& json);
};

struct SubsetUtility {
  std::vector<std::size_t> members;  // positions in the round's client list, ascending
  double utility = 0;
  std::string aggregate_digest;  // hex sha2-256 of the aggregate's float32 little-endian bytes
};

struct RoundContribution {
  std::uint64_t round = 0;
  std::vector<std::string> clients;
  double empty_utility = 0;  // the previous global model
  double full_utility = 0;
  bool truncated_round = false;
  std::vector<std::vector<std::size_t>> permutations;
  std::vector<SubsetUtility> subsets;  // every subset evaluated, in evaluation order
  std::vector<double> shapley;
  std::vector<double> leave_one_out;
  nlohmann::json to_json() const;
  static Result<RoundContribution> from_json(const nlohmann::json& json);
};

// The aggregate (combined delta) of the given clients' updates, and the utility (test
// accuracy) of the previous global model plus a delta.
using SubsetAggregator =
    std::function<Result<std::vector<float>>(const std::vector<std::size_t>& members)>;
using UtilityFunction = std::function<Result<double>(const std::vector<float>& delta)>;

[[nodiscard]] Result<RoundContribution> evaluate_contributions(
    std::uint64_t round, const std::vector<std::string>& clients, const SubsetAggregator& aggregate,
    const UtilityFunction& utility, const ContributionConfig& config);

[[nodiscard]] std::string aggregate_digest(const std::vector<float>& aggregate);

// Replays the estimate from the recorded utilities (same permutations from the seed, same
// truncation decisions, same values); fails naming the first difference.
[[nodiscard]] Status replay_contributions(const RoundContribution& report,
                                          const ContributionConfig& config,
                                          double tolerance = 1e-9);
// Re-evaluates every recorded subset with the verifier's own aggregates and utility
// function (checking the aggregate digests), then replays.
[[nodiscard]] Status recompute_contributions(const RoundContribution& report,
                                             const ContributionConfig& config,
                                             const SubsetAggregator& aggregate,
                                             const UtilityFunction& utility,
                                             double tolerance = 1e-9);

}  // namespace cairn::learn

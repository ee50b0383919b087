#include "learn/contribution.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <numeric>

#include "base/encoding.hpp"
#include "crypto/hash.hpp"
#include "learn/rng.hpp"

namespace cairn::learn {
namespace {

constexpr std::uint64_t kPermutationPurpose = 0x5348'4150;  // "SHAP"

// The deterministic part of GTG-Shapley: permutation k puts client k mod n first (guided
// sampling), the rest in a seeded random order.
std::vector<std::size_t> permutation(std::size_t n, std::size_t k, std::uint64_t seed) {
  std::vector<std::size_t> order;
  const std::size_t first = k % n;
  order.push_back(first);
  for (std::size_t i = 0; i < n; ++i) {
    if (i != first) order.push_back(i);
  }
  Rng rng(derive_seed(seed, kPermutationPurpose, k));
  rng.shuffle(std::span(order).subspan(1));
  return order;
}

// Shared driver: `value_of(members)` returns the utility of a subset (from a cache, an
// evaluation or a recorded table). Produces permutations, Shapley values and LOO.
struct Estimate {
  std::vector<std::vector<std::size_t>> permutations;
  std::vector<double> shapley;
  std::vector<double> loo;
  bool truncated_round = false;
};

Result<Estimate> estimate(std::size_t n, double empty_utility, double full_utility,
                          const ContributionConfig& config,
                          const std::function<Result<double>(std::vector<std::size_t>)>& value_of) {
  Estimate out;
  out.shapley.assign(n, 0.0);
  out.loo.assign(n, 0.0);
  // Leave-one-out: v(N) - v(N \ {i}).
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::size_t> members;
    for (std::size_t j = 0; j < n; ++j) {
      if (j != i) members.push_back(j);
    }
    CAIRN_TRY_ASSIGN(const double without, value_of(members));
    out.loo[i] = full_utility - without;
  }
  if (std::fabs(full_utility - empty_utility) < config.between_round_tolerance) {
    out.truncated_round = true;
    return out;
  }
  const std::size_t max_permutations = config.max_permutations ? config.max_permutations : 2 * n;
  std::vector<double> sums(n, 0.0);
  std::vector<double> previous(n, 0.0);
  for (std::size_t k = 0; k < max_permutations; ++k) {
    auto order = permutation(n, k, config.seed);
    double prefix_value = empty_utility;
    std::vector<std::size_t> members;
    for (std::size_t position = 0; position < n; ++position) {
      const std::size_t client = order[position];
      members.push_back(client);
      double value = prefix_value;
      if (std::fabs(full_utility - prefix_value) >= config.within_round_tolerance) {
        if (position + 1 == n) {
          value = full_utility;
        } else {
          std::vector<std::size_t> sorted = members;
          std::sort(sorted.begin(), sorted.end());
          CAIRN_TRY_ASSIGN(value, value_of(sorted));
        }
      }
      sums[client] += value - prefix_value;
      prefix_value = value;
    }
    out.permutations.push_back(std::move(order));
    const double count = static_cast<double>(k + 1);
    // Converged when every client has been first at least once and the estimates moved
    // less than the tolerance relative to their size.
    double change = 0;
    double scale = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double current = sums[i] / count;
      change += std::fabs(current - previous[i]);
      scale += std::fabs(current);
      previous[i] = current;
    }
    if (k + 1 >= n && scale > 0 && change / scale < config.convergence_tolerance) break;
  }
  const double count = static_cast<double>(out.permutations.size());
  for (std::size_t i = 0; i < n; ++i)
    out.shapley[i] = sums[i] / count;
  return out;
}

std::uint64_t mask_of(const std::vector<std::size_t>& members) {
  std::uint64_t mask = 0;
  for (auto m : members)
    mask |= std::uint64_t{1} << m;
  return mask;
}

}  // namespace

std::string aggregate_digest(const std::vector<float>& aggregate) {
  Bytes bytes(aggregate.size() * 4);
  for (std::size_t i = 0; i < aggregate.size(); ++i) {
    const auto bits = std::bit_cast<std::uint32_t>(aggregate[i]);
    for (int b = 0; b < 4; ++b)
      bytes[i * 4 + b] = static_cast<std::byte>(bits >> (8 * b));
  }
  return to_hex(crypto::sha256(bytes));
}

nlohmann::json ContributionConfig::to_json() const {
  return {{"seed", seed},
          {"max_permutations", max_permutations},
          {"between_round_tolerance", between_round_tolerance},
          {"within_round_tolerance", within_round_tolerance},
          {"convergence_tolerance", convergence_tolerance},
          {"min_subset", min_subset}};
}

Result<ContributionConfig> ContributionConfig::from_json(const nlohmann::json& json) {
  try {
    ContributionConfig c;
    c.seed = json.at("seed").get<std::uint64_t>();
    c.max_permutations = json.at("max_permutations").get<std::size_t>();
    c.between_round_tolerance = json.at("between_round_tolerance").get<double>();
    c.within_round_tolerance = json.at("within_round_tolerance").get<double>();
    c.convergence_tolerance = json.at("convergence_tolerance").get<double>();
    c.min_subset = json.at("min_subset").get<std::size_t>();
    return c;
  } catch (const std::exception& e) {
    return fail(Errc::parse, fmt::format("contribution config: {}", e.what()));
  }
}

nlohmann::json RoundContribution::to_json() const {
  nlohmann::json subsets_json = nlohmann::json::array();
  for (const auto& s : subsets) {
    subsets_json.push_back(
        {{"members", s.members}, {"utility", s.utility}, {"aggregate_sha256", s.aggregate_digest}});
  }
  return {{"round", round},
          {"clients", clients},
          {"empty_utility", empty_utility},
          {"full_utility", full_utility},
          {"truncated_round", truncated_round},
          {"permutations", permutations},
          {"subsets", subsets_json},
          {"shapley", shapley},
          {"leave_one_out", leave_one_out}};
}

Result<RoundContribution> RoundContribution::from_json(const nlohmann::json& json) {
  try {
    RoundContribution r;
    r.round = json.at("round").get<std::uint64_t>();
    r.clients = json.at("clients").get<std::vector<std::string>>();
    r.empty_utility = json.at("empty_utility").get<double>();
    r.full_utility = json.at("full_utility").get<double>();
    r.truncated_round = json.at("truncated_round").get<bool>();
    r.permutations = json.at("permutations").get<std::vector<std::vector<std::size_t>>>();
    for (const auto& s : json.at("subsets")) {
      r.subsets.push_back(SubsetUtility{s.at("members").get<std::vector<std::size_t>>(),
                                        s.at("utility").get<double>(),
                                        s.at("aggregate_sha256").get<std::string>()});
    }
    r.shapley = json.at("shapley").get<std::vector<double>>();
    r.leave_one_out = json.at("leave_one_out").get<std::vector<double>>();
    return r;
  } catch (const std::exception& e) {
    return fail(Errc::parse, fmt::format("contribution report: {}", e.what()));
  }
}

Result<RoundContribution> evaluate_contributions(std::uint64_t round,
                                                 const std::vector<std::string>& clients,
                                                 const SubsetAggregator& aggregate,
                                                 const UtilityFunction& utility,
                                                 const ContributionConfig& config) {
  const std::size_t n = clients.size();
  if (n == 0 || n > 63)
    return fail(Errc::invalid_argument, fmt::format("contributions for {} clients (1 to 63)", n));
  RoundContribution report;
  report.round = round;
  report.clients = clients;
  const std::vector<float> nothing;
  CAIRN_TRY_ASSIGN(report.empty_utility, utility({}));
  std::map<std::uint64_t, double> cache;
  auto value_of = [&](std::vector<std::size_t> members) -> Result<double> {
    if (members.size() < std::max<std::size_t>(config.min_subset, 1)) return report.empty_utility;
    const auto key = mask_of(members);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    CAIRN_TRY_ASSIGN(const auto delta, aggregate(members));
    CAIRN_TRY_ASSIGN(const double value, utility(delta));
    report.subsets.push_back(SubsetUtility{members, value, aggregate_digest(delta)});
    cache[key] = value;
    return value;
  };
  std::vector<std::size_t> everyone(n);
  std::iota(everyone.begin(), everyone.end(), 0);
  CAIRN_TRY_ASSIGN(report.full_utility, value_of(everyone));
  CAIRN_TRY_ASSIGN(auto result,
                   estimate(n, report.empty_utility, report.full_utility, config, value_of));
  report.permutations = std::move(result.permutations);
  report.shapley = std::move(result.shapley);
  report.leave_one_out = std::move(result.loo);
  report.truncated_round = result.truncated_round;
  return report;
}

Status replay_contributions(const RoundContribution& report, const ContributionConfig& config,
                            double tolerance) {
  const std::size_t n = report.clients.size();
  if (n == 0 || n > 63) return fail(Errc::invalid_argument, "contribution report has no clients");
  std::map<std::uint64_t, double> table;
  for (const auto& s : report.subsets) {
    for (auto m : s.members) {
      if (m >= n) return fail(Errc::integrity, fmt::format("subset names client {} of {}", m, n));
    }
    table[mask_of(s.members)] = s.utility;
  }
  auto value_of = [&](std::vector<std::size_t> members) -> Result<double> {
    if (members.size() < std::max<std::size_t>(config.min_subset, 1)) return report.empty_utility;
    const auto it = table.find(mask_of(members));
    if (it == table.end()) {
      return fail(Errc::integrity,
                  fmt::format("the replay needs subset {{{}}}, which the report does not record",
                              fmt::join(members, ",")));
    }
    return it->second;
  };
  std::vector<std::size_t> everyone(n);
  std::iota(everyone.begin(), everyone.end(), 0);
  CAIRN_TRY_ASSIGN(const double full, value_of(everyone));
  if (std::fabs(full - report.full_utility) > tolerance)
    return fail(Errc::integrity, "full-set utility differs from its subset record");
  CAIRN_TRY_ASSIGN(const auto result,
                   estimate(n, report.empty_utility, report.full_utility, config, value_of));
  if (result.permutations != report.permutations)
    return fail(Errc::integrity, "permutations do not follow from the seed");
  if (result.truncated_round != report.truncated_round)
    return fail(Errc::integrity, "round truncation differs");
  for (std::size_t i = 0; i < n; ++i) {
    if (std::fabs(result.shapley[i] - report.shapley[i]) > tolerance) {
      return fail(Errc::integrity,
                  fmt::format("Shapley value of {} recomputes to {}, report says {}",
                              report.clients[i], result.shapley[i], report.shapley[i]));
    }
    if (std::fabs(result.loo[i] - report.leave_one_out[i]) > tolerance) {
      return fail(Errc::integrity,
                  fmt::format("leave-one-out value of {} recomputes to {}, report says {}",
                              report.clients[i], result.loo[i], report.leave_one_out[i]));
    }
  }
  return {};
}

Status recompute_contributions(const RoundContribution& report, const ContributionConfig& config,
                               const SubsetAggregator& aggregate, const UtilityFunction& utility,
                               double tolerance) {
  CAIRN_TRY_ASSIGN(const double empty, utility({}));
  if (std::fabs(empty - report.empty_utility) > tolerance) {
    return fail(Errc::integrity,
                fmt::format("utility of the previous model recomputes to {}, report says {}", empty,
                            report.empty_utility));
  }
  for (const auto& s : report.subsets) {
    CAIRN_TRY_ASSIGN(const auto delta, aggregate(s.members));
    if (aggregate_digest(delta) != s.aggregate_digest) {
      return fail(Errc::integrity,
                  fmt::format("aggregate of subset {{{}}} does not match its digest",
                              fmt::join(s.members, ",")));
    }
    CAIRN_TRY_ASSIGN(const double value, utility(delta));
    if (std::fabs(value - s.utility) > tolerance) {
      return fail(Errc::integrity,
                  fmt::format("utility of subset {{{}}} recomputes to {}, report says {}",
                              fmt::join(s.members, ","), value, s.utility));
    }
  }
  return replay_contributions(report, config, tolerance);
}

}  // namespace cairn::learn

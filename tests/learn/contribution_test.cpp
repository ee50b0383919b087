#include "learn/contribution.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace cairn::learn {
namespace {

// A toy round: client i's update is a one-hot vector weighted w_i; the utility of a delta
// is a concave function of it, so the clients' contributions differ and are known.
struct Toy {
  std::vector<double> weights{1.0, 2.0, 0.0, 4.0, 1.0};
  std::size_t evaluations = 0;
  SubsetAggregator aggregator() {
    return [this](const std::vector<std::size_t>& members) -> Result<std::vector<float>> {
      std::vector<float> out(weights.size(), 0.0f);
      for (auto m : members)
        out[m] = static_cast<float>(weights[m] / static_cast<double>(members.size()));
      return out;
    };
  }
  UtilityFunction utility() {
    return [this](const std::vector<float>& delta) -> Result<double> {
      ++evaluations;
      double total = 0;
      for (float v : delta)
        total += v;
      return 0.5 + 0.1 * std::sqrt(total);
    };
  }
};

std::vector<std::string> names(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back("client-" + std::to_string(i));
  return out;
}

TEST(Contribution, DeterministicBySeedAndRanksClients) {
  Toy toy;
  ContributionConfig config;
  config.seed = 5;
  config.within_round_tolerance = 0;  // evaluate everything: ranking is then exact in expectation
  config.max_permutations = 40;
  const auto a = evaluate_contributions(3, names(5), toy.aggregator(), toy.utility(), config);
  const auto b = evaluate_contributions(3, names(5), toy.aggregator(), toy.utility(), config);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->shapley, b->shapley);
  EXPECT_EQ(a->permutations, b->permutations);
  // The zero-weight client gets the lowest Shapley value and a non-positive LOO.
  const auto lowest = std::min_element(a->shapley.begin(), a->shapley.end()) - a->shapley.begin();
  EXPECT_EQ(lowest, 2);
  EXPECT_GT(a->shapley[3], a->shapley[0]);
  EXPECT_LE(a->leave_one_out[2], 0.0);
  // Guided sampling: permutation k starts with client k mod n.
  for (std::size_t k = 0; k < a->permutations.size(); ++k)
    EXPECT_EQ(a->permutations[k][0], k % 5);
  // Efficiency, approximately: the values sum to v(N) - v(empty).
  double sum = 0;
  for (double v : a->shapley)
    sum += v;
  EXPECT_NEAR(sum, a->full_utility - a->empty_utility, 1e-9);
}

TEST(Contribution, AnotherPartyRecomputesAndDetectsTampering) {
  Toy provider;
  ContributionConfig config;
  config.seed = 8;
  const auto report =
      evaluate_contributions(1, names(5), provider.aggregator(), provider.utility(), config)
          .value();
  // The verifier has only the published report (as JSON) and its own evaluation.
  const auto published =
      RoundContribution::from_json(nlohmann::json::parse(report.to_json().dump())).value();
  const auto published_config =
      ContributionConfig::from_json(nlohmann::json::parse(config.to_json().dump())).value();
  EXPECT_TRUE(replay_contributions(published, published_config));
  Toy verifier;
  const auto status = recompute_contributions(published, published_config, verifier.aggregator(),
                                              verifier.utility());
  EXPECT_TRUE(status) << status.error().to_string();

  auto inflated = published;
  inflated.shapley[1] += 0.01;
  EXPECT_NE(replay_contributions(inflated, published_config)
                .error()
                .message.find("Shapley value of client-1"),
            std::string::npos);
  auto wrong_utility = published;
  wrong_utility.subsets[0].utility += 0.1;
  EXPECT_FALSE(recompute_contributions(wrong_utility, published_config, verifier.aggregator(),
                                       verifier.utility()));
  auto other_seed = published_config;
  other_seed.seed = 9;
  EXPECT_FALSE(replay_contributions(published, other_seed));
  // A verifier whose aggregates differ (a different update from client 0) is told so.
  Toy liar;
  liar.weights[0] = 1.5;
  EXPECT_NE(recompute_contributions(published, published_config, liar.aggregator(), liar.utility())
                .error()
                .message.find("digest"),
            std::string::npos);
}

TEST(Contribution, MinimumSubsetNeverEvaluatesALoneUpdate) {
  Toy toy;
  ContributionConfig config;
  config.min_subset = 2;
  config.within_round_tolerance = 0;
  const auto report =
      evaluate_contributions(1, names(4), toy.aggregator(), toy.utility(), config).value();
  for (const auto& s : report.subsets)
    EXPECT_GE(s.members.size(), 2u);
  EXPECT_TRUE(replay_contributions(report, config));
}

TEST(Contribution, TruncationSkipsRoundsThatChangeNothing) {
  Toy toy;
  toy.weights.assign(4, 0.0);
  ContributionConfig config;
  const auto report =
      evaluate_contributions(1, names(4), toy.aggregator(), toy.utility(), config).value();
  EXPECT_TRUE(report.truncated_round);
  EXPECT_TRUE(report.permutations.empty());
  for (double v : report.shapley)
    EXPECT_EQ(v, 0.0);
}

}  // namespace
}  // namespace cairn::learn

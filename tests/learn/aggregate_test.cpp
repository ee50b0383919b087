#include "learn/aggregate.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cairn::learn {
namespace {

ClientUpdate update(std::string name, std::vector<float> delta, double weight = 1) {
  return ClientUpdate{std::move(name), 3, std::move(delta), weight};
}

TEST(Aggregate, ParsesRules) {
  EXPECT_EQ(parse_aggregation_rule("fedavg")->kind, AggregationRule::Kind::fedavg);
  EXPECT_EQ(parse_aggregation_rule("median")->kind, AggregationRule::Kind::median);
  EXPECT_DOUBLE_EQ(parse_aggregation_rule("trimmed:0.2")->trim_fraction, 0.2);
  EXPECT_EQ(*parse_aggregation_rule("krum:2")->byzantine, 2);
  EXPECT_EQ(*parse_aggregation_rule("multikrum:2:5")->krum_select, 5);
  EXPECT_FALSE(parse_aggregation_rule("trimmed:0.5"));
  EXPECT_FALSE(parse_aggregation_rule("fedavg:1"));
  EXPECT_FALSE(parse_aggregation_rule("mean"));
  EXPECT_FALSE(parse_aggregation_rule("krum:-1"));
}

TEST(Aggregate, FedAvgWeightsBySamples) {
  const auto out =
      combine_updates({update("a", {1, 0}, 1), update("b", {4, 3}, 3)}, AggregationRule{});
  ASSERT_TRUE(out);
  EXPECT_FLOAT_EQ((*out)[0], 3.25f);
  EXPECT_FLOAT_EQ((*out)[1], 2.25f);
}

TEST(Aggregate, MedianAndTrimmedMeanIgnoreOutliers) {
  std::vector<ClientUpdate> updates{update("a", {1}), update("b", {2}), update("c", {3}),
                                    update("d", {4}), update("evil", {1000})};
  const auto median = combine_updates(updates, *parse_aggregation_rule("median"));
  EXPECT_FLOAT_EQ((*median)[0], 3.0f);
  const auto trimmed = combine_updates(updates, *parse_aggregation_rule("trimmed:0.2"));
  EXPECT_FLOAT_EQ((*trimmed)[0], 3.0f);  // drops 1 and 1000, mean of 2,3,4
  updates.pop_back();
  EXPECT_FLOAT_EQ((*combine_updates(updates, *parse_aggregation_rule("median")))[0], 2.5f);
}

TEST(Aggregate, KrumPicksAnUpdateFromTheHonestCluster) {
  std::vector<ClientUpdate> updates;
  for (int i = 0; i < 6; ++i)
    updates.push_back(
        update("h" + std::to_string(i), {1.0f + 0.01f * static_cast<float>(i), 1.0f}));
  updates.push_back(update("evil1", {-50, 40}));
  updates.push_back(update("evil2", {60, -30}));
  const auto out = combine_updates(updates, *parse_aggregation_rule("krum:2"));
  ASSERT_TRUE(out);
  EXPECT_NEAR((*out)[0], 1.03, 0.05);
  const auto multi = combine_updates(updates, *parse_aggregation_rule("multikrum:2:6"));
  EXPECT_NEAR((*multi)[0], 1.025, 0.01);
  EXPECT_NEAR((*multi)[1], 1.0, 1e-6);
  EXPECT_FALSE(krum_scores({update("a", {1}), update("b", {2})}, 1));
}

TEST(Aggregate, NormClippingBoundsAScaledUpdate) {
  std::vector<float> big{300, 400};
  EXPECT_DOUBLE_EQ(clip_to_norm(big, 5), 0.01);
  EXPECT_FLOAT_EQ(big[0], 3);
  auto rule = *parse_aggregation_rule("fedavg");
  rule.clip_norm = 1;
  const auto out = combine_updates({update("a", {0.6f, 0.8f}), update("evil", {600, 800})}, rule);
  EXPECT_NEAR((*out)[0], 0.6, 1e-6);
  EXPECT_TRUE(rule.robust());
}

TEST(Aggregate, ValidationRejectsBadUpdatesWithReasons) {
  auto good = update("a", {1, 2, 3});
  EXPECT_TRUE(validate_update(good, 3, 3));
  const auto wrong_shape = validate_update(good, 4, 3);
  ASSERT_FALSE(wrong_shape);
  EXPECT_NE(wrong_shape.error().message.find("has 3 values, the model has 4"), std::string::npos);
  const auto wrong_version = validate_update(good, 3, 4);
  EXPECT_NE(wrong_version.error().message.find("model version 3"), std::string::npos);
  auto nan = update("b", {1, std::numeric_limits<float>::quiet_NaN(), 3});
  EXPECT_NE(validate_update(nan, 3, 3).error().message.find("non-finite value at index 1"),
            std::string::npos);
  auto inf = update("c", {std::numeric_limits<float>::infinity(), 0, 0});
  EXPECT_FALSE(validate_update(inf, 3, 3));
  auto zero_weight = update("d", {1, 2, 3}, 0);
  EXPECT_FALSE(validate_update(zero_weight, 3, 3));
}

TEST(Aggregate, FedAdamTakesAdaptiveSteps) {
  auto rule = *parse_aggregation_rule("fedadam");
  rule.server_lr = 0.1;
  ServerOptimizer optimizer(rule);
  std::vector<float> global{0, 0};
  optimizer.apply(global, {1.0f, -0.001f});
  // First step: m = 0.1 d, v = 0.01 d^2 (+tau^2 0.99): roughly lr * sign(d) * 0.1/sqrt(0.01).
  EXPECT_NEAR(global[0], 0.1, 0.01);
  EXPECT_LT(global[1], 0);
  ServerOptimizer plain(AggregationRule{});
  std::vector<float> g2{1, 1};
  plain.apply(g2, {0.5f, -0.5f});
  EXPECT_FLOAT_EQ(g2[0], 1.5f);
}

}  // namespace
}  // namespace cairn::learn

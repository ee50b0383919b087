#include "learn/partition.hpp"

#include <gtest/gtest.h>

#include <set>

#include "learn/rng.hpp"

namespace cairn::learn {
namespace {

std::vector<std::int64_t> labels(std::size_t rows, std::int64_t classes) {
  std::vector<std::int64_t> out(rows);
  for (std::size_t i = 0; i < rows; ++i)
    out[i] = static_cast<std::int64_t>(i % static_cast<std::size_t>(classes));
  return out;
}

void expect_exact_cover(const std::vector<std::vector<std::size_t>>& parts, std::size_t rows) {
  std::set<std::size_t> seen;
  std::size_t total = 0;
  for (const auto& p : parts) {
    total += p.size();
    seen.insert(p.begin(), p.end());
  }
  EXPECT_EQ(total, rows);
  EXPECT_EQ(seen.size(), rows);
}

TEST(Partition, ParsesSpecs) {
  EXPECT_EQ(parse_partition("iid")->kind, PartitionSpec::Kind::iid);
  EXPECT_DOUBLE_EQ(parse_partition("dirichlet:0.5")->alpha, 0.5);
  EXPECT_EQ(parse_partition("shards:2")->shards, 2);
  EXPECT_FALSE(parse_partition("dirichlet:0"));
  EXPECT_FALSE(parse_partition("dirichlet:x"));
  EXPECT_FALSE(parse_partition("shards:0"));
  EXPECT_FALSE(parse_partition("random"));
}

TEST(Partition, IidIsBalancedCoverAndDeterministic) {
  const auto y = labels(1003, 10);
  const auto a = partition_rows(y, 10, 10, *parse_partition("iid"), 42);
  const auto b = partition_rows(y, 10, 10, *parse_partition("iid"), 42);
  const auto c = partition_rows(y, 10, 10, *parse_partition("iid"), 43);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  expect_exact_cover(*a, 1003);
  for (const auto& p : *a)
    EXPECT_TRUE(p.size() == 100 || p.size() == 101);
}

TEST(Partition, DirichletSkewsLabelsAndIsDeterministic) {
  const auto y = labels(5000, 10);
  const auto a = partition_rows(y, 10, 10, *parse_partition("dirichlet:0.1"), 7);
  const auto b = partition_rows(y, 10, 10, *parse_partition("dirichlet:0.1"), 7);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  expect_exact_cover(*a, 5000);
  // With alpha 0.1 most providers see few classes dominating: the largest class share is high.
  double mean_top_share = 0;
  for (const auto& p : *a) {
    ASSERT_GE(p.size(), 10u);
    std::vector<std::size_t> counts(10, 0);
    for (auto i : p)
      ++counts[static_cast<std::size_t>(y[i])];
    mean_top_share += static_cast<double>(*std::max_element(counts.begin(), counts.end())) /
                      static_cast<double>(p.size());
  }
  EXPECT_GT(mean_top_share / 10, 0.4);
}

TEST(Partition, ShardsGiveEachProviderFewLabels) {
  const auto y = labels(2000, 10);
  const auto parts = partition_rows(y, 10, 10, *parse_partition("shards:2"), 3);
  ASSERT_TRUE(parts);
  expect_exact_cover(*parts, 2000);
  for (const auto& p : *parts) {
    std::set<std::int64_t> classes;
    for (auto i : p)
      classes.insert(y[i]);
    EXPECT_LE(classes.size(), 2u);
  }
}

TEST(Partition, RejectsImpossibleSplits) {
  EXPECT_FALSE(partition_rows(labels(5, 2), 2, 10, *parse_partition("iid"), 1));
  EXPECT_FALSE(partition_rows(labels(10, 2), 2, 0, *parse_partition("iid"), 1));
  EXPECT_FALSE(partition_rows({0, 5, 1}, 2, 1, *parse_partition("shards:1"), 1));
}

TEST(Rng, IsReproducibleAndUniformEnough) {
  Rng a(99), b(99);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(a.next(), b.next());
  Rng r(1);
  double sum = 0;
  for (int i = 0; i < 20000; ++i)
    sum += r.gamma(0.5);
  EXPECT_NEAR(sum / 20000, 0.5, 0.03);  // E[Gamma(k, 1)] = k
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i)
    ++counts[r.below(7)];
  for (int c : counts)
    EXPECT_NEAR(c, 10000, 500);
}

}  // namespace
}  // namespace cairn::learn

#pragma once
// Splitting a dataset's rows across N data providers, deterministically by seed.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "learn/dataset.hpp"

namespace cairn::learn {

struct PartitionSpec {
  enum class Kind { iid, dirichlet, shards } kind = Kind::iid;
  double alpha = 0.5;  // dirichlet concentration
  int shards = 2;      // label shards per provider
  std::string to_string() const;
};
// "iid", "dirichlet:0.5", "shards:2".
[[nodiscard]] Result<PartitionSpec> parse_partition(std::string_view text);

// Row indices for each of `parts` providers; every row goes to exactly one provider.
//  - iid: a seeded shuffle cut into near-equal parts.
//  - dirichlet: per class, proportions ~ Dir(alpha) (NIID-Bench's scheme, redrawn until
//    every provider has at least 10 rows).
//  - shards: rows sorted by label, cut into parts*k shards, k random shards each.
[[nodiscard]] Result<std::vector<std::vector<std::size_t>>> partition_rows(
    const std::vector<std::int64_t>& labels, std::int64_t num_classes, std::size_t parts,
    const PartitionSpec& spec, std::uint64_t seed);

}  // namespace cairn::learn

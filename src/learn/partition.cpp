#include "learn/partition.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "learn/rng.hpp"
#include "learn/text.hpp"

namespace cairn::learn {

std::string PartitionSpec::to_string() const {
  switch (kind) {
    case Kind::iid:
      return "iid";
    case Kind::dirichlet:
      return fmt::format("dirichlet:{}", alpha);
    case Kind::shards:
      return fmt::format("shards:{}", shards);
  }
  return "iid";
}

Result<PartitionSpec> parse_partition(std::string_view text) {
  PartitionSpec spec;
  if (text == "iid") return spec;
  const auto colon = text.find(':');
  const auto kind = text.substr(0, colon);
  const auto arg = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  if (kind == "dirichlet") {
    spec.kind = PartitionSpec::Kind::dirichlet;
    const auto alpha = parse_double(arg);
    if (alpha) spec.alpha = *alpha;
    if (!alpha || !(spec.alpha > 0) || !std::isfinite(spec.alpha)) {
      return fail(Errc::invalid_argument,
                  fmt::format("partition '{}': alpha must be a positive number", text));
    }
    return spec;
  }
  if (kind == "shards") {
    spec.kind = PartitionSpec::Kind::shards;
    const auto [ptr, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), spec.shards);
    if (arg.empty() || ec != std::errc{} || ptr != arg.data() + arg.size() || spec.shards < 1) {
      return fail(Errc::invalid_argument,
                  fmt::format("partition '{}': shard count must be a positive integer", text));
    }
    return spec;
  }
  return fail(Errc::invalid_argument,
              fmt::format("unknown partition '{}' (iid, dirichlet:ALPHA or shards:K)", text));
}

Result<std::vector<std::vector<std::size_t>>> partition_rows(
    const std::vector<std::int64_t>& labels, std::int64_t num_classes, std::size_t parts,
    const PartitionSpec& spec, std::uint64_t seed) {
  if (parts == 0) return fail(Errc::invalid_argument, "cannot partition across 0 providers");
  if (labels.size() < parts) {
    return fail(Errc::invalid_argument,
                fmt::format("{} rows cannot be split across {} providers", labels.size(), parts));
  }
  Rng rng(seed);
  std::vector<std::vector<std::size_t>> out(parts);
  if (spec.kind == PartitionSpec::Kind::iid) {
    std::vector<std::size_t> order(labels.size());
    std::iota(order.begin(), order.end(), 0);
    rng.shuffle(std::span(order));
    for (std::size_t i = 0; i < order.size(); ++i)
      out[i % parts].push_back(order[i]);
    for (auto& part : out)
      std::sort(part.begin(), part.end());
    return out;
  }
  std::vector<std::vector<std::size_t>> by_class(
      static_cast<std::size_t>(std::max<std::int64_t>(num_classes, 1)));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      return fail(Errc::invalid_argument,
                  fmt::format("row {} has label {} outside [0, {})", i, labels[i], num_classes));
    }
    by_class[static_cast<std::size_t>(labels[i])].push_back(i);
  }
  if (spec.kind == PartitionSpec::Kind::dirichlet) {
    const std::size_t min_rows = std::min<std::size_t>(10, labels.size() / parts);
    for (int attempt = 0; attempt < 1000; ++attempt) {
      for (auto& part : out)
        part.clear();
      for (auto& rows : by_class) {
        std::vector<std::size_t> order = rows;
        rng.shuffle(std::span(order));
        std::vector<double> proportions(parts);
        double total = 0;
        for (std::size_t p = 0; p < parts; ++p) {
          // NIID-Bench: a provider already holding its share (N/parts) gets no more.
          proportions[p] = out[p].size() < labels.size() / parts ? rng.gamma(spec.alpha) : 0.0;
          total += proportions[p];
        }
        if (total <= 0) {
          for (auto& value : proportions)
            value = 1.0;
          total = static_cast<double>(parts);
        }
        std::size_t start = 0;
        double cumulative = 0;
        for (std::size_t p = 0; p < parts; ++p) {
          cumulative += proportions[p] / total;
          const std::size_t end =
              p + 1 == parts
                  ? order.size()
                  : std::min(order.size(), static_cast<std::size_t>(
                                               cumulative * static_cast<double>(order.size())));
          for (std::size_t i = start; i < end; ++i)
            out[p].push_back(order[i]);
          start = std::max(start, end);
        }
      }
      const bool enough = std::all_of(out.begin(), out.end(),
                                      [&](const auto& part) { return part.size() >= min_rows; });
      if (enough) {
        for (auto& part : out)
          std::sort(part.begin(), part.end());
        return out;
      }
    }
    return fail(Errc::invalid_argument,
                fmt::format("dirichlet:{} could not give every one of {} providers {} rows",
                            spec.alpha, parts, min_rows));
  }
  // shards
  std::vector<std::size_t> sorted;
  sorted.reserve(labels.size());
  for (auto& rows : by_class)
    sorted.insert(sorted.end(), rows.begin(), rows.end());
  const std::size_t shard_count = parts * static_cast<std::size_t>(spec.shards);
  if (shard_count > labels.size()) {
    return fail(
        Errc::invalid_argument,
        fmt::format("{} shards need at least as many rows (have {})", shard_count, labels.size()));
  }
  std::vector<std::size_t> shard_ids(shard_count);
  std::iota(shard_ids.begin(), shard_ids.end(), 0);
  rng.shuffle(std::span(shard_ids));
  for (std::size_t s = 0; s < shard_count; ++s) {
    const std::size_t id = shard_ids[s];
    const std::size_t begin = id * sorted.size() / shard_count;
    const std::size_t end = (id + 1) * sorted.size() / shard_count;
    auto& part = out[s / static_cast<std::size_t>(spec.shards)];
    part.insert(part.end(), sorted.begin() + static_cast<std::ptrdiff_t>(begin),
                sorted.begin() + static_cast<std::ptrdiff_t>(end));
  }
  for (auto& part : out)
    std::sort(part.begin(), part.end());
  return out;
}

}  // namespace cairn::learn

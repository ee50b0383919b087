#pragma once
// The hash calendar: one leaf per second since 1970 (KSI's shape), append-only and kept in
// a file of fixed-size records, each checksummed and flushed to disk before it counts.
// Seconds without a round hold a constant empty leaf, so the tree over 1.7 billion
// seconds is computed from the few real leaves: a subtree with no real leaf has a hash
// that depends only on its size.

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/error.hpp"
#include "base/file.hpp"
#include "seal/signature.hpp"

namespace cairn::seal {

class Calendar {
 public:
  // Opens (or creates) the calendar in `directory`. A torn last record from a crash is
  // cut off; any other damage is an error.
  static Result<std::unique_ptr<Calendar>> open(const std::filesystem::path& directory);
  // An in-memory calendar (tests, benchmarks).
  Calendar() = default;
  ~Calendar();
  Calendar(const Calendar&) = delete;
  Calendar& operator=(const Calendar&) = delete;

  // Appends the leaf for second `time`; times must increase. Durable when it returns.
  Status append(std::uint64_t time, const Imprint& leaf);
  std::optional<std::uint64_t> head_time() const;
  std::size_t leaf_count() const;
  std::optional<Imprint> leaf(std::uint64_t time) const;

  // The root over seconds 0..publication_time. REQUIRES: publication_time <= head_time().
  Result<Imprint> root(std::uint64_t publication_time) const;
  // The calendar hash chain from the leaf of `aggregation_time` to root(publication_time).
  Result<CalendarChain> chain(std::uint64_t aggregation_time, std::uint64_t publication_time) const;

  // The value of a second with no round.
  static Imprint empty_leaf();

 private:
  Imprint node(std::uint64_t first, std::uint64_t span_minus_one) const;
  Imprint empty_node(std::uint64_t span_minus_one) const;
  bool has_leaves(std::uint64_t first, std::uint64_t last) const;

  mutable std::mutex mutex_;
  std::map<std::uint64_t, Imprint> leaves_;
  mutable std::unordered_map<std::uint64_t, Imprint> empty_cache_;
  // Complete subtrees below the head never change; keyed by (first leaf, height).
  mutable std::map<std::pair<std::uint64_t, std::uint64_t>, Imprint> full_cache_;
  int fd_ = -1;
  std::optional<file::ProcessLock> lock_;  // held while this process extends the calendar
};

}  // namespace cairn::seal

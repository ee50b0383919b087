#include "seal/calendar.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>

#include "seal/publication.hpp"

namespace cairn::seal {
namespace {

// Record: time (8 bytes BE) ‖ SHA-256 imprint (33) ‖ CRC-32 of both (4).
constexpr std::size_t kRecordSize = 8 + 33 + 4;

std::uint64_t high_bit(std::uint64_t n) {
  return n == 0 ? 0 : std::uint64_t{1} << (63 - std::countl_zero(n));
}

Imprint join(const Imprint& left, const Imprint& right) {
  ImprintHasher hasher(right.algorithm());
  hasher.update(left.bytes()).update(right.bytes()).update(std::uint8_t{0xFF});
  return hasher.finish();
}

Status write_all(int fd, ByteView data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::io, std::string("calendar write failed: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

Calendar::~Calendar() {
  if (fd_ >= 0) ::close(fd_);
}

Imprint Calendar::empty_leaf() {
  return Imprint::of(HashId::sha2_256, Bytes(32, std::byte{0}));
}

Result<std::unique_ptr<Calendar>> Calendar::open(const std::filesystem::path& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return fail(Errc::io, "cannot create " + directory.string() + ": " + ec.message());
  const auto path = directory / "calendar.dat";
  auto calendar = std::make_unique<Calendar>();
  // One signing service per calendar: a second one on the same repository would extend
  // the same hash chain from its own view of it, and signatures made before a restart
  // would then fail to verify.
  CAIRN_TRY_ASSIGN(auto lock, file::ProcessLock::acquire(directory / "calendar.lock",
                                                         "the calendar " + directory.string()));
  calendar->lock_.emplace(std::move(lock));
  calendar->fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (calendar->fd_ < 0) {
    return fail(Errc::io, "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  struct stat st {};
  ::fstat(calendar->fd_, &st);
  Bytes contents(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::pread(calendar->fd_, contents.data() + done, contents.size() - done,
                              static_cast<off_t>(done));
    if (n <= 0) return fail(Errc::io, "cannot read " + path.string());
    done += static_cast<std::size_t>(n);
  }
  const std::size_t whole = contents.size() / kRecordSize;
  std::optional<std::uint64_t> previous;
  for (std::size_t i = 0; i < whole; ++i) {
    const ByteView record = ByteView(contents).subspan(i * kRecordSize, kRecordSize);
    if (crc32(record.first(41)) != static_cast<std::uint32_t>(read_be(record.subspan(41, 4)))) {
      if (i + 1 == whole) {  // torn by a crash while being written: never acknowledged
        contents.resize(i * kRecordSize);
        break;
      }
      return fail(Errc::integrity, fmt::format("calendar record {} is corrupt", i));
    }
    const std::uint64_t time = read_be(record.first(8));
    if (previous && time <= *previous) {
      return fail(Errc::integrity, fmt::format("calendar record {} goes back in time", i));
    }
    CAIRN_TRY_ASSIGN(Imprint leaf, Imprint::parse(record.subspan(8, 33)));
    calendar->leaves_.emplace(time, std::move(leaf));
    previous = time;
  }
  const std::size_t valid = calendar->leaves_.size() * kRecordSize;
  if (valid != static_cast<std::size_t>(st.st_size)) {
    if (::ftruncate(calendar->fd_, static_cast<off_t>(valid)) != 0) {
      return fail(Errc::io, "cannot cut the torn calendar record");
    }
  }
  ::lseek(calendar->fd_, static_cast<off_t>(valid), SEEK_SET);
  return calendar;
}

Status Calendar::append(std::uint64_t time, const Imprint& leaf) {
  std::lock_guard lock(mutex_);
  if (!leaves_.empty() && time <= leaves_.rbegin()->first) {
    return fail(Errc::conflict, fmt::format("calendar already has second {} (asked for {})",
                                            leaves_.rbegin()->first, time));
  }
  if (leaf.algorithm() != HashId::sha2_256) {
    return fail(Errc::invalid_argument, "calendar leaves are SHA-256 imprints");
  }
  if (fd_ >= 0) {
    Bytes record;
    append_be(record, time, 8);
    cairn::append(record, leaf.bytes());
    append_be(record, crc32(record), 4);
    CAIRN_TRY(write_all(fd_, record));
    if (::fdatasync(fd_) != 0) return fail(Errc::io, "calendar fdatasync failed");
  }
  leaves_.emplace(time, leaf);
  return {};
}

std::optional<std::uint64_t> Calendar::head_time() const {
  std::lock_guard lock(mutex_);
  if (leaves_.empty()) return std::nullopt;
  return leaves_.rbegin()->first;
}

std::size_t Calendar::leaf_count() const {
  std::lock_guard lock(mutex_);
  return leaves_.size();
}

std::optional<Imprint> Calendar::leaf(std::uint64_t time) const {
  std::lock_guard lock(mutex_);
  auto it = leaves_.find(time);
  if (it == leaves_.end()) return std::nullopt;
  return it->second;
}

bool Calendar::has_leaves(std::uint64_t first, std::uint64_t last) const {
  auto it = leaves_.lower_bound(first);
  return it != leaves_.end() && it->first <= last;
}

Imprint Calendar::empty_node(std::uint64_t span_minus_one) const {
  if (span_minus_one == 0) return empty_leaf();
  if (auto it = empty_cache_.find(span_minus_one); it != empty_cache_.end()) return it->second;
  const std::uint64_t bit = high_bit(span_minus_one);
  Imprint value = join(empty_node(bit - 1), empty_node(span_minus_one - bit));
  empty_cache_.emplace(span_minus_one, value);
  return value;
}

// The node over leaves [first, first + span_minus_one], shaped as KSI's calendar: a left
// subtree over the largest power of two below the span, the rest to the right.
Imprint Calendar::node(std::uint64_t first, std::uint64_t span_minus_one) const {
  const std::uint64_t last = first + span_minus_one;
  if (!has_leaves(first, last)) return empty_node(span_minus_one);
  if (span_minus_one == 0) return leaves_.at(first);
  const bool complete = std::has_single_bit(span_minus_one + 1) && !leaves_.empty() &&
                        leaves_.rbegin()->first >= last;
  const auto key = std::make_pair(first, span_minus_one);
  if (complete) {
    if (auto it = full_cache_.find(key); it != full_cache_.end()) return it->second;
  }
  const std::uint64_t bit = high_bit(span_minus_one);
  Imprint value = join(node(first, bit - 1), node(first + bit, span_minus_one - bit));
  if (complete) full_cache_.emplace(key, value);
  return value;
}

Result<Imprint> Calendar::root(std::uint64_t publication_time) const {
  std::lock_guard lock(mutex_);
  if (leaves_.empty() || publication_time > leaves_.rbegin()->first) {
    return fail(Errc::not_found, fmt::format("calendar has no second {} yet", publication_time));
  }
  return node(0, publication_time);
}

Result<CalendarChain> Calendar::chain(std::uint64_t aggregation_time,
                                      std::uint64_t publication_time) const {
  std::lock_guard lock(mutex_);
  if (leaves_.empty() || publication_time > leaves_.rbegin()->first) {
    return fail(Errc::not_found, fmt::format("calendar has no second {} yet", publication_time));
  }
  if (aggregation_time > publication_time) {
    return fail(Errc::invalid_argument, "aggregation time is after the publication time");
  }
  auto leaf_it = leaves_.find(aggregation_time);
  if (leaf_it == leaves_.end()) {
    return fail(Errc::not_found,
                fmt::format("calendar has no round at second {}", aggregation_time));
  }
  CalendarChain chain;
  chain.publication_time = publication_time;
  chain.aggregation_time = aggregation_time;
  chain.input_hash = leaf_it->second;
  std::vector<CalendarLink> from_root;
  std::uint64_t first = 0;
  std::uint64_t span = publication_time;
  while (span > 0) {
    const std::uint64_t bit = high_bit(span);
    CalendarLink link;
    if (aggregation_time < first + bit) {
      link.left = true;
      link.sibling = node(first + bit, span - bit);
      span = bit - 1;
    } else {
      link.left = false;
      link.sibling = node(first, bit - 1);
      first += bit;
      span -= bit;
    }
    from_root.push_back(std::move(link));
  }
  chain.links.assign(from_root.rbegin(), from_root.rend());
  return chain;
}

}  // namespace cairn::seal

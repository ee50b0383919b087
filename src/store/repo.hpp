#pragma once
// A node's repository: the directory behind `--repo` (default ~/.cairn).
//
//   <repo>/version     "cairn-repo 1": marks the directory as a cairn repository
//   <repo>/blocks/     the RocksDB block store (and its LOCK: one writer at a time)
//   <repo>/tmp/        downloads in progress (`cairn fetch`), removed when done
//
// The repository is created on first use. A directory that exists, is not empty and has
// no version file is refused rather than written into (a mistyped --repo $HOME).

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>

#include "base/error.hpp"
#include "store/blockstore.hpp"

namespace cairn::store {

enum class RepoAccess {
  write,  // take the lock; fail with `conflict` if another process holds it
  read,   // take the lock if free, else open read-only beside the process that holds it
  // Open an existing store read-only without the lock: one-shot readers (cat, get, car
  // export, pin ls, passport verify) see the store as it is and leave no file behind (a
  // read-write open starts a new, empty write-ahead log every time).
  snapshot,
};

class Repo {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Repo>> open(const std::filesystem::path& root,
                                                          RepoAccess access);

  Blockstore& blocks() { return *blocks_; }
  const std::filesystem::path& root() const { return root_; }
  // A directory for temporary files on the same file system as the store.
  [[nodiscard]] Result<std::filesystem::path> temp_dir() const;

 private:
  Repo(std::filesystem::path root, std::unique_ptr<Blockstore> blocks)
      : root_(std::move(root)), blocks_(std::move(blocks)) {}
  std::filesystem::path root_;
  std::unique_ptr<Blockstore> blocks_;
};

// A read-only view of a repository that another process may be writing: `gateway serve`
// beside `cairn add`, as kubo allows. It reads a snapshot without the lock and, when a block
// is missing, opens a fresh snapshot (at most once per `refresh`) so that what the writer
// has made durable since (an `add` is durable once it has pinned) becomes visible. Safe to
// read from several threads; a reader keeps the snapshot it started with.
class FollowingSnapshot final : public BlockSource {
 public:
  [[nodiscard]] static Result<std::unique_ptr<FollowingSnapshot>> open(
      const std::filesystem::path& root,
      std::chrono::milliseconds refresh = std::chrono::milliseconds(500));

  Result<Bytes> get(const Cid& cid) override;
  Result<bool> has(const Cid& cid) override;
  // Snapshots opened so far (the first included).
  std::uint64_t opens() const;

 private:
  FollowingSnapshot(std::filesystem::path root, std::chrono::milliseconds refresh,
                    std::shared_ptr<Repo> first);
  std::shared_ptr<Repo> current() const;
  // A newer snapshot when the last one is older than `refresh_`; null when not due or the
  // open failed (the old one stays).
  std::shared_ptr<Repo> refreshed();

  std::filesystem::path root_;
  std::chrono::milliseconds refresh_;
  mutable std::mutex mutex_;
  std::shared_ptr<Repo> repo_;
  std::chrono::steady_clock::time_point opened_at_;
  std::uint64_t opens_ = 1;
};

}  // namespace cairn::store

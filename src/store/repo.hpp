#pragma once
// A node's repository: the directory behind `--repo` (default ~/.cairn).
//
//   <repo>/version     "cairn-repo 1": marks the directory as a cairn repository
//   <repo>/blocks/     the RocksDB block store (and its LOCK: one writer at a time)
//   <repo>/tmp/        downloads in progress (`cairn fetch`), removed when done
//
// The repository is created on first use. A directory that exists, is not empty and has
// no version file is refused rather than written into (a mistyped --repo $HOME).

#include <filesystem>
#include <memory>

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

}  // namespace cairn::store

#include "store/repo.hpp"

#include <fmt/format.h>

#include "base/file.hpp"

namespace cairn::store {
namespace {

constexpr std::string_view kVersionLine = "cairn-repo 1";

Status prepare_root(const std::filesystem::path& root, bool create) {
  std::error_code ec;
  const auto version_file = root / "version";
  if (std::filesystem::exists(version_file, ec)) {
    CAIRN_TRY_ASSIGN(auto text, file::read_text(version_file, file::kSmallFileCap));
    const std::string line = text.substr(0, text.find('\n'));
    if (line != kVersionLine) {
      return fail(Errc::unsupported, fmt::format("{} is a repository of version '{}'; this cairn "
                                                 "uses '{}'",
                                                 root.string(), line, kVersionLine));
    }
    return {};
  }
  if (std::filesystem::exists(root, ec)) {
    if (!std::filesystem::is_directory(root, ec)) {
      return fail(
          Errc::invalid_argument,
          fmt::format("the repository path {} exists and is not a directory", root.string()));
    }
    if (!std::filesystem::is_empty(root, ec)) {
      return fail(Errc::invalid_argument,
                  fmt::format("{} is not empty and is not a cairn repository (it has no version "
                              "file); choose another --repo",
                              root.string()));
    }
  }
  if (!create)
    return fail(Errc::not_found, fmt::format("no cairn repository at {}", root.string()));
  CAIRN_TRY(with_context(file::create_directories(root, 0700), "creating the repository"));
  return file::write_atomic(version_file, std::string(kVersionLine) + "\n");
}

}  // namespace

Result<std::unique_ptr<Repo>> Repo::open(const std::filesystem::path& root, RepoAccess access) {
  CAIRN_TRY(prepare_root(root, true));
  BlockstoreOptions options;
  std::error_code ec;
  options.read_only =
      access == RepoAccess::snapshot && std::filesystem::exists(root / "blocks" / "CURRENT", ec);
  auto blocks = Blockstore::open(root / "blocks", options);
  if (!blocks && blocks.error().code == Errc::conflict && access != RepoAccess::write &&
      !options.read_only) {
    options.read_only = true;
    blocks = Blockstore::open(root / "blocks", options);
  }
  if (!blocks) return std::unexpected(std::move(blocks).error());
  return std::unique_ptr<Repo>(new Repo(root, std::move(*blocks)));
}

Result<std::unique_ptr<FollowingSnapshot>> FollowingSnapshot::open(
    const std::filesystem::path& root, std::chrono::milliseconds refresh) {
  CAIRN_TRY_ASSIGN(std::unique_ptr<Repo> first, Repo::open(root, RepoAccess::snapshot));
  if (!first->blocks().read_only()) {
    // The store did not exist and was just created, holding the lock: let it go.
    first.reset();
    CAIRN_TRY_ASSIGN(first, Repo::open(root, RepoAccess::snapshot));
  }
  return std::unique_ptr<FollowingSnapshot>(
      new FollowingSnapshot(root, refresh, std::shared_ptr<Repo>(std::move(first))));
}

FollowingSnapshot::FollowingSnapshot(std::filesystem::path root, std::chrono::milliseconds refresh,
                                     std::shared_ptr<Repo> first)
    : root_(std::move(root)),
      refresh_(refresh),
      repo_(std::move(first)),
      opened_at_(std::chrono::steady_clock::now()) {}

std::shared_ptr<Repo> FollowingSnapshot::current() const {
  std::lock_guard lock(mutex_);
  return repo_;
}

std::shared_ptr<Repo> FollowingSnapshot::refreshed() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (now - opened_at_ < refresh_) return nullptr;
  opened_at_ = now;
  auto fresh = Repo::open(root_, RepoAccess::snapshot);
  if (!fresh) return nullptr;  // the writer may be mid-way: keep serving the old snapshot
  repo_ = std::shared_ptr<Repo>(std::move(*fresh));
  ++opens_;
  return repo_;
}

std::uint64_t FollowingSnapshot::opens() const {
  std::lock_guard lock(mutex_);
  return opens_;
}

Result<Bytes> FollowingSnapshot::get(const Cid& cid) {
  auto block = current()->blocks().get(cid);
  if (block || block.error().code != Errc::not_found) return block;
  if (auto fresh = refreshed()) return fresh->blocks().get(cid);
  return block;
}

Result<bool> FollowingSnapshot::has(const Cid& cid) {
  auto held = current()->blocks().has(cid);
  if (!held || *held) return held;
  if (auto fresh = refreshed()) return fresh->blocks().has(cid);
  return held;
}

Result<std::filesystem::path> Repo::temp_dir() const {
  const auto dir = root_ / "tmp";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(Errc::io, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  return dir;
}

}  // namespace cairn::store

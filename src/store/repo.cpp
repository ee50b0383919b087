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

Result<std::filesystem::path> Repo::temp_dir() const {
  const auto dir = root_ / "tmp";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(Errc::io, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  return dir;
}

}  // namespace cairn::store

#pragma once
// Helpers shared by cairn's tests.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "base/bytes.hpp"

namespace cairn::testing {

// A fresh directory under the system temp dir, removed with everything in it on
// destruction (kept when CAIRN_KEEP_TEST_DIRS is set, for debugging).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// The source tree and build tree of this build (for tools, fixtures, the cairn binary).
std::filesystem::path source_dir();
std::filesystem::path binary_dir();
std::filesystem::path cairn_binary();
// node_modules/.bin/<tool> in the source tree, if scripts/setup installed it.
std::optional<std::filesystem::path> node_tool(const std::string& name);

// A loopback TCP port that was free a moment ago.
std::uint16_t free_port();

// Deterministic pseudo-random bytes for test inputs (not for keys).
Bytes pseudo_random_bytes(std::size_t count, std::uint64_t seed);

void write_file(const std::filesystem::path& path, ByteView contents);
Bytes read_file(const std::filesystem::path& path);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // standard output
  std::string err;  // standard error
};
// Runs a shell command line and captures both streams.
CommandResult run_command(const std::string& command_line);

}  // namespace cairn::testing

#pragma once
// The `cairn` command line: a registry of commands, a small argument parser, and the
// output conventions every command follows:
//   - results on standard output; progress and diagnostics on standard error;
//   - with --json, one JSON object on the last line of standard output;
//   - exit 0 on success, 1 on failure, 2 on a usage error.
// Commands register themselves from their own file with a static CommandRegistration.

#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "base/file.hpp"

namespace cairn::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Thrown for a bad command line; main() prints it with the command's usage and exits 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Thrown for a failure the command cannot recover from; main() prints it and exits 1.
struct CommandError : std::runtime_error {
  explicit CommandError(const Error& error)
      : std::runtime_error(error.to_string()), code(error.code) {}
  explicit CommandError(const std::string& message)
      : std::runtime_error(message), code(Errc::invalid_argument) {}
  Errc code;
};

// An option a command accepts. Options with a value take it as "--name VALUE" or
// "--name=VALUE"; `repeatable` options may be given more than once.
struct OptionSpec {
  OptionSpec(std::string name_, bool takes_value_, std::string help_, std::string alias_ = {},
             bool repeatable_ = false)
      : name(std::move(name_)),
        takes_value(takes_value_),
        help(std::move(help_)),
        alias(std::move(alias_)),
        repeatable(repeatable_) {}
  std::string name;  // "--out", or "-o" as an alias through `alias`
  bool takes_value = false;
  std::string help;
  std::string alias;  // e.g. "-o" for "--output"
  bool repeatable = false;
};

class Args {
 public:
  Args(std::vector<std::string> positional, std::map<std::string, std::vector<std::string>> options)
      : positional_(std::move(positional)), options_(std::move(options)) {}

  const std::vector<std::string>& positional() const { return positional_; }
  // The i-th positional argument, or a usage error naming `what`.
  const std::string& positional(std::size_t i, std::string_view what) const;
  // Fails with a usage error unless there are between `min` and `max` positionals.
  void expect_positional(std::size_t min, std::size_t max) const;

  bool has(std::string_view option) const { return options_.contains(std::string(option)); }
  std::optional<std::string> get(std::string_view option) const;
  std::string get_or(std::string_view option, std::string fallback) const;
  std::string require(std::string_view option) const;
  const std::vector<std::string>& all(std::string_view option) const;
  // Numeric options, with a usage error for text that is not a number in range.
  std::optional<std::int64_t> get_int(std::string_view option, std::int64_t min,
                                      std::int64_t max) const;
  std::int64_t get_int_or(std::string_view option, std::int64_t fallback, std::int64_t min,
                          std::int64_t max) const;
  std::optional<double> get_double(std::string_view option) const;
  // A byte count: digits with an optional binary unit (K, KiB, M, MiB, G, GiB, T, TiB), e.g.
  // "4GiB"; a usage error for anything else, zero included.
  std::optional<std::uint64_t> get_bytes(std::string_view option) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>> options_;
};

// What every command gets besides its arguments: the global options and output helpers.
class Context {
 public:
  std::filesystem::path repo;  // --repo, default $CAIRN_REPO or ~/.cairn
  bool json = false;           // --json: human output suppressed, JSON object last
  bool quiet = false;          // --quiet: no progress on stderr

  // A line of human-readable result text (standard output); silent under --json.
  void print(std::string_view line) const;
  // Progress for long work (standard error); silent under --quiet or --json.
  void progress(std::string_view line) const;
  // The command's result object; printed as the last line under --json.
  nlohmann::json result = nlohmann::json::object();
};

struct Command {
  std::string name;  // "add", "car", "chain"
  std::string verb;  // "" for commands without verbs; "export" for `cairn car export`
  std::string summary;
  std::string usage;  // "CID -o FILE.car"
  std::vector<OptionSpec> options;
  std::string details;  // longer help text, optional
  std::function<int(Context&, const Args&)> run;
};

class Registry {
 public:
  static Registry& instance();
  void add(Command command);
  const Command* find(std::string_view name, std::string_view verb) const;
  bool has_verbs(std::string_view name) const;
  std::vector<const Command*> commands() const;
  std::vector<const Command*> verbs_of(std::string_view name) const;

 private:
  std::vector<Command> commands_;
};

struct CommandRegistration {
  explicit CommandRegistration(Command command) { Registry::instance().add(std::move(command)); }
};

// Unwraps a Result for a command, turning a failure into a CommandError (exit 1).
template <class T>
T unwrap(Result<T> result, std::string_view doing = {}) {
  if (!result) {
    throw CommandError(doing.empty() ? result.error() : result.error().context(doing));
  }
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}
inline void unwrap(Status status, std::string_view doing = {}) {
  if (!status) throw CommandError(doing.empty() ? status.error() : status.error().context(doing));
}

// Unwraps the parse of an option's value: a bad value is a usage error (exit 2) naming the
// option, not a failure of the command.
template <class T>
T usage_unwrap(Result<T> result, std::string_view option) {
  if (!result) throw UsageError(std::string(option) + ": " + result.error().message);
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

// Files a command reads or writes, through the one file layer: capped reads, atomic
// writes with their mode set at creation. `what` names the file's role in errors ("--config",
// "the offer"); a directory where a file is meant is refused by name.
std::string read_text_file(const std::filesystem::path& path, std::string_view what = {},
                           std::uint64_t max_bytes = file::kSmallFileCap);
Bytes read_binary_file(const std::filesystem::path& path, std::string_view what = {},
                       std::uint64_t max_bytes = file::kSmallFileCap);
void write_file(const std::filesystem::path& path, ByteView contents, mode_t mode = file::kPublic);
void write_file(const std::filesystem::path& path, std::string_view contents,
                mode_t mode = file::kPublic);

// Parses argv for one command against its option specs (exposed for tests).
Args parse_args(const Command& command, const std::vector<std::string>& argv);

// The whole command line: global options, dispatch, errors, exit code.
int run_main(const std::vector<std::string>& argv);

}  // namespace cairn::cli

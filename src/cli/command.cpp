#include "cli/command.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "base/log.hpp"
#include "cairn/version.hpp"

namespace cairn::cli {

Bytes read_binary_file(const std::filesystem::path& path, std::string_view what,
                       std::uint64_t max_bytes) {
  auto bytes = file::read(path, max_bytes);
  if (!bytes) throw CommandError(what.empty() ? bytes.error() : bytes.error().context(what));
  return *std::move(bytes);
}

std::string read_text_file(const std::filesystem::path& path, std::string_view what,
                           std::uint64_t max_bytes) {
  return std::string(as_chars(read_binary_file(path, what, max_bytes)));
}

void write_file(const std::filesystem::path& path, ByteView contents, mode_t mode) {
  unwrap(file::write_atomic(path, contents, {.mode = mode}));
}

void write_file(const std::filesystem::path& path, std::string_view contents, mode_t mode) {
  write_file(path, as_bytes(contents), mode);
}

// ---- Args ----

const std::string& Args::positional(std::size_t i, std::string_view what) const {
  if (i >= positional_.size()) throw UsageError(fmt::format("missing {}", what));
  return positional_[i];
}

void Args::expect_positional(std::size_t min, std::size_t max) const {
  if (positional_.size() < min) {
    throw UsageError(fmt::format("expected at least {} argument{}", min, min == 1 ? "" : "s"));
  }
  if (positional_.size() > max) {
    throw UsageError(fmt::format("unexpected argument '{}'", positional_[max]));
  }
}

std::optional<std::string> Args::get(std::string_view option) const {
  const auto it = options_.find(std::string(option));
  if (it == options_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string Args::get_or(std::string_view option, std::string fallback) const {
  auto value = get(option);
  return value ? *value : std::move(fallback);
}

std::string Args::require(std::string_view option) const {
  auto value = get(option);
  if (!value) throw UsageError(fmt::format("{} is required", option));
  return *value;
}

const std::vector<std::string>& Args::all(std::string_view option) const {
  static const std::vector<std::string> kNone;
  const auto it = options_.find(std::string(option));
  return it == options_.end() ? kNone : it->second;
}

std::optional<std::int64_t> Args::get_int(std::string_view option, std::int64_t min,
                                          std::int64_t max) const {
  const auto text = get(option);
  if (!text) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) {
    throw UsageError(fmt::format("{} takes a whole number, not '{}'", option, *text));
  }
  if (value < min || value > max) {
    throw UsageError(fmt::format("{} must be between {} and {}", option, min, max));
  }
  return value;
}

std::int64_t Args::get_int_or(std::string_view option, std::int64_t fallback, std::int64_t min,
                              std::int64_t max) const {
  return get_int(option, min, max).value_or(fallback);
}

std::optional<double> Args::get_double(std::string_view option) const {
  const auto text = get(option);
  if (!text) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text->c_str(), &end);
  if (text->empty() || end != text->c_str() + text->size()) {
    throw UsageError(fmt::format("{} takes a number, not '{}'", option, *text));
  }
  return value;
}

std::optional<std::uint64_t> Args::get_bytes(std::string_view option) const {
  const auto text = get(option);
  if (!text) return std::nullopt;
  const auto refuse = [&]() -> UsageError {
    return UsageError(fmt::format("{} takes a byte count such as 1048576, 512MiB or 4GiB, not '{}'",
                                  option, *text));
  };
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), number);
  if (ec != std::errc() || end == text->data()) throw refuse();
  const std::string_view unit(end, static_cast<std::size_t>(text->data() + text->size() - end));
  unsigned shift = 0;
  if (unit == "K" || unit == "KiB") {
    shift = 10;
  } else if (unit == "M" || unit == "MiB") {
    shift = 20;
  } else if (unit == "G" || unit == "GiB") {
    shift = 30;
  } else if (unit == "T" || unit == "TiB") {
    shift = 40;
  } else if (!unit.empty() && unit != "B") {
    throw refuse();
  }
  if (number == 0 || number > (UINT64_MAX >> shift)) throw refuse();
  return number << shift;
}

// ---- Context ----

void Context::print(std::string_view line) const {
  if (json) return;
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
}

void Context::progress(std::string_view line) const {
  if (quiet || json) return;
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fputc('\n', stderr);
}

// ---- Registry ----

Registry& Registry::instance() {
  static Registry registry;
  return registry;
}

void Registry::add(Command command) {
  commands_.push_back(std::move(command));
}

const Command* Registry::find(std::string_view name, std::string_view verb) const {
  for (const auto& c : commands_) {
    if (c.name == name && c.verb == verb) return &c;
  }
  return nullptr;
}

bool Registry::has_verbs(std::string_view name) const {
  for (const auto& c : commands_) {
    if (c.name == name && !c.verb.empty()) return true;
  }
  return false;
}

std::vector<const Command*> Registry::commands() const {
  std::vector<const Command*> out;
  for (const auto& c : commands_)
    out.push_back(&c);
  std::sort(out.begin(), out.end(), [](const Command* a, const Command* b) {
    return std::tie(a->name, a->verb) < std::tie(b->name, b->verb);
  });
  return out;
}

std::vector<const Command*> Registry::verbs_of(std::string_view name) const {
  std::vector<const Command*> out;
  for (const auto* c : commands()) {
    if (c->name == name && !c->verb.empty()) out.push_back(c);
  }
  return out;
}

// ---- parsing and dispatch ----

namespace {

std::string command_title(const Command& c) {
  return c.verb.empty() ? "cairn " + c.name : "cairn " + c.name + " " + c.verb;
}

void print_command_help(const Command& c) {
  std::printf("usage: %s %s\n\n%s\n", command_title(c).c_str(), c.usage.c_str(), c.summary.c_str());
  if (!c.details.empty()) std::printf("\n%s\n", c.details.c_str());
  if (!c.options.empty()) {
    std::printf("\noptions:\n");
    for (const auto& o : c.options) {
      std::string flag = o.alias.empty() ? o.name : o.alias + ", " + o.name;
      if (o.takes_value) flag += " VALUE";
      std::printf("  %-28s %s\n", flag.c_str(), o.help.c_str());
    }
  }
  std::printf("\nglobal options: --repo DIR, --json, --quiet, --log-level LEVEL, --help\n");
}

void print_verbs(std::string_view name) {
  std::printf("usage: cairn %.*s <verb> [options]\n\nverbs:\n", static_cast<int>(name.size()),
              name.data());
  for (const auto* c : Registry::instance().verbs_of(name)) {
    std::printf("  %-10s %s\n", c->verb.c_str(), c->summary.c_str());
  }
}

void print_main_help() {
  std::printf(
      "cairn %s — trustworthy collaborative AI: content-addressed storage, keyless\n"
      "signatures, an Ethereum ledger and federated learning, every step verifiable.\n\n"
      "usage: cairn [--repo DIR] [--json] [--quiet] <command> [<verb>] [options]\n\n"
      "commands:\n",
      build::kVersion);
  std::string last;
  for (const auto* c : Registry::instance().commands()) {
    if (c->name == last) continue;
    last = c->name;
    if (Registry::instance().has_verbs(c->name)) {
      std::string verbs;
      for (const auto* v : Registry::instance().verbs_of(c->name)) {
        verbs += (verbs.empty() ? "" : "|") + v->verb;
      }
      std::printf("  %-10s %s\n", c->name.c_str(), verbs.c_str());
    } else {
      std::printf("  %-10s %s\n", c->name.c_str(), c->summary.c_str());
    }
  }
  std::printf(
      "\nglobal options:\n"
      "  --repo DIR         the node's repository (default $CAIRN_REPO or ~/.cairn)\n"
      "  --json             print the result as one JSON object on the last line\n"
      "  --quiet            no progress output\n"
      "  --log-level LEVEL  debug|info|warn|error|off (default info, or $CAIRN_LOG)\n"
      "  --version          print the version and the git commit\n\n"
      "`cairn <command> --help` describes a command. Exit status: 0 success, 1 failure,\n"
      "2 usage error.\n");
}

std::filesystem::path default_repo() {
  if (const char* env = std::getenv("CAIRN_REPO"); env && *env) return env;
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::filesystem::path(home) / ".cairn";
  }
  return ".cairn";
}

const OptionSpec* find_option(const Command& c, std::string_view name) {
  for (const auto& o : c.options) {
    if (o.name == name || (!o.alias.empty() && o.alias == name)) return &o;
  }
  return nullptr;
}

}  // namespace

Args parse_args(const Command& command, const std::vector<std::string>& argv) {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> options;
  bool only_positional = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (only_positional || arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    const OptionSpec* spec = find_option(command, name);
    if (spec == nullptr) {
      throw UsageError(fmt::format("{} does not take {}", command_title(command), name));
    }
    std::string value;
    if (spec->takes_value) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        throw UsageError(fmt::format("{} needs a value", spec->name));
      }
    } else if (inline_value) {
      throw UsageError(fmt::format("{} takes no value", spec->name));
    }
    auto& slot = options[spec->name];
    if (!slot.empty() && !spec->repeatable) {
      throw UsageError(fmt::format("{} given more than once", spec->name));
    }
    slot.push_back(std::move(value));
  }
  return Args(std::move(positional), std::move(options));
}

int run_main(const std::vector<std::string>& argv) {
  Context context;
  context.repo = default_repo();
  std::vector<std::string> rest;
  bool help = false;
  // Global options may stand anywhere before "--"; everything else is the command's.
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    auto value_of = [&](std::string_view flag) -> std::string {
      if (arg.size() > flag.size() && arg[flag.size()] == '=') return arg.substr(flag.size() + 1);
      if (i + 1 >= argv.size()) throw UsageError(fmt::format("{} needs a value", flag));
      return argv[++i];
    };
    if (arg == "--") {
      rest.insert(rest.end(), argv.begin() + static_cast<std::ptrdiff_t>(i), argv.end());
      break;
    } else if (arg == "--json") {
      context.json = true;
    } else if (arg == "--quiet" || arg == "-q") {
      context.quiet = true;
    } else if (arg == "--help" || arg == "-h") {
      help = true;
    } else if (arg == "--repo" || arg.starts_with("--repo=")) {
      context.repo = value_of("--repo");
    } else if (arg == "--log-level" || arg.starts_with("--log-level=")) {
      log::Level level;
      const auto text = value_of("--log-level");
      if (!log::parse_level(text, level)) {
        throw UsageError(fmt::format("unknown log level '{}'", text));
      }
      log::set_level(level);
    } else if (arg == "--version") {
      std::printf("cairn %s (commit %s, %s)\n", build::kVersion, build::kGitCommit,
                  build::kCompiler);
      return kExitOk;
    } else {
      rest.push_back(arg);
    }
  }
  if (rest.empty()) {
    print_main_help();
    return help ? kExitOk : kExitUsage;
  }
  const std::string& name = rest[0];
  auto& registry = Registry::instance();
  const Command* command = nullptr;
  std::size_t consumed = 1;
  if (registry.has_verbs(name)) {
    if (rest.size() < 2 || rest[1].starts_with("-")) {
      print_verbs(name);
      return help ? kExitOk : kExitUsage;
    }
    command = registry.find(name, rest[1]);
    if (command == nullptr) {
      std::fprintf(stderr, "cairn: '%s' is not a verb of '%s'\n", rest[1].c_str(), name.c_str());
      print_verbs(name);
      return kExitUsage;
    }
    consumed = 2;
  } else {
    command = registry.find(name, "");
    if (command == nullptr) {
      std::fprintf(stderr, "cairn: unknown command '%s' (see cairn --help)\n", name.c_str());
      return kExitUsage;
    }
  }
  if (help) {
    print_command_help(*command);
    return kExitOk;
  }
  try {
    const Args args =
        parse_args(*command, {rest.begin() + static_cast<std::ptrdiff_t>(consumed), rest.end()});
    const int code = command->run(context, args);
    if (context.json) std::printf("%s\n", context.result.dump().c_str());
    return code;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "cairn: %s\nusage: %s %s\n(see %s --help)\n", e.what(),
                 command_title(*command).c_str(), command->usage.c_str(),
                 command_title(*command).c_str());
    if (context.json) {
      std::printf("%s\n", nlohmann::json{{"error", e.what()}, {"exit", kExitUsage}}.dump().c_str());
    }
    return kExitUsage;
  } catch (const CommandError& e) {
    std::fprintf(stderr, "cairn %s: %s\n", name.c_str(), e.what());
    if (context.json) {
      nlohmann::json out = context.result;
      out["error"] = e.what();
      out["error_kind"] = std::string(errc_name(e.code));
      std::printf("%s\n", out.dump().c_str());
    }
    return kExitFailure;
  }
}

}  // namespace cairn::cli

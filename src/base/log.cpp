#include "base/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace cairn::log {
namespace {

Level initial_level() {
  Level parsed = Level::info;
  if (const char* env = std::getenv("CAIRN_LOG")) parse_level(env, parsed);
  return parsed;
}

std::atomic<Level>& current() {
  static std::atomic<Level> value{initial_level()};
  return value;
}

std::mutex& output_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

void set_level(Level l) { current().store(l); }
Level level() { return current().load(std::memory_order_relaxed); }

bool parse_level(std::string_view text, Level& out) {
  if (text == "debug") out = Level::debug;
  else if (text == "info") out = Level::info;
  else if (text == "warn") out = Level::warn;
  else if (text == "error") out = Level::error;
  else if (text == "off") out = Level::off;
  else return false;
  return true;
}

void write(Level l, std::string_view message) {
  static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
  const auto index = static_cast<int>(l);
  std::lock_guard lock(output_mutex());
  if (l == Level::info) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
  } else {
    std::fprintf(stderr, "%s: %.*s\n", kNames[index], static_cast<int>(message.size()),
                 message.data());
  }
}

}  // namespace cairn::log

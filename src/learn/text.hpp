#pragma once
// Number parsing that works with both libstdc++ and libc++ 16 (which lacks
// std::from_chars for floating point): the whole text must be the number.

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace cairn::learn {

inline std::optional<double> parse_double(std::string_view text) {
  if (text.empty() || text.size() > 64 || text.front() == ' ' || text.front() == '\t')
    return std::nullopt;
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || errno == ERANGE) return std::nullopt;
  return value;
}

}  // namespace cairn::learn

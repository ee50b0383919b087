#include "node/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace cairn::node {
namespace {

bool name_char(char c, bool first) {
  const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  return letter || (!first && c >= '0' && c <= '9');
}

// HELP text escapes backslash and newline; label values also escape the double quote.
std::string escape(std::string_view text, bool quote) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<long long>(value));
  }
  return fmt::format("{}", value);
}

}  // namespace

std::string metric_name(std::string_view raw) {
  if (raw.empty()) return "_";
  std::string name(raw);
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0)) name[i] = '_';
  }
  return name;
}

std::string render_prometheus(const std::vector<MetricFamily>& families) {
  std::vector<MetricFamily> merged;
  for (const auto& family : families) {
    const std::string name = metric_name(family.name);
    auto it = std::find_if(merged.begin(), merged.end(),
                           [&](const MetricFamily& f) { return f.name == name; });
    if (it == merged.end()) {
      merged.push_back(family);
      merged.back().name = name;
    } else {
      it->samples.insert(it->samples.end(), family.samples.begin(), family.samples.end());
    }
  }
  std::string out;
  for (const auto& family : merged) {
    out += fmt::format("# HELP {} {}\n", family.name, escape(family.help, false));
    out += fmt::format("# TYPE {} {}\n", family.name, family.type);
    for (const auto& sample : family.samples) {
      out += family.name;
      if (!sample.labels.empty()) {
        out += '{';
        bool first = true;
        for (const auto& [label, value] : sample.labels) {
          if (!first) out += ',';
          first = false;
          out += fmt::format("{}=\"{}\"", metric_name(label), escape(value, true));
        }
        out += '}';
      }
      out += ' ';
      out += number(sample.value);
      out += '\n';
    }
  }
  return out;
}

}  // namespace cairn::node

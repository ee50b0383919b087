#pragma once
// Prometheus' text exposition format, version 0.0.4: for each metric family a "# HELP"
// and a "# TYPE" line, then one sample per line ("name{label="value"} number").
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::node {

struct MetricSample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct MetricFamily {
  std::string name;  // sanitised by render_prometheus
  std::string help;
  std::string type;  // "counter" or "gauge"
  std::vector<MetricSample> samples;
};

// A valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*): other characters become '_'.
[[nodiscard]] std::string metric_name(std::string_view raw);
// The exposition text; families with the same (sanitised) name are merged.
[[nodiscard]] std::string render_prometheus(const std::vector<MetricFamily>& families);

}  // namespace cairn::node

#include "learn/aggregate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "learn/text.hpp"

namespace cairn::learn {
namespace {

bool parse_number(std::string_view text, int& out) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && ptr == text.data() + text.size();
}

bool parse_number(std::string_view text, double& out) {
  const auto value = parse_double(text);
  if (value) out = *value;
  return value.has_value();
}

std::vector<std::string_view> split(std::string_view text) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto colon = text.find(':');
    parts.push_back(text.substr(0, colon));
    if (colon == std::string_view::npos) return parts;
    text = text.substr(colon + 1);
  }
}

}  // namespace

bool AggregationRule::robust() const {
  return kind == Kind::median || kind == Kind::trimmed_mean || kind == Kind::krum ||
         kind == Kind::multi_krum || clip_norm > 0;
}

std::string AggregationRule::to_string() const {
  std::string text;
  switch (kind) {
    case Kind::fedavg:
      text = "fedavg";
      break;
    case Kind::fedprox:
      text = "fedprox";
      break;
    case Kind::fedadam:
      text = "fedadam";
      break;
    case Kind::median:
      text = "median";
      break;
    case Kind::trimmed_mean:
      text = fmt::format("trimmed:{}", trim_fraction);
      break;
    case Kind::krum:
      text = byzantine ? fmt::format("krum:{}", *byzantine) : "krum";
      break;
    case Kind::multi_krum:
      text = "multikrum";
      if (byzantine) text += fmt::format(":{}", *byzantine);
      if (krum_select) text += fmt::format(":{}", *krum_select);
      break;
  }
  if (clip_norm > 0) text += fmt::format("+clip:{}", clip_norm);
  return text;
}

Result<AggregationRule> parse_aggregation_rule(std::string_view text) {
  AggregationRule rule;
  const auto parts = split(text);
  const auto name = parts[0];
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument, fmt::format("aggregation rule '{}': {}", text, why));
  };
  if (name == "fedavg" || name == "fedprox" || name == "fedadam" || name == "median") {
    if (parts.size() != 1) return bad("takes no parameter");
    rule.kind = name == "fedavg"    ? AggregationRule::Kind::fedavg
                : name == "fedprox" ? AggregationRule::Kind::fedprox
                : name == "fedadam" ? AggregationRule::Kind::fedadam
                                    : AggregationRule::Kind::median;
    return rule;
  }
  if (name == "trimmed") {
    rule.kind = AggregationRule::Kind::trimmed_mean;
    if (parts.size() > 2) return bad("expected trimmed:FRACTION");
    if (parts.size() == 2 && (!parse_number(parts[1], rule.trim_fraction) ||
                              !(rule.trim_fraction >= 0) || !(rule.trim_fraction < 0.5))) {
      return bad("the trimmed fraction must be in [0, 0.5)");
    }
    return rule;
  }
  if (name == "krum" || name == "multikrum") {
    rule.kind = name == "krum" ? AggregationRule::Kind::krum : AggregationRule::Kind::multi_krum;
    if (parts.size() > (name == "krum" ? 2u : 3u)) return bad("too many parameters");
    if (parts.size() >= 2) {
      int f = 0;
      if (!parse_number(parts[1], f) || f < 0) return bad("f must be a non-negative integer");
      rule.byzantine = f;
    }
    if (parts.size() == 3) {
      int m = 0;
      if (!parse_number(parts[2], m) || m < 1) return bad("m must be a positive integer");
      rule.krum_select = m;
    }
    return rule;
  }
  return bad(
      "unknown rule (fedavg, fedprox, fedadam, median, trimmed:F, krum[:F], multikrum[:F[:M]])");
}

Status validate_update(const ClientUpdate& update, std::size_t expected_size,
                       std::uint64_t current_version) {
  if (update.base_version != current_version) {
    return fail(
        Errc::rejected,
        fmt::format("update from {} was trained on model version {}, the round is on version {}",
                    update.client, update.base_version, current_version));
  }
  if (update.delta.size() != expected_size) {
    return fail(Errc::rejected, fmt::format("update from {} has {} values, the model has {}",
                                            update.client, update.delta.size(), expected_size));
  }
  if (!(update.weight > 0) || !std::isfinite(update.weight)) {
    return fail(Errc::rejected,
                fmt::format("update from {} has weight {}", update.client, update.weight));
  }
  for (std::size_t i = 0; i < update.delta.size(); ++i) {
    if (!std::isfinite(update.delta[i])) {
      return fail(Errc::rejected, fmt::format("update from {} has a non-finite value at index {}",
                                              update.client, i));
    }
  }
  return {};
}

double clip_to_norm(std::vector<float>& delta, double max_norm) {
  double squared = 0;
  for (float v : delta)
    squared += static_cast<double>(v) * v;
  const double norm = std::sqrt(squared);
  if (norm <= max_norm || norm == 0) return 1.0;
  const double factor = max_norm / norm;
  for (float& v : delta)
    v = static_cast<float>(v * factor);
  return factor;
}

std::vector<float> weighted_average(const std::vector<ClientUpdate>& updates) {
  if (updates.empty()) return {};
  std::vector<double> sum(updates[0].delta.size(), 0.0);
  double total = 0;
  for (const auto& u : updates) {
    total += u.weight;
    for (std::size_t i = 0; i < sum.size(); ++i)
      sum[i] += u.weight * u.delta[i];
  }
  std::vector<float> out(sum.size());
  for (std::size_t i = 0; i < sum.size(); ++i)
    out[i] = static_cast<float>(sum[i] / total);
  return out;
}

Result<std::vector<double>> krum_scores(const std::vector<ClientUpdate>& updates, int byzantine) {
  const auto n = static_cast<int>(updates.size());
  if (n - byzantine - 2 < 1) {
    return fail(Errc::invalid_argument,
                fmt::format("Krum with f = {} needs more than {} updates (has {})", byzantine,
                            byzantine + 2, n));
  }
  std::vector<std::vector<double>> distance(static_cast<std::size_t>(n),
                                            std::vector<double>(static_cast<std::size_t>(n), 0));
  for (std::size_t i = 0; i < updates.size(); ++i) {
    for (std::size_t j = i + 1; j < updates.size(); ++j) {
      double d = 0;
      for (std::size_t k = 0; k < updates[i].delta.size(); ++k) {
        const double diff = static_cast<double>(updates[i].delta[k]) - updates[j].delta[k];
        d += diff * diff;
      }
      distance[i][j] = distance[j][i] = d;
    }
  }
  std::vector<double> scores(updates.size());
  const auto neighbours = static_cast<std::size_t>(n - byzantine - 2);
  for (std::size_t i = 0; i < updates.size(); ++i) {
    std::vector<double> others;
    for (std::size_t j = 0; j < updates.size(); ++j) {
      if (j != i) others.push_back(distance[i][j]);
    }
    std::partial_sort(others.begin(), others.begin() + static_cast<std::ptrdiff_t>(neighbours),
                      others.end());
    scores[i] = std::accumulate(others.begin(),
                                others.begin() + static_cast<std::ptrdiff_t>(neighbours), 0.0);
  }
  return scores;
}

Result<std::vector<float>> combine_updates(const std::vector<ClientUpdate>& input,
                                           const AggregationRule& rule) {
  if (input.empty()) return fail(Errc::invalid_argument, "no updates to aggregate");
  const std::size_t size = input[0].delta.size();
  for (const auto& u : input) {
    if (u.delta.size() != size) return fail(Errc::invalid_argument, "updates of different sizes");
  }
  std::vector<ClientUpdate> clipped;
  const std::vector<ClientUpdate>* updates = &input;
  if (rule.clip_norm > 0) {
    clipped = input;
    for (auto& u : clipped)
      clip_to_norm(u.delta, rule.clip_norm);
    updates = &clipped;
  }
  const auto n = updates->size();
  using Kind = AggregationRule::Kind;
  switch (rule.kind) {
    case Kind::fedavg:
    case Kind::fedprox:
    case Kind::fedadam:
      return weighted_average(*updates);
    case Kind::median:
    case Kind::trimmed_mean: {
      const std::size_t cut =
          rule.kind == Kind::median
              ? 0
              : static_cast<std::size_t>(std::floor(rule.trim_fraction * static_cast<double>(n)));
      std::vector<float> out(size);
      std::vector<float> column(n);
      for (std::size_t k = 0; k < size; ++k) {
        for (std::size_t i = 0; i < n; ++i)
          column[i] = (*updates)[i].delta[k];
        if (rule.kind == Kind::median) {
          std::sort(column.begin(), column.end());
          out[k] = n % 2 == 1 ? column[n / 2]
                              : static_cast<float>(
                                    (static_cast<double>(column[n / 2 - 1]) + column[n / 2]) / 2);
        } else {
          std::sort(column.begin(), column.end());
          double sum = 0;
          for (std::size_t i = cut; i < n - cut; ++i)
            sum += column[i];
          out[k] = static_cast<float>(sum / static_cast<double>(n - 2 * cut));
        }
      }
      return out;
    }
    case Kind::krum:
    case Kind::multi_krum: {
      const int f = rule.byzantine.value_or(std::max(0, (static_cast<int>(n) - 3) / 2));
      CAIRN_TRY_ASSIGN(const auto scores, krum_scores(*updates, f));
      std::vector<std::size_t> order(n);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](auto a, auto b) { return scores[a] < scores[b]; });
      const std::size_t select =
          rule.kind == Kind::krum
              ? 1
              : std::min<std::size_t>(n, static_cast<std::size_t>(
                                             rule.krum_select.value_or(static_cast<int>(n) - f)));
      std::vector<ClientUpdate> chosen;
      for (std::size_t i = 0; i < select; ++i)
        chosen.push_back((*updates)[order[i]]);
      return weighted_average(chosen);
    }
  }
  return fail(Errc::internal, "unknown aggregation rule");
}

void ServerOptimizer::apply(std::vector<float>& global, const std::vector<float>& delta) {
  if (rule_.kind != AggregationRule::Kind::fedadam) {
    for (std::size_t i = 0; i < global.size(); ++i)
      global[i] += delta[i];
    return;
  }
  if (m_.size() != global.size()) {
    m_.assign(global.size(), 0.0);
    v_.assign(global.size(), rule_.tau * rule_.tau);
  }
  for (std::size_t i = 0; i < global.size(); ++i) {
    m_[i] = rule_.beta1 * m_[i] + (1 - rule_.beta1) * delta[i];
    v_[i] = rule_.beta2 * v_[i] + (1 - rule_.beta2) * static_cast<double>(delta[i]) * delta[i];
    global[i] += static_cast<float>(rule_.server_lr * m_[i] / (std::sqrt(v_[i]) + rule_.tau));
  }
}

}  // namespace cairn::learn

#include "market/role.hpp"

#include <algorithm>

#include "market/aggregator.hpp"
#include "market/auditor.hpp"
#include "market/compute_provider.hpp"
#include "market/data_provider.hpp"
#include "market/model_provider.hpp"

namespace cairn::market {

bool TaskErrors::due(std::uint64_t task) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(task);
  return it == entries_.end() || std::chrono::steady_clock::now() >= it->second.retry_at;
}

bool TaskErrors::failed(std::uint64_t task, const Error& error) {
  std::lock_guard lock(mutex_);
  Entry& entry = entries_[task];
  std::string message = error.to_string();
  const bool news = entry.failures == 0 || entry.message != message;
  entry.message = std::move(message);
  entry.failures = entry.failures < 32 ? entry.failures + 1 : entry.failures;
  auto delay = base_;
  for (std::uint32_t i = 1; i < entry.failures && delay < max_; ++i)
    delay *= 2;
  entry.retry_at = std::chrono::steady_clock::now() + std::min(delay, max_);
  return news;
}

void TaskErrors::succeeded(std::uint64_t task) {
  std::lock_guard lock(mutex_);
  entries_.erase(task);
}

nlohmann::json TaskErrors::to_json() const {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [task, entry] : entries_) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(entry.retry_at - now);
    out[std::to_string(task)] = {{"last_error", entry.message},
                                 {"failures", entry.failures},
                                 {"retry_in_ms", std::max<std::int64_t>(wait.count(), 0)}};
  }
  return out;
}

Result<std::unique_ptr<Role>> make_role(const std::string& kind, const nlohmann::json& config,
                                        NodeContext& context) {
  if (kind == "model_provider") return make_model_provider(config, context);
  if (kind == "aggregator") return make_aggregator(config, context);
  if (kind == "auditor") return make_auditor(config, context);
  if (kind == "data_provider") return make_data_provider(config, context);
  if (kind == "compute_provider") return make_compute_provider(config, context);
  return fail(Errc::invalid_argument,
              "unknown role " + kind +
                  " (data_provider, compute_provider, model_provider, aggregator, auditor)");
}

}  // namespace cairn::market

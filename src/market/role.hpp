#pragma once
// The actors of seed 003 as roles a node runs. A role shares nothing with other roles or
// nodes except the chain (transactions, events) and gateways (CIDs, re-hashed on arrival).
//
// A role is a step machine: step() looks at the chain and at its own store, works out the
// next thing there is to do, does it, and returns. Everything a role knows is derived
// again from the chain and its store on every start, so a node killed at any point resumes
// where it was; before each transaction a role checks the chain for the effect it is
// about to cause, so nothing is submitted twice. The node daemon (src/node) calls step()
// in a loop on its own thread; `cairn task run` drives every role of a task in one
// process, each with its own store and gateway.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "chain/address.hpp"
#include "chain/sender.hpp"
#include "market/deployment.hpp"
#include "store/repo.hpp"

namespace cairn::market {

// Counters and gauges a role reports; the node renders them in Prometheus' text format
// under /metrics (names are prefixed "cairn_" there). Thread-safe.
class Metrics {
 public:
  void add(const std::string& name, double delta = 1.0) {
    std::lock_guard lock(mutex_);
    values_[name] += delta;
  }
  void set(const std::string& name, double value) {
    std::lock_guard lock(mutex_);
    values_[name] = value;
  }
  std::map<std::string, double> snapshot() const {
    std::lock_guard lock(mutex_);
    return values_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, double> values_;
};

// What a role may touch: its node's store (served by its node's gateway), its node's chain
// account, the chain, the signing service. Owned by the node; outlives its roles.
struct NodeContext {
  std::string name;             // the node's name, for logs and records
  store::Repo* repo = nullptr;  // this node's store
  std::string gateway_url;      // this node's gateway as other nodes reach it
  chain::Signer signer;         // this node's account (keys stay in the node)
  std::shared_ptr<chain::TransactionSender> sender;
  Deployment deployment;
  std::string seal_url;                         // the keyless signing service (seal/http)
  std::filesystem::path state_dir;              // private files of this node (keys), mode 0700
  std::function<void(const std::string&)> log;  // one line of progress
  Metrics* metrics = nullptr;
  const std::atomic<bool>* stopping = nullptr;  // set when the node shuts down

  // The node is shutting down: a role stops before its next transaction or long job.
  [[nodiscard]] bool should_stop() const { return stopping != nullptr && stopping->load(); }
};

class Role {
 public:
  virtual ~Role() = default;
  // "data_provider", "model_provider", "aggregator", "compute_provider", "auditor".
  [[nodiscard]] virtual std::string_view kind() const = 0;
  // Does the next thing there is to do, if any; true when it did something (the node
  // then calls again at once instead of waiting for its poll interval). An error is
  // logged and the step retried later; it never leaves half-done state behind.
  [[nodiscard]] virtual Result<bool> step() = 0;
  // What the role is doing, for GET /v1/status.
  [[nodiscard]] virtual nlohmann::json status() const = 0;
  // Nothing is left to do (the role's tasks are closed and paid).
  [[nodiscard]] virtual bool finished() const = 0;
};

// Failures recorded against one task, so that one bad task (a spec that cannot be fetched,
// an owner whose gateway is gone, a record that does not parse) never stops a role's other
// tasks: a failing task is skipped until its backoff has passed (`base` × 2^(failures − 1),
// at most `max`), and its last error is shown in the role's status. Thread-safe.
class TaskErrors {
 public:
  explicit TaskErrors(std::chrono::milliseconds base = std::chrono::seconds(1),
                      std::chrono::milliseconds max = std::chrono::seconds(30))
      : base_(base), max_(max) {}
  // Whether the task may be worked on now (no failure, or its backoff has passed).
  [[nodiscard]] bool due(std::uint64_t task) const;
  // Records a failure. True when it is news for the log: the first failure, or a message
  // other than the last one (the same error every backoff is logged once).
  bool failed(std::uint64_t task, const Error& error);
  void succeeded(std::uint64_t task);
  // {"<task id>": {"last_error", "failures", "retry_in_ms"}} for the failing tasks.
  [[nodiscard]] nlohmann::json to_json() const;

 private:
  struct Entry {
    std::string message;
    std::uint32_t failures = 0;
    std::chrono::steady_clock::time_point retry_at;
  };
  std::chrono::milliseconds base_;
  std::chrono::milliseconds max_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, Entry> entries_;
};

// The role `kind` configured by `config` (the node config's roles.<kind> object).
[[nodiscard]] Result<std::unique_ptr<Role>> make_role(const std::string& kind,
                                                      const nlohmann::json& config,
                                                      NodeContext& context);

}  // namespace cairn::market

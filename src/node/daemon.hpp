#pragma once
// The node daemon behind `cairn node start`: one organisation's node.
//
//   - its store (store::Repo, locked: one daemon per repository) behind its own trustless
//     gateway, the only way other nodes get its artifacts;
//   - its chain account, a transaction sender whose journal lives in the repository (a
//     restarted node re-broadcasts what it had signed and not yet seen mined);
//   - a keyless signing service of its own (anchoring its publications on the Anchor
//     contract) or the URL of another's;
//   - its roles (market::make_role), each stepped on its own thread every poll interval,
//     errors logged and retried;
//   - a chain monitor (the tasks on chain, this account's transactions and gas);
//   - the HTTP API (docs/node.md): status, tasks, Prometheus metrics, and the writes that
//     need the bearer token: shutdown, pause and resume a role.
//
// Everything a node knows comes back from its repository and the chain on a restart.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "market/role.hpp"
#include "node/config.hpp"

namespace cairn::node {

using RoleFactory = std::function<Result<std::unique_ptr<market::Role>>(
    const std::string& kind, const nlohmann::json& config, market::NodeContext& context)>;

struct NodeOptions {
  // One progress line (the CLI prints it with a timestamp on standard error).
  std::function<void(const std::string&)> log;
  // Stop by itself once every role is finished (scripts, tests).
  bool exit_when_finished = false;
  // How roles are made; market::make_role unless a test supplies its own.
  RoleFactory make_role;
};

// The bearer token of a node's API: read from `file`, or created there (32 random bytes,
// hex, mode 0600) on the first start. A token file others can read is refused.
[[nodiscard]] Result<std::string> load_or_create_token(const std::filesystem::path& file);

class Node {
 public:
  // Opens everything and starts serving; the roles run from here on.
  [[nodiscard]] static Result<std::unique_ptr<Node>> start(NodeConfig config,
                                                           NodeOptions options = {});
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Asks the node to stop (signal handler thread, API); wait() then returns.
  void request_stop();
  [[nodiscard]] bool stop_requested() const;
  // Blocks until a stop is requested (or `timeout` passes); true when requested.
  bool wait_for_stop(std::chrono::milliseconds timeout);
  // Stops the roles between steps, then the API, the signing service, the gateway; closes
  // the repository. Idempotent.
  void stop();

  // {"name","address","gateway","api","seal","token_file","repo","pid"}: what scripts need.
  [[nodiscard]] nlohmann::json endpoints() const;
  [[nodiscard]] nlohmann::json status() const;
  [[nodiscard]] nlohmann::json tasks() const;
  [[nodiscard]] std::string metrics_text() const;
  // Pauses or resumes a role's stepping; not_found for a kind this node does not run.
  [[nodiscard]] Status set_paused(const std::string& kind, bool paused);
  [[nodiscard]] bool all_roles_finished() const;

  struct Impl;

 private:
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::node

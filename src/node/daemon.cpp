#include "node/daemon.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "base/encoding.hpp"
#include "base/file.hpp"
#include "chain/anvil.hpp"
#include "chain/contract.hpp"
#include "chain/keystore.hpp"
#include "chain/watcher.hpp"
#include "crypto/random.hpp"
#include "market/anchor_chain.hpp"
#include "market/directory.hpp"
#include "net/server.hpp"
#include "net/url.hpp"
#include "node/metrics.hpp"
#include "seal/http/server.hpp"
#include "seal/service.hpp"
#include "store/gateway.hpp"
#include "store/repo.hpp"

namespace cairn::node {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

Result<std::string> read_small_file(const std::filesystem::path& path, std::string_view what) {
  CAIRN_TRY_ASSIGN(std::string text, with_context(file::read_text(path, file::kSmallFileCap),
                                                  fmt::format("reading the {}", what)));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  return text;
}

// The gateway reads through this: it counts what the node serves to other nodes (the
// roles read the block store directly, so they are not counted).
class CountingSource final : public store::BlockSource {
 public:
  explicit CountingSource(store::BlockSource& inner) : inner_(inner) {}
  Result<Bytes> get(const store::Cid& cid) override {
    auto block = inner_.get(cid);
    requests_.fetch_add(1);
    if (block) bytes_.fetch_add(block->size());
    return block;
  }
  Result<bool> has(const store::Cid& cid) override { return inner_.has(cid); }
  std::uint64_t requests() const { return requests_.load(); }
  std::uint64_t bytes() const { return bytes_.load(); }

 private:
  store::BlockSource& inner_;
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> bytes_{0};
};

}  // namespace

Result<std::string> load_or_create_token(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0) return fail(Errc::io, "cannot stat " + file.string());
    if ((info.st_mode & 077) != 0) {
      return fail(Errc::invalid_argument,
                  fmt::format("the API token file {} is readable by others (mode {:o}); "
                              "chmod 600 it",
                              file.string(), info.st_mode & 0777));
    }
    CAIRN_TRY_ASSIGN(std::string token, read_small_file(file, "API token file"));
    if (token.size() < 16) {
      return fail(Errc::invalid_argument,
                  "the API token in " + file.string() + " is shorter than 16 characters");
    }
    return token;
  }
  std::filesystem::create_directories(file.parent_path(), ec);
  const std::string token = to_hex(crypto::random_bytes(32));
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Errc::io, "cannot create the API token file " + file.string());
  const std::string line = token + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!written) return fail(Errc::io, "cannot write the API token file " + file.string());
  return token;
}

// ---------------------------------------------------------------------------------------

struct RoleRunner {
  std::string kind;
  std::unique_ptr<market::Role> role;
  std::thread thread;
  std::atomic<bool> paused{false};
  std::atomic<bool> finished{false};
  std::atomic<std::uint64_t> steps{0};
  std::atomic<std::uint64_t> busy_steps{0};
  std::atomic<std::uint64_t> errors{0};
  mutable std::mutex mutex;  // guards the fields below
  json last_status = json::object();
  std::string last_error;
  double step_seconds = 0;
};

struct Node::Impl {
  Node* owner = nullptr;
  NodeConfig config;
  NodeOptions options;
  Clock::time_point started = Clock::now();
  std::atomic<bool> stopping{false};
  std::mutex stop_mutex;
  std::condition_variable stop_cv;  // wakes waiting role threads and wait_for_stop()
  bool stopped = false;

  // One process per repository: <repo>/node.lock (see file::ProcessLock).
  std::optional<file::ProcessLock> lock;
  std::unique_ptr<store::Repo> repo;
  std::unique_ptr<CountingSource> served;
  std::unique_ptr<store::Gateway> gateway;
  std::optional<chain::RpcClient> rpc;
  std::shared_ptr<chain::TransactionSender> sender;
  std::unique_ptr<market::ChainAnchor> anchor;
  std::unique_ptr<seal::SigningService> signing;
  std::unique_ptr<seal::SealServer> seal_server;
  std::string token;
  std::unique_ptr<net::Server> api;
  std::uint16_t api_port = 0;
  market::Metrics role_metrics;
  market::NodeContext context;
  std::vector<std::unique_ptr<RoleRunner>> roles;
  std::uint64_t resumed_transactions = 0;

  // Chain monitor state.
  std::thread monitor_thread;
  std::unique_ptr<chain::EventWatcher> watcher;
  mutable std::mutex chain_mutex;     // guards the fields below
  std::map<std::string, json> tasks;  // task id (decimal) -> summary built from events
  std::uint64_t scanned_block = 0;    // our transactions are counted up to here
  std::uint64_t head_block = 0;
  std::uint64_t transactions = 0;
  std::uint64_t failed_transactions = 0;
  std::uint64_t gas_used = 0;
  double balance_ether = 0;
  std::string chain_error;

  void log(const std::string& line) const {
    if (options.log) options.log(line);
  }
  bool sleep_or_stop(std::chrono::milliseconds duration) {
    std::unique_lock lock_guard(stop_mutex);
    return stop_cv.wait_for(lock_guard, duration, [&] { return stopping.load(); });
  }

  Status open_repo();
  Status open_chain();
  Status start_gateway();
  Status open_seal();
  Status open_roles();
  Result<file::ProcessLock> acquire_node_lock() const;
  Status start_api();
  void run_role(RoleRunner& runner);
  void run_monitor();
  Status monitor_once();
  void on_task_event(const chain::ChainEvent& event);
};

Status Node::Impl::open_chain() {
  CAIRN_TRY_ASSIGN(market::DeploymentFile deployment,
                   market::load_deployment(config.deployment_file));
  if (config.account.dev_account) {
    CAIRN_TRY(with_context(chain::check_dev_account_allowed(deployment.deployment.chain_id),
                           "account.dev_account"));
    context.signer = chain::Signer::from_key(chain::dev_account_key(*config.account.dev_account));
  } else {
    CAIRN_TRY_ASSIGN(std::string keystore, read_small_file(config.account.keystore, "keystore"));
    CAIRN_TRY_ASSIGN(std::string password,
                     read_small_file(config.account.password_file, "password file"));
    auto key = chain::keystore_decrypt(keystore, password);
    if (!key) {
      return std::unexpected(std::move(key).error().context("opening the keystore " +
                                                            config.account.keystore.string()));
    }
    context.signer = chain::Signer::from_key(*key);
  }
  CAIRN_TRY_ASSIGN(chain::RpcClient client, chain::RpcClient::create(config.rpc));
  rpc = client;
  chain::SenderOptions sender_options;
  sender_options.poll_interval = std::chrono::milliseconds(100);
  // The journal of signed transactions lives in the repository: a node killed between
  // signing and seeing the receipt re-broadcasts the same transaction when it restarts.
  sender_options.journal_dir = context.state_dir / "tx-journal";
  auto sender_or =
      chain::TransactionSender::create(client, sender_options, deployment.deployment.chain_id);
  if (!sender_or) {
    return std::unexpected(std::move(sender_or).error().context(
        "connecting to " + net::redact_url(config.rpc) + " for the deployment " +
        config.deployment_file.string()));
  }
  sender = *sender_or;
  // With the node's own key, a resumed transaction that is stuck can be fee-bumped.
  const chain::Signer signers[] = {context.signer};
  CAIRN_TRY_ASSIGN(auto resumed, sender->resume_pending(signers));
  resumed_transactions = resumed.size();
  if (!resumed.empty()) {
    log(fmt::format("resumed {} journaled transaction(s) from before the restart", resumed.size()));
  }
  for (const auto& [name, address] : deployment.deployment.contracts()) {
    CAIRN_TRY_ASSIGN(Bytes code, client.code(address));
    if (code.empty()) {
      return fail(Errc::not_found,
                  fmt::format("the deployment names {} at {}, but there is no code there "
                              "(wrong chain or a reset anvil?)",
                              name, address.to_checksum()));
    }
  }
  context.sender = sender;
  context.deployment = deployment.deployment;
  return {};
}

Result<file::ProcessLock> Node::Impl::acquire_node_lock() const {
  return file::ProcessLock::acquire(config.repo / "node.lock",
                                    "the repository " + config.repo.string() + " (another node)");
}

Status Node::Impl::open_repo() {
  // The store first: it creates the repository (or refuses a directory that is not one)
  // and holds RocksDB's lock; the node's own lock then names the daemon that holds it.
  auto opened = store::Repo::open(config.repo, store::RepoAccess::write);
  if (!opened) {
    if (opened.error().code == Errc::conflict) {
      auto held = acquire_node_lock();
      if (!held) return std::unexpected(std::move(held).error());
    }
    return std::unexpected(std::move(opened).error().context("opening the repository"));
  }
  repo = std::move(*opened);
  CAIRN_TRY_ASSIGN(lock, acquire_node_lock());
  context.repo = repo.get();
  return {};
}

Status Node::Impl::start_gateway() {
  served = std::make_unique<CountingSource>(repo->blocks());
  store::GatewayOptions gateway_options;
  gateway_options.host = config.gateway.host;
  gateway_options.port = config.gateway.port;
  gateway = std::make_unique<store::Gateway>(*served, gateway_options);
  if (Status gateway_up = gateway->start(); !gateway_up) {
    return std::unexpected(std::move(gateway_up).error().context("starting the gateway"));
  }
  context.gateway_url = gateway->url();
  return {};
}

Status Node::Impl::open_seal() {
  if (!config.seal) return {};
  if (config.seal->url) {
    context.seal_url = *config.seal->url;
    return {};
  }
  seal::ServiceOptions seal_options;
  seal_options.repo = context.state_dir / "seal";
  seal_options.round = config.seal->round;
  CAIRN_TRY_ASSIGN(signing, seal::SigningService::open(seal_options));
  if (config.seal->anchor) {
    CAIRN_TRY_ASSIGN(chain::Contract contract,
                     chain::Contract::at(sender, "Anchor", context.deployment.anchor));
    anchor = std::make_unique<market::ChainAnchor>(std::move(contract), context.signer);
    signing->set_anchor(anchor.get());
    // The calendar key and, by the entry's owner, the account that anchors: what verifiers
    // pin (`passport trust --operator`).
    CAIRN_TRY_ASSIGN(chain::Contract registry,
                     chain::Contract::at(sender, "Registry", context.deployment.registry));
    if (Status registered = market::announce_calendar_key(registry, context.signer,
                                                          signing->keys().calendar_cert_der);
        !registered) {
      return std::unexpected(std::move(registered).error().context("registering the calendar key"));
    }
  }
  seal_server = std::make_unique<seal::SealServer>(*signing, 64);
  if (Status seal_up = seal_server->start(config.seal->serve->host, config.seal->serve->port);
      !seal_up) {
    return std::unexpected(std::move(seal_up).error().context("starting the signing service"));
  }
  context.seal_url = fmt::format("http://{}:{}", config.seal->serve->host, seal_server->port());
  return {};
}

Status Node::Impl::open_roles() {
  RoleFactory factory = options.make_role ? options.make_role : RoleFactory(market::make_role);
  for (const auto& kind : role_kinds()) {
    auto it = config.roles.find(kind);
    if (it == config.roles.end()) continue;
    auto role = factory(kind, it->second, context);
    if (!role) {
      return std::unexpected(std::move(role).error().context("roles." + kind));
    }
    auto runner = std::make_unique<RoleRunner>();
    runner->kind = kind;
    runner->role = std::move(*role);
    runner->last_status = runner->role->status();
    roles.push_back(std::move(runner));
  }
  return {};
}

void Node::Impl::run_role(RoleRunner& runner) {
  // A step that keeps failing is retried less and less often (poll × 2^n, at most 30 s):
  // a lasting fault is reported without hammering the chain or the log.
  unsigned consecutive_failures = 0;
  while (!stopping.load()) {
    if (runner.paused.load() || runner.finished.load()) {
      sleep_or_stop(config.poll);
      continue;
    }
    const auto begin = Clock::now();
    Result<bool> did;
    try {
      did = runner.role->step();
    } catch (const std::exception& e) {
      // libtorch reports with exceptions; a step that threw is a failed step like any other.
      did = fail(Errc::internal, std::string("exception: ") + e.what());
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    runner.steps.fetch_add(1);
    json status;
    bool finished = false;
    try {
      status = runner.role->status();
      finished = runner.role->finished();
    } catch (const std::exception& e) {
      status = {{"error", e.what()}};
    }
    {
      std::lock_guard guard(runner.mutex);
      runner.last_status = std::move(status);
      runner.step_seconds += seconds;
      if (!did) runner.last_error = did.error().to_string();
    }
    if (!did) {
      runner.errors.fetch_add(1);
      const auto delay = std::min<std::chrono::milliseconds>(
          config.poll * (1u << std::min(consecutive_failures, 10u)), std::chrono::seconds(30));
      ++consecutive_failures;
      log(fmt::format("{}: step failed, retrying in {} ms: {}", runner.kind, delay.count(),
                      did.error().to_string()));
      sleep_or_stop(delay);
      continue;
    }
    consecutive_failures = 0;
    if (*did) runner.busy_steps.fetch_add(1);
    if (finished) {
      runner.finished.store(true);
      log(runner.kind + ": finished");
      if (options.exit_when_finished) {
        bool all = true;
        for (const auto& other : roles)
          all = all && other->finished.load();
        if (all) {
          log("every role is finished; stopping");
          stopping.store(true);
          stop_cv.notify_all();
        }
      }
      continue;
    }
    if (!*did) sleep_or_stop(config.poll);
  }
}

void Node::Impl::on_task_event(const chain::ChainEvent& event) {
  if (event.finality == chain::Finality::removed) return;
  const json j = event.to_json();
  const json& args = j["args"];
  if (!args.contains("taskId")) return;
  const std::string id =
      args["taskId"].is_string() ? args["taskId"].get<std::string>() : args["taskId"].dump();
  std::lock_guard guard(chain_mutex);
  json& task = tasks[id];
  if (task.is_null()) task = {{"task", id}, {"events", 0}};
  task["events"] = task["events"].get<std::uint64_t>() + 1;
  task["last_event"] = event.name;
  task["last_block"] = event.log.block_number;
  if (event.name == "TaskCreated") {
    for (const char* key : {"owner", "specCid", "aggregator", "reward", "rounds", "deadline"}) {
      if (args.contains(key)) task[key] = args[key];
    }
    task["state"] = "open";
    task["participants"] = json::array();
  } else if (event.name == "ParticipantJoined" && args.contains("participant")) {
    task["participants"].push_back(args["participant"]);
  } else if (event.name == "TaskStarted") {
    task["state"] = "running";
    task["rounds_closed"] = 0;
  } else if (event.name == "UpdateCommitted") {
    task["updates"] = task.value("updates", 0) + 1;
  } else if (event.name == "AggregatePosted") {
    task["aggregates"] = task.value("aggregates", 0) + 1;
  } else if (event.name == "RoundClosed") {
    task["rounds_closed"] = task.value("rounds_closed", 0) + 1;
  } else if (event.name == "ContributionsReported") {
    task["state"] = "reported";
    if (args.contains("reportCid")) task["report_cid"] = args["reportCid"];
    if (args.contains("totalPaid")) task["total_paid"] = args["totalPaid"];
  } else if (event.name == "ReportChallenged") {
    if (args.contains("challenges")) task["challenges"] = args["challenges"];
  } else if (event.name == "DefaultPayout") {
    task["state"] = "defaulted";
  } else if (event.name == "TaskExpired") {
    task["state"] = "expired";
  }
}

Status Node::Impl::monitor_once() {
  if (!watcher) {
    chain::WatcherOptions watch;
    watch.contracts.push_back({"TrainingTask", context.deployment.training_task});
    watch.start_block = context.deployment.start_block;
    CAIRN_TRY_ASSIGN(watcher, chain::EventWatcher::create(*rpc, watch));
    watcher->subscribe([this](const chain::ChainEvent& event) { on_task_event(event); });
  }
  CAIRN_TRY(watcher->poll_once());
  // This account's transactions since the node started, and the gas they used.
  CAIRN_TRY_ASSIGN(std::uint64_t head, rpc->block_number());
  std::uint64_t from;
  {
    std::lock_guard guard(chain_mutex);
    from = scanned_block + 1;
  }
  const std::string self = context.signer.address.to_lower_hex();
  for (std::uint64_t number = from; number <= head && !stopping.load(); ++number) {
    CAIRN_TRY_ASSIGN(json block, rpc->call("eth_getBlockByNumber",
                                           json::array({chain::to_quantity(number), true})));
    std::uint64_t count = 0, failed = 0, gas = 0;
    if (block.is_object() && block.contains("transactions") && block["transactions"].is_array()) {
      for (const json& tx : block["transactions"]) {
        if (!tx.is_object() || !tx.contains("from") || !tx["from"].is_string()) continue;
        std::string from_address = tx["from"].get<std::string>();
        std::transform(from_address.begin(), from_address.end(), from_address.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (from_address != self) continue;
        CAIRN_TRY_ASSIGN(auto hash, chain::parse_hash(tx["hash"], "transaction hash"));
        CAIRN_TRY_ASSIGN(auto receipt, rpc->receipt(hash));
        ++count;
        if (receipt) {
          gas += receipt->gas_used;
          if (!receipt->success) ++failed;
        }
      }
    }
    std::lock_guard guard(chain_mutex);
    transactions += count;
    failed_transactions += failed;
    gas_used += gas;
    scanned_block = number;
  }
  CAIRN_TRY_ASSIGN(chain::U256 balance, rpc->balance(context.signer.address));
  const double ether = std::stod(balance.to_ether_string());
  std::lock_guard guard(chain_mutex);
  head_block = head;
  balance_ether = ether;
  chain_error.clear();
  return {};
}

void Node::Impl::run_monitor() {
  const auto interval = std::max(config.poll, std::chrono::milliseconds(500));
  while (!stopping.load()) {
    if (Status done = monitor_once(); !done) {
      std::lock_guard guard(chain_mutex);
      if (chain_error != done.error().to_string()) {
        chain_error = done.error().to_string();
        log("chain monitor: " + chain_error);
      }
    }
    sleep_or_stop(interval);
  }
}

Status Node::Impl::start_api() {
  // Writes carry the token (checked by the server, in constant time, before any body is
  // read) and small bodies.
  constexpr std::size_t kMaxWriteBody = 64 * 1024;
  const auto write = [this] {
    return net::RouteOptions::body(kMaxWriteBody).bearer(token, "cairn-node");
  };
  const auto send_json = [](const json& body, int status = 200) {
    return net::Response::json(body.dump() + "\n", status);
  };
  net::Router router;
  router.get("/healthz", [](const net::Request&) -> Result<net::Response> {
    return net::Response::text("ok\n");
  });
  router.get("/v1/status", [this, send_json](const net::Request&) -> Result<net::Response> {
    return send_json(owner->status());
  });
  router.get("/v1/tasks", [this, send_json](const net::Request&) -> Result<net::Response> {
    return send_json(owner->tasks());
  });
  router.get("/metrics", [this](const net::Request&) -> Result<net::Response> {
    return net::Response::bytes(owner->metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
  });
  router.post(
      "/v1/shutdown",
      [this, send_json](const net::Request&) -> Result<net::Response> {
        log("shutdown requested through the API");
        stopping.store(true);
        stop_cv.notify_all();
        return send_json({{"stopping", true}}, 202);
      },
      write());
  router.post(
      net::PathPattern::regex(R"(/v1/roles/([a-z_]+)/(pause|resume))"),
      [this, send_json](const net::Request& req) -> Result<net::Response> {
        const std::string& kind = req.params.at(0);
        const bool pause = req.params.at(1) == "pause";
        if (Status done = owner->set_paused(kind, pause); !done) {
          return net::error_response(404, done.error().message);
        }
        log(fmt::format("{}: {} through the API", kind, pause ? "paused" : "resumed"));
        return send_json({{"role", kind}, {"paused", pause}});
      },
      write());
  net::ServerOptions server_options;
  server_options.host = config.api.host;
  server_options.port = config.api.port;
  server_options.name = "api";
  server_options.workers = 4;
  auto serving = net::Server::start(std::move(router), server_options);
  if (!serving) {
    return fail(serving.error().code, "cannot serve the API on " + config.api.to_string() + ": " +
                                          serving.error().message);
  }
  api = std::move(*serving);
  api_port = api->port();
  return {};
}

// ---------------------------------------------------------------------------------------

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Node::~Node() {
  stop();
}

Result<std::unique_ptr<Node>> Node::start(NodeConfig config, NodeOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  impl->options = std::move(options);
  Impl& s = *impl;
  std::unique_ptr<Node> node(new Node(std::move(impl)));
  s.owner = node.get();

  std::error_code ec;
  CAIRN_TRY(s.open_repo());
  // Private files of the node (journal, seal keys, role state): owner only.
  s.context.state_dir = s.config.repo / "node";
  std::filesystem::create_directories(s.context.state_dir, ec);
  std::filesystem::permissions(s.context.state_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  s.context.name = s.config.name;
  s.context.metrics = &s.role_metrics;
  s.context.stopping = &s.stopping;
  s.context.log = [&s](const std::string& line) { s.log(line); };

  CAIRN_TRY(s.open_chain());
  s.log(fmt::format("account {} on chain {} ({})", s.context.signer.address.to_checksum(),
                    s.context.deployment.chain_id, net::redact_url(s.config.rpc)));
  {
    std::lock_guard guard(s.chain_mutex);
    CAIRN_TRY_ASSIGN(s.scanned_block, s.rpc->block_number());
  }
  CAIRN_TRY(s.start_gateway());
  s.log("gateway at " + s.context.gateway_url + " (store " + s.config.repo.string() + ")");
  CAIRN_TRY(s.open_seal());
  if (s.seal_server) {
    s.log("signing service at " + s.context.seal_url +
          (s.anchor ? ", publications anchored on chain" : ""));
  }
  CAIRN_TRY_ASSIGN(s.token, load_or_create_token(s.config.token_file));
  CAIRN_TRY(s.open_roles());
  CAIRN_TRY(s.start_api());
  s.log(fmt::format("API at http://{}:{}", s.config.api.host, s.api_port));
  for (auto& runner : s.roles) {
    RoleRunner* r = runner.get();
    r->thread = std::thread([&s, r] { s.run_role(*r); });
    s.log(r->kind + ": started");
  }
  s.monitor_thread = std::thread([&s] { s.run_monitor(); });
  return node;
}

bool Node::stop_requested() const {
  return impl_->stopping.load();
}

void Node::request_stop() {
  impl_->stopping.store(true);
  impl_->stop_cv.notify_all();
}

bool Node::wait_for_stop(std::chrono::milliseconds timeout) {
  return impl_->sleep_or_stop(timeout);
}

void Node::stop() {
  Impl& s = *impl_;
  {
    std::lock_guard guard(s.stop_mutex);
    if (s.stopped) return;
    s.stopped = true;
  }
  request_stop();
  // Roles first (each finishes its current step: nothing half done), then what they use.
  for (auto& runner : s.roles) {
    if (runner->thread.joinable()) runner->thread.join();
  }
  if (s.monitor_thread.joinable()) s.monitor_thread.join();
  if (s.api) s.api->stop();
  s.roles.clear();
  if (s.seal_server) s.seal_server->stop();
  s.seal_server.reset();
  s.signing.reset();
  s.anchor.reset();
  if (s.gateway) s.gateway->stop();
  s.gateway.reset();
  s.served.reset();
  s.repo.reset();
  s.lock.reset();
  s.log("stopped");
}

json Node::endpoints() const {
  const Impl& s = *impl_;
  return {{"name", s.config.name},
          {"address", s.context.signer.address.to_checksum()},
          {"gateway", s.context.gateway_url},
          {"api", fmt::format("http://{}:{}", s.config.api.host, s.api_port)},
          {"seal", s.context.seal_url.empty() ? json(nullptr) : json(s.context.seal_url)},
          {"token_file", s.config.token_file.string()},
          {"repo", s.config.repo.string()},
          {"roles",
           [&] {
             json kinds = json::array();
             for (const auto& runner : s.roles)
               kinds.push_back(runner->kind);
             return kinds;
           }()},
          {"pid", ::getpid()}};
}

json Node::status() const {
  const Impl& s = *impl_;
  json result = endpoints();
  result["uptime_s"] = std::chrono::duration<double>(Clock::now() - s.started).count();
  result["stopping"] = s.stopping.load();
  {
    std::lock_guard guard(s.chain_mutex);
    result["chain"] = {{"rpc", net::redact_url(s.config.rpc)},
                       {"chain_id", s.context.deployment.chain_id},
                       {"head", s.head_block},
                       {"transactions", s.transactions},
                       {"gas_used", s.gas_used},
                       {"balance_ether", s.balance_ether},
                       {"resumed_transactions", s.resumed_transactions},
                       {"error", s.chain_error.empty() ? json(nullptr) : json(s.chain_error)}};
  }
  json roles = json::array();
  for (const auto& runner : s.roles) {
    std::lock_guard guard(runner->mutex);
    roles.push_back(
        {{"kind", runner->kind},
         {"paused", runner->paused.load()},
         {"finished", runner->finished.load()},
         {"steps", runner->steps.load()},
         {"step_errors", runner->errors.load()},
         {"last_error", runner->last_error.empty() ? json(nullptr) : json(runner->last_error)},
         {"status", runner->last_status}});
  }
  result["roles"] = roles;
  return result;
}

json Node::tasks() const {
  const Impl& s = *impl_;
  json list = json::array();
  std::lock_guard guard(s.chain_mutex);
  for (const auto& [id, task] : s.tasks)
    list.push_back(task);
  return {{"training_task", s.context.deployment.training_task.to_checksum()},
          {"head", s.head_block},
          {"tasks", list}};
}

std::string Node::metrics_text() const {
  const Impl& s = *impl_;
  std::vector<MetricFamily> families;
  auto single = [&](std::string name, std::string help, std::string type, double value) {
    families.push_back({std::move(name), std::move(help), std::move(type), {{{}, value}}});
  };
  single("cairn_node_uptime_seconds", "Seconds since the node started.", "gauge",
         std::chrono::duration<double>(Clock::now() - s.started).count());
  MetricFamily steps{"cairn_node_role_steps_total", "Steps each role has taken.", "counter", {}};
  MetricFamily busy{
      "cairn_node_role_busy_steps_total", "Steps in which a role did something.", "counter", {}};
  MetricFamily errors{"cairn_node_role_step_errors_total",
                      "Steps that failed (logged and retried).",
                      "counter",
                      {}};
  MetricFamily seconds{
      "cairn_node_role_step_seconds_total", "Seconds spent inside step().", "counter", {}};
  MetricFamily finished{
      "cairn_node_role_finished", "1 once a role has nothing left to do.", "gauge", {}};
  MetricFamily paused{
      "cairn_node_role_paused", "1 while a role is paused through the API.", "gauge", {}};
  for (const auto& runner : s.roles) {
    const std::map<std::string, std::string> labels = {{"role", runner->kind}};
    steps.samples.push_back({labels, static_cast<double>(runner->steps.load())});
    busy.samples.push_back({labels, static_cast<double>(runner->busy_steps.load())});
    errors.samples.push_back({labels, static_cast<double>(runner->errors.load())});
    {
      std::lock_guard guard(runner->mutex);
      seconds.samples.push_back({labels, runner->step_seconds});
    }
    finished.samples.push_back({labels, runner->finished.load() ? 1.0 : 0.0});
    paused.samples.push_back({labels, runner->paused.load() ? 1.0 : 0.0});
  }
  for (auto* family : {&steps, &busy, &errors, &seconds, &finished, &paused})
    families.push_back(std::move(*family));
  if (s.served) {
    single("cairn_gateway_blocks_served_total", "Blocks the gateway served to other nodes.",
           "counter", static_cast<double>(s.served->requests()));
    single("cairn_gateway_bytes_served_total", "Block bytes the gateway served to other nodes.",
           "counter", static_cast<double>(s.served->bytes()));
  }
  {
    std::lock_guard guard(s.chain_mutex);
    single("cairn_chain_transactions_total",
           "Transactions of this node's account mined since the node started.", "counter",
           static_cast<double>(s.transactions));
    single("cairn_chain_failed_transactions_total",
           "Mined transactions of this node's account that reverted.", "counter",
           static_cast<double>(s.failed_transactions));
    single("cairn_chain_gas_used_total", "Gas used by this node's transactions since it started.",
           "counter", static_cast<double>(s.gas_used));
    single("cairn_chain_resumed_transactions",
           "Journaled transactions re-broadcast when the node started.", "gauge",
           static_cast<double>(s.resumed_transactions));
    single("cairn_chain_head_block", "The chain's head block as last seen.", "gauge",
           static_cast<double>(s.head_block));
    single("cairn_chain_balance_ether", "This node's account balance in ether.", "gauge",
           s.balance_ether);
    single("cairn_node_tasks_seen", "Training tasks seen on chain.", "gauge",
           static_cast<double>(s.tasks.size()));
  }
  if (s.signing) {
    const auto stats = s.signing->stats();
    single("cairn_seal_requests_total", "Signing requests served.", "counter",
           static_cast<double>(stats.requests));
    single("cairn_seal_rounds_total", "Aggregation rounds closed.", "counter",
           static_cast<double>(stats.rounds));
    single("cairn_seal_publications", "Calendar publications made.", "gauge",
           static_cast<double>(stats.publications));
  }
  // The roles' own counters (market::Metrics): "_total" names are counters.
  for (const auto& [name, value] : s.role_metrics.snapshot()) {
    const std::string full = metric_name("cairn_" + name);
    const bool counter = full.ends_with("_total");
    single(full, "Reported by the node's roles (" + name + ").", counter ? "counter" : "gauge",
           value);
  }
  return render_prometheus(families);
}

Status Node::set_paused(const std::string& kind, bool paused) {
  for (const auto& runner : impl_->roles) {
    if (runner->kind == kind) {
      runner->paused.store(paused);
      impl_->stop_cv.notify_all();
      return {};
    }
  }
  return fail(Errc::not_found, "this node runs no role " + kind);
}

bool Node::all_roles_finished() const {
  for (const auto& runner : impl_->roles) {
    if (!runner->finished.load()) return false;
  }
  return !impl_->roles.empty();
}

}  // namespace cairn::node

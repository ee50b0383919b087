// The node daemon's commands: node init|start|status|stop|pause|resume.
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/json.hpp"
#include "cli/command.hpp"
#include "net/client.hpp"
#include "net/url.hpp"
#include "node/config.hpp"
#include "node/daemon.hpp"

namespace cairn::cli {
namespace {

using nlohmann::json;

std::string read_text(const std::filesystem::path& path) {
  return read_text_file(path, "--token-file");
}

// The node's API from --api, on net::Client (timeouts, no redirects, a capped answer).
constexpr std::size_t kMaxApiAnswer = 16u << 20;

net::Url api_url(const Args& args) {
  auto url = net::Url::parse(args.require("--api"));
  if (!url) throw UsageError("--api: " + url.error().message);
  return std::move(*url);
}

std::unique_ptr<net::Client> api_client(const Args& args, std::string token = {}) {
  net::ClientOptions options;
  options.connect_timeout = std::chrono::seconds(5);
  options.read_timeout = std::chrono::seconds(30);
  options.max_response_bytes = kMaxApiAnswer;
  options.bearer_token = std::move(token);
  return std::make_unique<net::Client>(api_url(args), std::move(options));
}

std::string token_from(const Args& args) {
  auto token = read_text(args.require("--token-file"));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r'))
    token.pop_back();
  if (token.empty()) throw CommandError("the token file is empty");
  return token;
}

json answer_json(Result<net::ClientResponse> answer, const std::string& what) {
  // net names the URL and the cause; a node's error body is quoted, anything else is not.
  if (!answer) throw CommandError(std::move(answer).error().context(what));
  auto parsed = parse_json(answer->body, what);
  if (!parsed) {
    throw CommandError(
        Error{Errc::parse, fmt::format("{}: the answer is not JSON ({}, {} bytes)", what,
                                       answer->content_type(), answer->body.size())});
  }
  return *std::move(parsed);
}

// ---- node init ----
int run_node_init(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  const std::string name = args.require("--name");
  const std::filesystem::path out = args.require("--out");
  std::vector<std::string> roles = args.all("--role");
  for (const auto& role : roles) {
    const auto& kinds = node::role_kinds();
    if (std::find(kinds.begin(), kinds.end(), role) == kinds.end()) {
      throw UsageError("--role: unknown role " + role +
                       " (data_provider, compute_provider, model_provider, aggregator, auditor)");
    }
  }
  if (roles.empty()) roles.push_back("data_provider");
  const auto dev = static_cast<std::size_t>(args.get_int_or("--dev-account", 1, 0, 9));
  json config = node::config_skeleton(name, roles, dev);
  if (auto rpc = args.get("--rpc")) config["chain"]["rpc"] = *rpc;
  if (auto deployment = args.get("--deployment")) config["chain"]["deployment"] = *deployment;
  if (std::filesystem::exists(out) && !args.has("--force")) {
    throw CommandError(Error{Errc::conflict, out.string() + " exists (--force to replace it)"});
  }
  const std::string text = config.dump(2) + "\n";
  // What we write must be what `node start` accepts.
  unwrap(node::parse_node_config(as_bytes(text), out), "checking the skeleton");
  write_file(out, text);
  ctx.print("wrote " + out.string() + " (edit the role settings, then `cairn node start --config " +
            out.string() + "`)");
  ctx.result = {{"config", out.string()}, {"roles", roles}};
  return kExitOk;
}

const CommandRegistration node_init{Command{
    "node",
    "init",
    "write a node configuration skeleton",
    "--name NAME --out FILE [--role KIND]... [--dev-account N] [--rpc URL] [--deployment FILE]",
    {{"--name", true, "the node's name (letters, digits, - _ .)", "", false},
     {"--out", true, "the configuration file to write", "", false},
     {"--role", true,
      "data_provider (default), compute_provider, model_provider, aggregator, auditor", "", true},
     {"--dev-account", true, "anvil's development account to use (default 1)", "", false},
     {"--rpc", true, "the chain's JSON-RPC URL (default http://127.0.0.1:8545)", "", false},
     {"--deployment", true, "the deployment file of `cairn chain deploy --out`", "", false},
     {"--force", false, "replace an existing file", "", false}},
    "Paths in the file are relative to the file's directory. docs/node.md describes every key.",
    run_node_init}};

// ---- node start ----
int run_node_start(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  auto config = unwrap(node::load_node_config(args.require("--config")));
  // Signals are taken by sigtimedwait below, never by a handler on a random thread: block
  // them before any thread starts so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const std::string name = config.name;
  auto log_mutex = std::make_shared<std::mutex>();
  node::NodeOptions options;
  options.exit_when_finished = args.has("--exit-when-finished");
  if (!ctx.quiet) {
    options.log = [name, log_mutex](const std::string& line) {
      const auto now =
          std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
      std::lock_guard guard(*log_mutex);
      std::fprintf(stderr, "%s %s | %s\n", fmt::format("{:%H:%M:%S}", now).c_str(), name.c_str(),
                   line.c_str());
      std::fflush(stderr);
    };
  }
  auto node = unwrap(node::Node::start(std::move(config), options), "starting the node");
  const json endpoints = node->endpoints();
  if (ctx.json) {
    std::printf("%s\n", endpoints.dump().c_str());
  } else {
    std::printf("node %s ready: gateway %s, API %s%s\n", name.c_str(),
                endpoints["gateway"].get<std::string>().c_str(),
                endpoints["api"].get<std::string>().c_str(),
                endpoints["seal"].is_string()
                    ? (", signing service " + endpoints["seal"].get<std::string>()).c_str()
                    : "");
  }
  std::fflush(stdout);
  int signal_number = 0;
  while (!node->stop_requested()) {
    const timespec wait{0, 200'000'000};
    const int got = sigtimedwait(&stop_signals, nullptr, &wait);
    if (got > 0) {
      signal_number = got;
      if (options.log) options.log(fmt::format("signal {}: stopping", got));
      break;
    }
  }
  const bool finished = node->all_roles_finished();
  node->stop();
  ctx.result = {{"stopped", true},
                {"signal", signal_number == 0 ? json(nullptr) : json(signal_number)},
                {"finished", finished}};
  return kExitOk;
}

const CommandRegistration node_start{Command{
    "node",
    "start",
    "run a node in the foreground (store, gateway, seal, roles, API)",
    "--config FILE [--exit-when-finished]",
    {{"--config", true, "the node's configuration (docs/node.md)", "", false},
     {"--exit-when-finished", false, "stop once every role has nothing left to do", "", false}},
    "Progress goes to standard error. With --json the first line of standard output is a JSON\n"
    "object with the node's gateway, API and signing-service URLs, printed once it is ready.\n"
    "SIGINT, SIGTERM or POST /v1/shutdown stop it between role steps.",
    run_node_start}};

// ---- node status ----
int run_node_status(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  auto client = api_client(args);
  const json status = answer_json(client->get("/v1/status"), "GET /v1/status");
  ctx.print(fmt::format("node {} ({}), up {:.0f} s", status.value("name", "?"),
                        status.value("address", "?"), status.value("uptime_s", 0.0)));
  ctx.print("  gateway " + status.value("gateway", "?") + ", API " + status.value("api", "?"));
  if (status.contains("chain")) {
    const json& chain = status["chain"];
    ctx.print(fmt::format("  chain {} head {}, {} transaction(s), {} gas",
                          chain.value("chain_id", 0), chain.value("head", 0),
                          chain.value("transactions", 0), chain.value("gas_used", 0)));
  }
  for (const json& role : status.value("roles", json::array())) {
    ctx.print(fmt::format("  {:<16} {}{} steps {} errors {} {}", role.value("kind", "?"),
                          role.value("finished", false) ? "finished" : "running",
                          role.value("paused", false) ? " (paused)" : "", role.value("steps", 0),
                          role.value("step_errors", 0), role["status"].dump()));
  }
  ctx.result = status;
  return kExitOk;
}

const CommandRegistration node_status{
    Command{"node",
            "status",
            "a running node's status (GET /v1/status)",
            "--api URL",
            {{"--api", true, "the node's API, http://host:port", "", false}},
            "",
            run_node_status}};

// ---- node stop ----
int run_node_stop(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  auto client = api_client(args, token_from(args));
  answer_json(client->post("/v1/shutdown", "", "application/json"), "POST /v1/shutdown");
  // Wait until the API is gone: the node has finished its steps and released its repo.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(args.get_int_or("--wait", 120, 0, 3600));
  bool gone = false;
  while (std::chrono::steady_clock::now() < deadline) {
    net::ClientOptions probe_options;
    probe_options.connect_timeout = std::chrono::seconds(1);
    probe_options.read_timeout = std::chrono::seconds(5);
    probe_options.retries = 0;
    probe_options.keep_alive = false;
    net::Client probe(api_url(args), probe_options);
    auto health = probe.get("/healthz");
    // Gone: no HTTP answer at all (a 503 while it shuts down is still an answer).
    if (!health && health.error().message.find("answered HTTP") == std::string::npos) {
      gone = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ctx.print(gone ? "node stopped" : "node is stopping (still answering)");
  ctx.result = {{"stopped", gone}};
  return gone ? kExitOk : kExitFailure;
}

const CommandRegistration node_stop{Command{
    "node",
    "stop",
    "stop a running node (POST /v1/shutdown) and wait until it is gone",
    "--api URL --token-file FILE [--wait SECONDS]",
    {{"--api", true, "the node's API, http://host:port", "", false},
     {"--token-file", true, "the node's API token file (api.token_file of its config)", "", false},
     {"--wait", true, "seconds to wait for the node to exit (default 120)", "", false}},
    "",
    run_node_stop}};

// ---- node pause|resume ----
int run_pause_resume(Context& ctx, const Args& args, bool pause) {
  args.expect_positional(0, 0);
  auto client = api_client(args, token_from(args));
  const std::string role = args.require("--role");
  const std::string path = "/v1/roles/" + role + (pause ? "/pause" : "/resume");
  ctx.result = answer_json(client->post(path, "", "application/json"), "POST " + path);
  ctx.print(role + (pause ? " paused" : " resumed"));
  return kExitOk;
}

const std::vector<OptionSpec> kRoleWriteOptions = {
    {"--api", true, "the node's API, http://host:port", "", false},
    {"--token-file", true, "the node's API token file", "", false},
    {"--role", true, "the role's kind, e.g. data_provider", "", false}};

const CommandRegistration node_pause{
    Command{"node", "pause", "pause a role of a running node (between steps)",
            "--api URL --token-file FILE --role KIND", kRoleWriteOptions, "",
            [](Context& ctx, const Args& args) { return run_pause_resume(ctx, args, true); }}};
const CommandRegistration node_resume{
    Command{"node", "resume", "resume a paused role", "--api URL --token-file FILE --role KIND",
            kRoleWriteOptions, "",
            [](Context& ctx, const Args& args) { return run_pause_resume(ctx, args, false); }}};

}  // namespace
}  // namespace cairn::cli

// The daemon's API on a real node: a real anvil with the platform's contracts, a real store and
// gateway, a real signing service. The role is a small step counter supplied through
// NodeOptions::make_role, so that the scheduler (pause, resume, errors, finishing) can be observed
// exactly.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "chain/anvil.hpp"
#include "chain/contract.hpp"
#include "chain/data_transfer.hpp"
#include "net/abuse.hpp"
#include "net/url.hpp"
#include "node/daemon.hpp"
#include "testing/testing.hpp"

namespace cairn::node {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Counts its steps; fails every third step (the node must log and go on); finished after
// `finish_after` steps when that is nonzero.
class CountingRole final : public market::Role {
 public:
  CountingRole(std::string kind, market::NodeContext& context, std::uint64_t finish_after)
      : kind_(std::move(kind)), context_(context), finish_after_(finish_after) {}
  std::string_view kind() const override { return kind_; }
  Result<bool> step() override {
    const auto n = ++steps_;
    context_.metrics->add("test_role_steps_total");
    if (n % 3 == 0) return fail(Errc::unavailable, "every third step fails");
    return false;
  }
  json status() const override { return {{"steps", steps_.load()}}; }
  bool finished() const override { return finish_after_ != 0 && steps_.load() >= finish_after_; }

 private:
  std::string kind_;
  market::NodeContext& context_;
  std::uint64_t finish_after_;
  std::atomic<std::uint64_t> steps_{0};
};

class NodeApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    auto started = chain::Anvil::start();
    ASSERT_TRUE(started) << started.error().to_string();
    anvil_ = started->release();
    // The contracts, and the deployment file as `cairn chain deploy --out` writes it (the
    // CLI's own path is exercised by the platform tests).
    auto rpc = chain::RpcClient::create(anvil_->url());
    ASSERT_TRUE(rpc);
    auto sender = chain::TransactionSender::create(*rpc);
    ASSERT_TRUE(sender);
    const auto deployer = chain::Signer::from_key(chain::dev_account_key(0));
    json contracts = json::object();
    auto data_transfer = chain::DataTransfer::deploy(*sender, deployer, std::nullopt, 86400);
    ASSERT_TRUE(data_transfer) << data_transfer.error().to_string();
    contracts["DataTransfer"] = data_transfer->address().to_checksum();
    for (const char* name : {"Anchor", "Registry", "TrainingTask"}) {
      auto contract = chain::Contract::deploy(*sender, deployer, name);
      ASSERT_TRUE(contract) << contract.error().to_string();
      contracts[name] = contract->address().to_checksum();
    }
    std::ofstream(*dir_ / "deployment.json") << json{
        {"rpc", anvil_->url()},
        {"chainId", 31337},
        {"startBlock", 0},
        {"contracts", contracts}}.dump();
  }
  static void TearDownTestSuite() {
    delete anvil_;
    delete dir_;
  }

  json config_json(const std::string& name) const {
    return {{"name", name},
            {"repo", "nodes/" + name},
            {"chain", {{"rpc", anvil_->url()}, {"deployment", "deployment.json"}}},
            {"account", {{"dev_account", 3}}},
            {"gateway", {{"listen", "127.0.0.1:0"}}},
            {"api", {{"listen", "127.0.0.1:0"}, {"token_file", "nodes/" + name + "/api-token"}}},
            {"seal", {{"serve", "127.0.0.1:0"}, {"anchor", true}, {"round_ms", 100}}},
            {"poll_ms", 20},
            {"roles", {{"auditor", {{"out", "audit"}}}}}};
  }

  std::unique_ptr<Node> start(const json& doc, std::uint64_t finish_after = 0,
                              bool exit_when_finished = false) {
    const auto file = *dir_ / (doc["name"].get<std::string>() + ".json");
    std::ofstream(file) << doc.dump(2);
    auto config = load_node_config(file);
    EXPECT_TRUE(config) << config.error().to_string();
    if (!config) return nullptr;
    NodeOptions options;
    options.exit_when_finished = exit_when_finished;
    options.log = [this](const std::string& line) {
      std::lock_guard guard(log_mutex_);
      log_.push_back(line);
    };
    options.make_role = [finish_after](
                            const std::string& kind, const json&,
                            market::NodeContext& context) -> Result<std::unique_ptr<market::Role>> {
      return std::make_unique<CountingRole>(kind, context, finish_after);
    };
    auto node = Node::start(std::move(*config), options);
    EXPECT_TRUE(node) << node.error().to_string();
    return node ? std::move(*node) : nullptr;
  }

  static std::string token_of(const Node& node) {
    std::ifstream in(node.endpoints()["token_file"].get<std::string>());
    std::string token;
    std::getline(in, token);
    return token;
  }
  static httplib::Client client(const Node& node) {
    httplib::Client c(node.endpoints()["api"].get<std::string>());
    c.set_read_timeout(10);
    return c;
  }
  bool logged(const std::string& fragment) {
    std::lock_guard guard(log_mutex_);
    for (const auto& line : log_) {
      if (line.find(fragment) != std::string::npos) return true;
    }
    return false;
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline chain::Anvil* anvil_ = nullptr;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
};

std::uint64_t role_steps(httplib::Client& c) {
  auto res = c.Get("/v1/status");
  if (!res || res->status != 200) return 0;
  return json::parse(res->body)["roles"][0]["steps"].get<std::uint64_t>();
}

TEST_F(NodeApiTest, ReadsNeedNoTokenAndDescribeTheNode) {
  auto node = start(config_json("reader"));
  ASSERT_TRUE(node);
  auto c = client(*node);
  auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");

  std::this_thread::sleep_for(200ms);
  auto status = c.Get("/v1/status");
  ASSERT_TRUE(status);
  ASSERT_EQ(status->status, 200);
  const json body = json::parse(status->body);
  EXPECT_EQ(body["name"], "reader");
  EXPECT_EQ(body["address"],
            chain::Address::from_secret_key(chain::dev_account_key(3)).to_checksum());
  EXPECT_TRUE(body["gateway"].get<std::string>().starts_with("http://127.0.0.1:"));
  EXPECT_TRUE(body["seal"].get<std::string>().starts_with("http://127.0.0.1:"));
  EXPECT_EQ(body["chain"]["chain_id"], 31337);
  ASSERT_EQ(body["roles"].size(), 1u);
  EXPECT_EQ(body["roles"][0]["kind"], "auditor");
  EXPECT_GT(body["roles"][0]["steps"].get<int>(), 0);
  EXPECT_GT(body["roles"][0]["step_errors"].get<int>(), 0);  // every third step fails ...
  EXPECT_TRUE(logged("every third step fails"));             // ... is logged ...
  std::this_thread::sleep_for(200ms);
  EXPECT_GT(role_steps(c), body["roles"][0]["steps"].get<std::uint64_t>());  // ... and retried

  auto tasks = c.Get("/v1/tasks");
  ASSERT_TRUE(tasks);
  EXPECT_EQ(tasks->status, 200);
  EXPECT_TRUE(json::parse(tasks->body)["tasks"].is_array());

  auto missing = c.Get("/v1/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  // The API token is a secret: not in what reads return, not in the endpoints the node
  // prints when it is ready, not in its log.
  const std::string token = token_of(*node);
  ASSERT_GE(token.size(), 32u);
  EXPECT_EQ(status->body.find(token), std::string::npos);
  EXPECT_EQ(node->endpoints().dump().find(token), std::string::npos);
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->body.find(token), std::string::npos);
  std::lock_guard guard(log_mutex_);
  for (const auto& line : log_)
    EXPECT_EQ(line.find(token), std::string::npos) << line;
}

TEST_F(NodeApiTest, WritesNeedTheBearerToken) {
  auto node = start(config_json("writer"));
  ASSERT_TRUE(node);
  const std::string token = token_of(*node);
  ASSERT_EQ(token.size(), 64u);
  struct stat info {};
  ASSERT_EQ(::stat(node->endpoints()["token_file"].get<std::string>().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);

  auto c = client(*node);
  const std::vector<httplib::Headers> refused = {
      {},
      {{"Authorization", "Bearer " + token.substr(0, 63) + (token.back() == '0' ? "1" : "0")}},
      {{"Authorization", "Bearer "}},
      {{"Authorization", token}},
      {{"Authorization", "Basic " + token}},
      {{"Authorization", "Bearer " + token + "x"}}};
  for (const auto& headers : refused) {
    for (const char* path :
         {"/v1/shutdown", "/v1/roles/auditor/pause", "/v1/roles/auditor/resume"}) {
      auto res = c.Post(path, headers, "", "application/json");
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 401) << path;
    }
  }
  EXPECT_FALSE(node->stop_requested());

  const httplib::Headers good = {{"Authorization", "Bearer " + token}};
  auto paused = c.Post("/v1/roles/auditor/pause", good, "", "application/json");
  ASSERT_TRUE(paused);
  EXPECT_EQ(paused->status, 200);
  std::this_thread::sleep_for(100ms);  // a step in flight finishes
  const auto steps = role_steps(c);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(role_steps(c), steps) << "a paused role kept stepping";
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("cairn_node_role_paused{role=\"auditor\"} 1"), std::string::npos);

  auto resumed = c.Post("/v1/roles/auditor/resume", good, "", "application/json");
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->status, 200);
  std::this_thread::sleep_for(300ms);
  EXPECT_GT(role_steps(c), steps);

  auto unknown = c.Post("/v1/roles/data_provider/pause", good, "", "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);

  auto shutdown = c.Post("/v1/shutdown", good, "", "application/json");
  ASSERT_TRUE(shutdown);
  EXPECT_EQ(shutdown->status, 202);
  EXPECT_TRUE(node->wait_for_stop(5s));
  node->stop();
  EXPECT_FALSE(client(*node).Get("/healthz"));  // the API is gone
}

// Sends `request` as is to the API (127.0.0.1:port) and returns the whole answer.
std::string raw_exchange(std::uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
      ::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    for (ssize_t got; (got = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
      answer.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return answer;
}

TEST_F(NodeApiTest, ABarePostIsAnEmptyBodyAndBigBodiesAreRefusedUnread) {
  auto node = start(config_json("bare-post"));
  ASSERT_TRUE(node);
  const std::string api = node->endpoints()["api"].get<std::string>();
  const auto port = static_cast<std::uint16_t>(std::stoi(api.substr(api.rfind(':') + 1)));
  // The pause request with `extra` headers, as raw bytes (httplib's client always adds a
  // Content-Length).
  const auto pause_with = [&](const std::string& extra) {
    return raw_exchange(port,
                        "POST /v1/roles/auditor/pause HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Authorization: Bearer " +
                            token_of(*node) + "\r\n" + extra + "Connection: close\r\n\r\n");
  };
  // What `curl -X POST` sends without -d: no body, no Content-Length. It is served.
  const std::string answer = pause_with("");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
  EXPECT_NE(answer.find("\"paused\":true"), std::string::npos) << answer;
  // The same request with Content-Length: 0 is served too.
  const std::string served = pause_with("Content-Length: 0\r\n");
  EXPECT_TRUE(served.starts_with("HTTP/1.1 200")) << served;
  // A body beyond the write routes' 64 KiB is refused before it is read.
  const std::string big = pause_with("Content-Length: 1000000\r\n");
  EXPECT_TRUE(big.starts_with("HTTP/1.1 413")) << big;
  EXPECT_NE(big.find("\"code\":\"invalid_argument\""), std::string::npos) << big;
  node->stop();
}

// Slowloris connections and 4 GiB POSTs (with the token, so that they pass authentication)
// cost the API file descriptors, not its workers or its memory.
TEST_F(NodeApiTest, AbuseDoesNotStarveARealRequest) {
  auto node = start(config_json("abused"));
  ASSERT_TRUE(node);
  const std::string api = node->endpoints()["api"].get<std::string>();
  net::testing::AbuseTarget target;
  target.port = static_cast<std::uint16_t>(std::stoi(api.substr(api.rfind(':') + 1)));
  target.slow_head = "GET /v1/status HTTP/1.1";
  target.post_head = "POST /v1/roles/auditor/pause HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                     token_of(*node);
  target.legitimate = [&] {
    httplib::Client legit(api);
    legit.set_connection_timeout(2, 0);
    legit.set_read_timeout(2, 0);
    auto res = legit.Get("/v1/status");
    return res && res->status == 200 && json::parse(res->body).contains("roles");
  };
  const auto outcome = net::testing::run_abuse(target);
  EXPECT_EQ(outcome.slow_connected, 300);
  EXPECT_TRUE(outcome.legitimate_answered);
  EXPECT_LT(outcome.legitimate_took, 2s);
  EXPECT_LT(outcome.rss_growth_kib, 64 * 1024) << "resident memory grew under abuse";
  node->stop();
}

TEST_F(NodeApiTest, StatusShowsTheRpcUrlRedacted) {
  json doc = config_json("redacted");
  doc["chain"]["rpc"] = anvil_->url() + "/?apikey=s3cret-api-key";
  auto node = start(doc);
  ASSERT_TRUE(node);
  auto c = client(*node);
  auto status = c.Get("/v1/status");
  ASSERT_TRUE(status);
  ASSERT_EQ(status->status, 200);
  EXPECT_EQ(status->body.find("s3cret"), std::string::npos) << status->body;
  const std::string rpc = json::parse(status->body)["chain"]["rpc"].get<std::string>();
  EXPECT_EQ(rpc, net::Url::parse(anvil_->url()).value().origin() + "/…") << rpc;
  EXPECT_FALSE(logged("s3cret"));
  node->stop();
}

TEST_F(NodeApiTest, MetricsAreInPrometheusTextFormat) {
  auto node = start(config_json("metrics"));
  ASSERT_TRUE(node);
  std::this_thread::sleep_for(1200ms);  // the chain monitor has run once
  auto c = client(*node);
  auto res = c.Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = res->body;
  // Every line is a HELP, a TYPE or a sample of the family just declared.
  const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? (-?[0-9.]+(e[+-]?[0-9]+)?|NaN|[+-]Inf))");
  std::istringstream lines(text);
  std::string line, family;
  std::set<std::string> families;
  int samples = 0;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      family = m[1];
      EXPECT_TRUE(families.insert(family).second) << "family declared twice: " << family;
      ASSERT_TRUE(std::getline(lines, line));
      ASSERT_TRUE(std::regex_match(line, m, type)) << line;
      EXPECT_EQ(m[1], family);
    } else {
      ASSERT_TRUE(std::regex_match(line, m, sample)) << "not a sample line: " << line;
      EXPECT_EQ(m[1], family) << line;
      ++samples;
    }
  }
  EXPECT_GT(samples, 10);
  for (const char* name : {"cairn_node_uptime_seconds", "cairn_node_role_steps_total",
                           "cairn_node_role_step_errors_total", "cairn_node_role_finished",
                           "cairn_gateway_blocks_served_total", "cairn_gateway_bytes_served_total",
                           "cairn_chain_transactions_total", "cairn_chain_gas_used_total",
                           "cairn_seal_requests_total", "cairn_test_role_steps_total"}) {
    EXPECT_TRUE(families.contains(name)) << name << " missing from\n" << text;
  }
  EXPECT_NE(text.find("# TYPE cairn_test_role_steps_total counter"), std::string::npos);
}

TEST_F(NodeApiTest, OneNodePerRepositoryAndItsTokenSurvivesARestart) {
  const json doc = config_json("locked");
  auto first = start(doc);
  ASSERT_TRUE(first);
  const std::string token = token_of(*first);
  {
    const auto file = *dir_ / "locked.json";
    auto config = load_node_config(file);
    ASSERT_TRUE(config);
    NodeOptions options;
    options.make_role = [](const std::string& kind, const json&,
                           market::NodeContext& context) -> Result<std::unique_ptr<market::Role>> {
      return std::make_unique<CountingRole>(kind, context, 0);
    };
    auto second = Node::start(std::move(*config), options);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, Errc::conflict);
    EXPECT_NE(second.error().message.find("(another node) is in use by another process (pid "),
              std::string::npos)
        << second.error().message;
  }
  first->stop();
  first.reset();
  auto again = start(doc);  // the lock went with the first node
  ASSERT_TRUE(again);
  EXPECT_EQ(token_of(*again), token);
}

TEST_F(NodeApiTest, RefusesATokenFileOthersCanRead) {
  json doc = config_json("leaky");
  doc["api"]["token_file"] = "tokens/leaky";
  const auto token_file = *dir_ / "tokens/leaky";
  std::filesystem::create_directories(token_file.parent_path());
  std::ofstream(token_file) << "0123456789abcdef0123456789abcdef\n";
  std::filesystem::permissions(token_file, std::filesystem::perms::owner_read |
                                               std::filesystem::perms::owner_write |
                                               std::filesystem::perms::others_read);
  const auto file = *dir_ / "leaky.json";
  std::ofstream(file) << doc.dump();
  auto config = load_node_config(file);
  ASSERT_TRUE(config);
  NodeOptions options;
  options.make_role = [](const std::string& kind, const json&,
                         market::NodeContext& context) -> Result<std::unique_ptr<market::Role>> {
    return std::make_unique<CountingRole>(kind, context, 0);
  };
  auto node = Node::start(std::move(*config), options);
  ASSERT_FALSE(node);
  EXPECT_NE(node.error().message.find("readable by others"), std::string::npos);
}

TEST_F(NodeApiTest, StopsByItselfWhenEveryRoleIsFinished) {
  auto node = start(config_json("finisher"), 5, true);
  ASSERT_TRUE(node);
  EXPECT_TRUE(node->wait_for_stop(10s));
  EXPECT_TRUE(node->all_roles_finished());
  EXPECT_TRUE(logged("auditor: finished"));
}

TEST_F(NodeApiTest, RefusesADeploymentWithoutCode) {
  json doc = config_json("nocode");
  const json deployment = {{"rpc", anvil_->url()},
                           {"chainId", 31337},
                           {"startBlock", 0},
                           {"contracts",
                            {{"Registry", "0x00000000000000000000000000000000000000aa"},
                             {"TrainingTask", "0x00000000000000000000000000000000000000bb"},
                             {"Anchor", "0x00000000000000000000000000000000000000cc"},
                             {"DataTransfer", "0x00000000000000000000000000000000000000dd"}}}};
  std::ofstream(*dir_ / "empty-deployment.json") << deployment.dump();
  doc["chain"]["deployment"] = "empty-deployment.json";
  const auto file = *dir_ / "nocode.json";
  std::ofstream(file) << doc.dump();
  auto config = load_node_config(file);
  ASSERT_TRUE(config);
  auto node = Node::start(std::move(*config), {});
  ASSERT_FALSE(node);
  EXPECT_NE(node.error().message.find("no code there"), std::string::npos) << node.error().message;
}

}  // namespace
}  // namespace cairn::node

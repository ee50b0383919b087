// The platform as separate processes: a fresh anvil, `cairn chain deploy --out`, shards
// from `cairn learn partition`, and one `cairn node start` process per organisation (a
// model provider running the signing service, an aggregator, three data providers). Every
// case lets a task run to its end and asserts the outcome from the chain (the contract's
// participant records, the events) and from the passport the model provider wrote: who
// was left out and why, and that the honest parties were paid. Nothing is shared between
// the processes but the chain and their gateways.
//
// Logistic regression on 150 rows per provider and a 1024-bit Paillier key (allowed only
// because the model provider's config says "insecure_test_key": true) keep a case under
// a minute or two on a small machine.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <thread>

#include "base/encoding.hpp"
#include "chain/anvil.hpp"
#include "chain/contract.hpp"
#include "market/passport.hpp"
#include "market/reward_rule.hpp"
#include "store/cid.hpp"
#include "testing/testing.hpp"

namespace cairn::node {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A `cairn node start` child process; SIGKILLed on destruction if still running.
class NodeProcess {
 public:
  NodeProcess(const fs::path& config, const fs::path& log_dir, const std::string& name)
      : out_(log_dir / (name + ".out")), err_(log_dir / (name + ".log")), name_(name) {
    const std::string binary = testing::cairn_binary().string();
    const std::string config_text = config.string();
    pid_ = ::fork();
    if (pid_ == 0) {
      const int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      const int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(out, 1);
      ::dup2(err, 2);
      const int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, 0);
      ::execl(binary.c_str(), binary.c_str(), "--json", "node", "start", "--config",
              config_text.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~NodeProcess() {
    if (running()) kill(SIGKILL);
    reap();
  }
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // The ready line's endpoints; empty when the process died or did not get ready in time.
  json wait_ready(std::chrono::seconds timeout = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const auto skip = ready_lines_;
    while (std::chrono::steady_clock::now() < deadline) {
      std::istringstream lines(slurp(out_));
      std::string line;
      std::size_t seen = 0;
      while (std::getline(lines, line)) {
        const json doc = json::parse(line, nullptr, false);
        if (doc.is_object() && doc.contains("api") && ++seen > skip) {
          ready_lines_ = seen;
          endpoints_ = doc;
          return doc;
        }
      }
      if (!running()) return {};
      std::this_thread::sleep_for(50ms);
    }
    return {};
  }
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    const pid_t got = ::waitpid(pid_, &status, WNOHANG);
    if (got == pid_) {
      exit_status_ = status;
      pid_ = -1;
      return false;
    }
    return got == 0;
  }
  void kill(int signal) {
    if (pid_ > 0) ::kill(pid_, signal);
  }
  // Waits for the process to exit; its wait status (-1 on timeout).
  int reap(std::chrono::seconds timeout = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    return pid_ > 0 ? -1 : exit_status_;
  }
  // Starts the same config again (after a kill): a restart.
  void restart(const fs::path& config) {
    ASSERT_FALSE(running());
    NodeProcess fresh(config, out_.parent_path(), name_);
    std::swap(pid_, fresh.pid_);
  }
  json status() const {
    httplib::Client client(endpoints_["api"].get<std::string>());
    client.set_read_timeout(10);
    auto res = client.Get("/v1/status");
    if (!res || res->status != 200) return {};
    return json::parse(res->body, nullptr, false);
  }
  bool role_finished() const {
    const json s = status();
    if (!s.is_object() || !s.contains("roles")) return false;
    for (const auto& role : s["roles"]) {
      if (!role.value("finished", false)) return false;
    }
    return true;
  }
  std::string log_tail(std::size_t bytes = 4000) const {
    const std::string text = slurp(err_);
    return text.size() <= bytes ? text : text.substr(text.size() - bytes);
  }
  const json& endpoints() const { return endpoints_; }
  const std::string& name() const { return name_; }

 private:
  fs::path out_, err_;
  std::string name_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
  std::size_t ready_lines_ = 0;
  json endpoints_;
};

struct Case {
  std::vector<std::string> provider_behaviours = {"honest", "honest", "honest"};
  std::string aggregator_behaviour = "honest";
  std::uint64_t rounds = 2;
  std::uint64_t round_timeout_s = 25;
  // Fixed loopback ports, so that a node restarted after a kill is where the others
  // (and its own announcements) say it is.
  bool fixed_ports = false;
};

class PlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/share/datasets/fashion-mnist")) {
      GTEST_SKIP() << "Fashion-MNIST is not installed (scripts/setup installs it)";
    }
    auto started = chain::Anvil::start();
    ASSERT_TRUE(started) << started.error().to_string();
    anvil_ = std::move(*started);
    const std::string cairn = testing::cairn_binary().string();
    auto deployed = testing::run_command(
        cairn + " --repo " + (dir_ / "deployer").string() + " chain deploy --rpc " + anvil_->url() +
        " --dev-account 0 --out " + (dir_ / "deployment.json").string());
    ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
    auto partitioned = testing::run_command(
        cairn + " learn partition --clients 3 --rows-per-client 150 --test-rows 300 " +
        "--partition iid --seed 7 --out " + (dir_ / "shards").string());
    ASSERT_EQ(partitioned.exit_code, 0) << partitioned.err;
    fs::create_directories(dir_ / "logs");
  }

  json base_config(const std::string& name, std::size_t dev_account,
                   bool fixed_ports = false) const {
    const auto listen = [&] {
      return "127.0.0.1:" + std::to_string(fixed_ports ? testing::free_port() : 0);
    };
    return {{"name", name},
            {"repo", "nodes/" + name},
            {"chain", {{"rpc", anvil_->url()}, {"deployment", "deployment.json"}}},
            {"account", {{"dev_account", dev_account}}},
            {"gateway", {{"listen", listen()}}},
            {"api", {{"listen", listen()}, {"token_file", "nodes/" + name + "/api-token"}}},
            {"poll_ms", 100}};
  }
  fs::path write_config(const json& config) const {
    const auto file = dir_ / (config["name"].get<std::string>() + ".json");
    std::ofstream(file) << config.dump(2);
    return file;
  }

  // Starts every node of `c`, in the order a real deployment would.
  void start_nodes(const Case& c) {
    json mp = base_config("model-provider", 1, c.fixed_ports);
    const std::string seal_listen =
        "127.0.0.1:" + std::to_string(c.fixed_ports ? testing::free_port() : 0);
    mp["seal"] = {{"serve", seal_listen}, {"anchor", true}, {"round_ms", 200}};
    mp["roles"] = {{"model_provider",
                    {{"model", "logreg"},
                     {"rounds", c.rounds},
                     {"participants", c.provider_behaviours.size()},
                     {"reward_wei", "3000000000000000000"},
                     {"test_images", "shards/test/images.idx"},
                     {"test_labels", "shards/test/labels.idx"},
                     {"test_rows", 300},
                     {"lr", 0.1},
                     {"epochs", 1},
                     {"batch_size", 32},
                     {"paillier_bits", 1024},
                     {"insecure_test_key", true},
                     {"round_timeout_s", c.round_timeout_s},
                     {"challenge_window_s", 3},
                     {"exclude_harmful", true},
                     {"out", "mp-out"},
                     {"aggregator", dev(2).to_checksum()}}}};
    configs_["model-provider"] = write_config(mp);
    nodes_.push_back(
        std::make_unique<NodeProcess>(configs_["model-provider"], dir_ / "logs", "model-provider"));
    const json ready = nodes_.back()->wait_ready();
    ASSERT_TRUE(ready.is_object()) << nodes_.back()->log_tail();
    seal_url_ = ready["seal"].get<std::string>();

    json aggregator = base_config("aggregator", 2, c.fixed_ports);
    aggregator["seal"] = {{"url", seal_url_}};
    aggregator["roles"] = {{"aggregator", {{"behaviour", c.aggregator_behaviour}}}};
    configs_["aggregator"] = write_config(aggregator);
    nodes_.push_back(
        std::make_unique<NodeProcess>(configs_["aggregator"], dir_ / "logs", "aggregator"));

    for (std::size_t k = 0; k < c.provider_behaviours.size(); ++k) {
      const std::string name = "provider-" + std::to_string(k + 1);
      json dp = base_config(name, 3 + k, c.fixed_ports);
      dp["seal"] = {{"url", seal_url_}};
      dp["roles"] = {{"data_provider",
                      {{"images", "shards/" + name + "/images.idx"},
                       {"labels", "shards/" + name + "/labels.idx"},
                       {"dataset", "fashion-mnist"},
                       {"price_wei", "0"},
                       {"behaviour", c.provider_behaviours[k]}}}};
      configs_[name] = write_config(dp);
      nodes_.push_back(std::make_unique<NodeProcess>(configs_[name], dir_ / "logs", name));
    }
    for (auto& node : nodes_) {
      if (node->endpoints().is_null()) {
        ASSERT_TRUE(node->wait_ready().is_object()) << node->name() << ":\n" << node->log_tail();
      }
    }
  }

  // No node wrote a secret to its standard output (the --json lines) or its log: not its
  // API token, not the model provider's Paillier private key, not an account's key.
  void expect_no_secret_in_output() {
    std::vector<std::string> secrets;
    for (const auto& entry : fs::recursive_directory_iterator(dir_ / "nodes")) {
      const auto name = entry.path().filename().string();
      if (name == "api-token") {
        std::string token;
        std::ifstream(entry.path()) >> token;
        secrets.push_back(token);
      } else if (name == "paillier.json") {
        const auto stored = json::parse(std::ifstream(entry.path()));
        // From the middle: the encoding's first bytes are lengths, not secret.
        const auto hex = stored["private"].get<std::string>();
        secrets.push_back(hex.substr(hex.size() / 2, 64));
      }
    }
    for (std::size_t i = 0; i < 6; ++i)
      secrets.push_back(to_hex(chain::dev_account_key(i)));
    ASSERT_GE(secrets.size(), 6u + 5u + 1u) << "tokens and the Paillier key were not found";
    for (const auto& entry : fs::directory_iterator(dir_ / "logs")) {
      const Bytes bytes = testing::read_file(entry.path());
      const std::string_view text = as_chars(bytes);
      for (const auto& secret : secrets) {
        EXPECT_EQ(text.find(secret), std::string_view::npos)
            << "a secret in " << entry.path().string();
      }
    }
  }

  NodeProcess& node(const std::string& name) {
    for (auto& n : nodes_) {
      if (n->name() == name) return *n;
    }
    throw std::runtime_error("no node " + name);
  }

  // Waits until the model provider (and every data provider that is still running) says
  // it is finished; fails with the logs when a node dies or time runs out.
  void wait_for_task_end(std::chrono::seconds timeout = 240s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      for (auto& n : nodes_) {
        if (!n->running()) {
          FAIL() << n->name() << " exited early:\n" << n->log_tail();
        }
        if (n->name() == "model-provider" || n->name().starts_with("provider-")) {
          all = all && n->role_finished();
        }
      }
      if (all) return;
      std::this_thread::sleep_for(500ms);
    }
    std::string logs;
    for (auto& n : nodes_)
      logs += "---- " + n->name() + "\n" + n->log_tail(2500);
    FAIL() << "the task did not finish in time\n" << logs;
  }

  void stop_all() {
    for (auto& n : nodes_)
      n->kill(SIGTERM);
    for (auto& n : nodes_) {
      const int status = n->reap();
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << n->name() << " did not stop cleanly (status " << status << ")\n"
          << n->log_tail();
    }
  }

  market::Passport passport() const {
    const std::string text = slurp(dir_ / "mp-out" / "passport.json");
    auto parsed = market::parse_passport(as_bytes(text));
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().to_string());
    return parsed ? *parsed : market::Passport{};
  }

  // The contract's record of `who` in the task: (joined, claimed, owed).
  std::tuple<bool, bool, chain::U256> participant(std::uint64_t task, const chain::Address& who) {
    auto rpc = chain::RpcClient::create(anvil_->url()).value();
    auto sender = chain::TransactionSender::create(rpc).value();
    const json deployment = json::parse(slurp(dir_ / "deployment.json"));
    const auto address =
        chain::Address::parse(deployment["contracts"]["TrainingTask"].get<std::string>()).value();
    auto contract = chain::Contract::at(sender, "TrainingTask", address).value();
    auto values = contract.call("participants",
                                {chain::abi::Value(chain::U256(task)), chain::abi::Value(who)});
    EXPECT_TRUE(values) << values.error().to_string();
    if (!values || values->size() < 5) return {false, false, chain::U256{}};
    return {(*values)[0].as_bool().value(), (*values)[1].as_bool().value(),
            (*values)[4].as_uint().value()};
  }

  // A task nobody can work on, created before the real one: its owner (dev account 9)
  // announced no gateway, so its spec cannot be fetched. Before tasks' failures were kept
  // apart, every step of every data provider failed on it and none joined the real task.
  void create_unfetchable_task() {
    auto rpc = chain::RpcClient::create(anvil_->url()).value();
    auto sender = chain::TransactionSender::create(rpc).value();
    const json deployment = json::parse(slurp(dir_ / "deployment.json"));
    const auto address =
        chain::Address::parse(deployment["contracts"]["TrainingTask"].get<std::string>()).value();
    auto contract = chain::Contract::at(sender, "TrainingTask", address).value();
    const auto spec = store::Cid::of(store::codec::kRaw, to_bytes("a spec nobody serves"));
    ByteArray<32> digest{};
    std::copy(spec.hash().digest.begin(), spec.hash().digest.end(), digest.begin());
    const auto head = rpc.block(std::nullopt).value();
    using chain::abi::Value;
    const auto created =
        contract.transact(chain::Signer::from_key(chain::dev_account_key(9)), "createTask",
                          {Value(digest), Value::text(spec.to_string()), Value(std::uint64_t{1}),
                           Value(std::uint64_t{3}), Value(std::uint64_t{1}),
                           Value(head.timestamp + 3600), Value(dev(8)), nobodys_terms().to_abi()});
    ASSERT_TRUE(created) << created.error().to_string();
  }

  static market::TaskTerms nobodys_terms() {
    market::TaskTerms terms;
    terms.rule = market::reward_rule_id();
    terms.commit_window_s = 60;
    terms.report_window_s = 3600;
    return terms;
  }

  static chain::Address dev(std::size_t index) {
    return chain::Address::from_secret_key(chain::dev_account_key(index));
  }

  // The common end of every case: the passport verifies against the chain; each honest
  // provider joined, was never left out of a round, and claimed whatever the contract owed
  // it (rewards follow positive Shapley values, so an honest provider whose data did not
  // help may be owed nothing; it staked nothing, so it lost nothing); and the honest
  // providers together were paid.
  void expect_honest_paid(const market::Passport& p, const std::vector<std::size_t>& honest) {
    const auto verified = testing::run_command(
        testing::cairn_binary().string() + " --repo " + (dir_ / "nodes/model-provider").string() +
        " passport verify " + (dir_ / "mp-out/model.pt").string() + " " +
        (dir_ / "mp-out/passport.json").string() + " --rpc " + anvil_->url());
    EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
    chain::U256 honest_total;
    for (std::size_t k : honest) {
      const auto [joined, claimed, owed] = participant(p.body.task.task_id, dev(3 + k));
      EXPECT_TRUE(joined) << "provider-" << k + 1;
      EXPECT_TRUE(exclusions(p, dev(3 + k)).empty())
          << "honest provider-" << k + 1 << " was left out";
      EXPECT_TRUE(owed.is_zero() || claimed)
          << "provider-" << k + 1 << " did not claim what it is owed";
      for (const auto& reward : p.body.evaluation.rewards) {
        if (reward.participant != dev(3 + k) || reward.amount.is_zero()) continue;
        EXPECT_TRUE(claimed) << "provider-" << k + 1 << " was not paid its reward";
        honest_total = honest_total.checked_add(reward.amount).value();
      }
    }
    EXPECT_FALSE(honest_total.is_zero()) << "no honest provider was paid";
  }

  // How many UpdateCommitted events `who` has on chain, by round.
  std::map<std::uint64_t, int> updates_per_round(const chain::Address& who) const {
    auto rpc = chain::RpcClient::create(anvil_->url()).value();
    const json deployment = json::parse(slurp(dir_ / "deployment.json"));
    chain::LogFilter filter;
    filter.addresses.push_back(
        chain::Address::parse(deployment["contracts"]["TrainingTask"].get<std::string>()).value());
    filter.from_block = 0;
    auto logs = rpc.logs(filter).value();
    auto abi = chain::embedded_abi("TrainingTask").value();
    const auto* committed = abi->event("UpdateCommitted");
    std::map<std::uint64_t, int> per_round;
    for (const auto& log : logs) {
      if (log.topics.empty() || log.topics[0] != committed->topic0()) continue;
      auto values = committed->decode_log(log.topics, log.data).value();
      if (values[2].as_address().value() == who) ++per_round[values[1].as_uint().value().low64()];
    }
    return per_round;
  }

  // The reasons the rounds give for leaving `who` out (empty when it never was).
  static std::vector<std::string> exclusions(const market::Passport& p, const chain::Address& who) {
    std::vector<std::string> reasons;
    for (const auto& round : p.body.rounds) {
      for (const auto& excluded : round.excluded) {
        if (excluded.participant == who) reasons.push_back(excluded.reason);
      }
    }
    return reasons;
  }

  testing::TempDir dir_;
  std::unique_ptr<chain::Anvil> anvil_;
  std::vector<std::unique_ptr<NodeProcess>> nodes_;
  std::map<std::string, fs::path> configs_;
  std::string seal_url_;
};

TEST_F(PlatformTest, Clean) {
  ASSERT_NO_FATAL_FAILURE(start_nodes({}));
  ASSERT_NO_FATAL_FAILURE(wait_for_task_end());
  const auto p = passport();
  EXPECT_EQ(p.body.rounds.size(), 2u);
  for (const auto& round : p.body.rounds) {
    EXPECT_TRUE(round.accepted) << round.reason;
    EXPECT_TRUE(round.excluded.empty());
    EXPECT_EQ(round.updates.size(), 3u);
  }
  expect_honest_paid(p, {0, 1, 2});
  stop_all();
  expect_no_secret_in_output();
}

// Liveness: a task whose spec cannot be fetched is recorded against itself and retried
// with a backoff; the data providers join and finish the real task beside it.
TEST_F(PlatformTest, AnUnfetchableTaskStopsNobody) {
  ASSERT_NO_FATAL_FAILURE(create_unfetchable_task());
  ASSERT_NO_FATAL_FAILURE(start_nodes({}));
  ASSERT_NO_FATAL_FAILURE(wait_for_task_end());
  const auto p = passport();
  EXPECT_EQ(p.body.task.task_id, 2u);
  for (const auto& round : p.body.rounds) {
    EXPECT_TRUE(round.accepted) << round.reason;
    EXPECT_EQ(round.updates.size(), 3u);
  }
  expect_honest_paid(p, {0, 1, 2});
  stop_all();
  // Each data provider logged the bad task's error against it, once per distinct error.
  for (const char* name : {"provider-1", "provider-2", "provider-3"}) {
    const std::string log = slurp(dir_ / "logs" / (std::string(name) + ".log"));
    EXPECT_NE(log.find("task 1: "), std::string::npos) << name << ":\n" << log;
    EXPECT_NE(log.find("(retried later; other tasks go on)"), std::string::npos) << log;
  }
}

TEST_F(PlatformTest, Poisoned) {
  Case c;
  c.provider_behaviours[2] = "poison:scale:-20";
  ASSERT_NO_FATAL_FAILURE(start_nodes(c));
  ASSERT_NO_FATAL_FAILURE(wait_for_task_end());
  const auto p = passport();
  const auto reasons = exclusions(p, dev(5));
  EXPECT_FALSE(reasons.empty()) << "the poisoned update was never left out";
  expect_honest_paid(p, {0, 1});
  stop_all();
}

TEST_F(PlatformTest, Garbage) {
  Case c;
  c.provider_behaviours[1] = "garbage";
  ASSERT_NO_FATAL_FAILURE(start_nodes(c));
  ASSERT_NO_FATAL_FAILURE(wait_for_task_end());
  const auto p = passport();
  const auto reasons = exclusions(p, dev(4));
  ASSERT_EQ(reasons.size(), p.body.rounds.size()) << "garbage must be left out of every round";
  const auto [joined, claimed, owed] = participant(p.body.task.task_id, dev(4));
  EXPECT_TRUE(joined);
  EXPECT_TRUE(owed.is_zero());
  expect_honest_paid(p, {0, 2});
  stop_all();
}

TEST_F(PlatformTest, Dropout) {
  Case c;
  c.provider_behaviours[0] = "dropout:1";
  c.round_timeout_s = 15;
  ASSERT_NO_FATAL_FAILURE(start_nodes(c));
  ASSERT_NO_FATAL_FAILURE(wait_for_task_end());
  const auto p = passport();
  ASSERT_EQ(p.body.rounds.size(), 2u);
  // Round 0 has its update; from round 1 on it is missing and recorded as such.
  EXPECT_TRUE(exclusions(p, dev(3)).size() >= 1u);
  for (const auto& excluded : p.body.rounds[1].excluded) {
    if (excluded.participant == dev(3)) {
      EXPECT_FALSE(excluded.cid.has_value());
    }
  }
  expect_honest_paid(p, {1, 2});
  stop_all();
}

TEST_F(PlatformTest, Replay) {
  Case c;
  c.provider_behaviours[1] = "replay";
  ASSERT_NO_FATAL_FAILURE(start_nodes(c));
  ASSERT_NO_FATAL_FAILURE(wait_for_task_end());
  const auto p = passport();
  // Round 1 carries round 0's update again: recognised by its round tag and left out.
  ASSERT_EQ(p.body.rounds.size(), 2u);
  bool caught = false;
  for (const auto& excluded : p.body.rounds[1].excluded) {
    if (excluded.participant == dev(4)) caught = true;
  }
  EXPECT_TRUE(caught) << "the replayed update was used";
  expect_honest_paid(p, {0, 2});
  stop_all();
}

TEST_F(PlatformTest, WrongAggregate) {
  Case c;
  c.aggregator_behaviour = "wrong-aggregate:1";
  ASSERT_NO_FATAL_FAILURE(start_nodes(c));
  ASSERT_NO_FATAL_FAILURE(wait_for_task_end());
  const auto p = passport();
  ASSERT_EQ(p.body.rounds.size(), 2u);
  EXPECT_TRUE(p.body.rounds[0].accepted);
  EXPECT_FALSE(p.body.rounds[1].accepted) << "the wrong sum was used";
  EXPECT_FALSE(p.body.rounds[1].reason.empty());
  expect_honest_paid(p, {0, 1, 2});
  stop_all();
}

TEST_F(PlatformTest, KilledAndRestarted) {
  ASSERT_NO_FATAL_FAILURE(start_nodes({}));
  // Kill a data provider once it has submitted its round-0 update: mid-task, with its
  // journal and store as they were at that instant.
  auto& victim = node("provider-2");
  const auto deadline = std::chrono::steady_clock::now() + 180s;
  bool submitted = false;
  while (!submitted && std::chrono::steady_clock::now() < deadline) {
    const json s = victim.status();
    if (s.is_object()) {
      for (const auto& role : s["roles"]) {
        for (const auto& task : role["status"].value("tasks", json::array())) {
          if (task.contains("submitted") && !task["submitted"].empty()) submitted = true;
        }
      }
    }
    if (!submitted) std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(submitted) << victim.log_tail();
  victim.kill(SIGKILL);
  victim.reap();
  victim.restart(configs_["provider-2"]);
  ASSERT_TRUE(victim.wait_ready().is_object()) << victim.log_tail();
  ASSERT_NO_FATAL_FAILURE(wait_for_task_end());
  const auto p = passport();
  // Every round has exactly one update from the restarted provider: nothing twice.
  const auto per_round = updates_per_round(dev(4));
  ASSERT_EQ(per_round.size(), p.body.rounds.size());
  for (const auto& [round, count] : per_round)
    EXPECT_EQ(count, 1) << "round " << round;
  // A second join or claim would have reverted; the contract says it joined and claimed once.
  const auto left_out = exclusions(p, dev(4));
  EXPECT_TRUE(left_out.empty()) << "the restarted provider was left out: "
                                << (left_out.empty() ? "" : left_out.front());
  expect_honest_paid(p, {0, 1, 2});
  stop_all();
}

// kill -9 at random points of a real multi-process task: every node (the model provider
// with its signing service, the aggregator, each data provider) is killed and restarted at
// seeded random moments, 20 times in all, then the task runs to its end. It completes;
// every provider committed exactly one update per round (nothing acknowledged was lost or
// submitted twice); the passport verifies against the chain; the honest were paid.
TEST_F(PlatformTest, KilledAtRandomPointsTwentyTimes) {
  Case c;
  c.rounds = 3;
  c.round_timeout_s = 90;
  c.fixed_ports = true;
  ASSERT_NO_FATAL_FAILURE(start_nodes(c));
  std::mt19937 rng(20261202);
  std::uniform_int_distribution<int> pause_ms(300, 2500);
  std::uniform_int_distribution<std::size_t> pick(0, nodes_.size() - 1);
  constexpr int kKills = 20;
  std::map<std::string, int> kills_by_node;
  for (int kill = 0; kill < kKills; ++kill) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    auto& victim = *nodes_[pick(rng)];
    victim.kill(SIGKILL);
    victim.reap();
    ++kills_by_node[victim.name()];
    victim.restart(configs_[victim.name()]);
    ASSERT_TRUE(victim.wait_ready().is_object())
        << victim.name() << " did not come back after kill " << kill + 1 << ":\n"
        << victim.log_tail();
  }
  std::string summary;
  for (const auto& [name, count] : kills_by_node)
    summary += name + " x" + std::to_string(count) + " ";
  std::cout << "[kill -9] " << kKills << " kills: " << summary << std::endl;
  ASSERT_NO_FATAL_FAILURE(wait_for_task_end(360s));
  const auto p = passport();
  ASSERT_EQ(p.body.rounds.size(), 3u);
  for (std::size_t k = 0; k < 3; ++k) {
    const auto per_round = updates_per_round(dev(3 + k));
    EXPECT_EQ(per_round.size(), p.body.rounds.size()) << "provider-" << k + 1;
    for (const auto& [round, count] : per_round)
      EXPECT_EQ(count, 1) << "provider-" << k + 1 << " round " << round;
  }
  expect_honest_paid(p, {0, 1, 2});
  stop_all();
}

}  // namespace
}  // namespace cairn::node

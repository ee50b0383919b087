#pragma once
// One fixture, two real nodes: the same sender tests run against anvil and against ganache
// (npm `ganache`, shanghai rules), because the two differ exactly where a sender must be
// careful: ganache's eth_getTransactionCount("pending") ignores its own pool, it answers a
// same-nonce collision with "transaction underpriced", it words a stale nonce as "the tx
// doesn't have the correct nonce", and it silently drops a transaction whose fee cap is below
// the base fee when it mines the next block. Both mine a block every second, as a real chain
// does, so transactions really wait in the pool.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "base/encoding.hpp"
#include "base/process.hpp"
#include "chain/anvil.hpp"
#include "chain/sender.hpp"
#include "testing/testing.hpp"

namespace cairn::chain::testing {

enum class NodeKind { anvil, ganache };

inline std::string node_name(NodeKind kind) {
  return kind == NodeKind::anvil ? "anvil" : "ganache";
}

// A ganache process on a loopback port, its chain kept in `db_path` so that a restart
// keeps the chain and loses only the in-memory pool.
class GanacheProcess {
 public:
  GanacheProcess(std::filesystem::path db_path, std::uint16_t port)
      : db_path_(std::move(db_path)), port_(port) {}
  ~GanacheProcess() { stop(); }
  GanacheProcess(const GanacheProcess&) = delete;
  GanacheProcess& operator=(const GanacheProcess&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  Status start() {
    const auto binary = cairn::testing::node_tool("ganache");
    if (!binary) {
      return fail(Errc::not_found,
                  "node_modules/.bin/ganache is missing: run `npm ci` (package.json lists it)");
    }
    std::vector<std::string> args = {
        binary->string(), "--server.host", "127.0.0.1", "--server.port", std::to_string(port_),
        "--chain.chainId", "31337", "--hardfork", "shanghai", "--miner.blockTime", "1",
        // anvil's mnemonic, so dev_account_key() is funded on both.
        "--wallet.mnemonic", "test test test test test test test test test test test junk",
        "--wallet.defaultBalance", "10000", "--database.dbPath", db_path_.string(),
        "--logging.quiet"};
    CAIRN_TRY_ASSIGN(pid_, process::spawn(std::move(args)));
    auto rpc = RpcClient::create(
        url(), RpcOptions{std::chrono::milliseconds(1000), 1, std::chrono::milliseconds(10)});
    // Node takes a few seconds to load ganache.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (!process::alive(pid_)) return fail(Errc::unavailable, "ganache exited during start-up");
      if (rpc->chain_id()) return {};
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return fail(Errc::unavailable, "ganache did not answer on " + url() + " within 60 s");
  }

  void stop() {
    if (pid_ > 0) (void)process::stop(pid_);
    pid_ = -1;
  }

 private:
  std::filesystem::path db_path_;
  std::uint16_t port_;
  pid_t pid_ = -1;
};

class ChainNodeTest : public ::testing::TestWithParam<NodeKind> {
 protected:
  void SetUp() override {
    if (GetParam() == NodeKind::anvil) {
      AnvilOptions options;
      options.block_time = 1.0;
      auto started = Anvil::start(options);
      ASSERT_TRUE(started) << started.error().to_string();
      anvil = std::move(*started);
      url = anvil->url();
    } else {
      ganache =
          std::make_unique<GanacheProcess>(work.path() / "ganache-db", cairn::testing::free_port());
      const auto started = ganache->start();
      ASSERT_TRUE(started) << started.error().to_string();
      url = ganache->url();
    }
    rpc.emplace(RpcClient::create(url).value());
    sender = make_sender();
    for (std::size_t i = 0; i < kDevAccountCount; ++i)
      accounts.push_back(Signer::from_key(dev_account_key(i)));
  }

  // Quick polls and a bounded wait: every test finishes in seconds or fails.
  SenderOptions quick_options(std::optional<std::filesystem::path> journal = {}) const {
    SenderOptions options;
    options.poll_interval = std::chrono::milliseconds(50);
    options.receipt_timeout = std::chrono::milliseconds(30000);
    options.journal_dir = std::move(journal);
    return options;
  }
  std::shared_ptr<TransactionSender> make_sender(
      std::optional<std::filesystem::path> journal = {}) const {
    return TransactionSender::create(*rpc, quick_options(std::move(journal)), 31337).value();
  }

  // Keeps transactions in the pool until start_mining().
  void stop_mining() {
    if (GetParam() == NodeKind::anvil) {
      ASSERT_TRUE(rpc->call("evm_setIntervalMining", nlohmann::json::array({0})));
    } else {
      ASSERT_TRUE(rpc->call("miner_stop", nlohmann::json::array()));
    }
  }
  void start_mining() {
    if (GetParam() == NodeKind::anvil) {
      ASSERT_TRUE(rpc->call("evm_setIntervalMining", nlohmann::json::array({1})));
    } else {
      ASSERT_TRUE(rpc->call("miner_start", nlohmann::json::array()));
    }
  }
  // The node forgets a pooled transaction: anvil drops it on request; ganache's pool lives
  // in memory, so a restart on the same database keeps the chain and loses the pool (and
  // mines again, as it does after every start).
  void drop_from_pool(const ByteArray<32>& hash) {
    if (GetParam() == NodeKind::anvil) {
      ASSERT_TRUE(rpc->call("anvil_dropTransaction", nlohmann::json::array({to_data(hash)})));
      start_mining();
    } else {
      ganache->stop();
      const auto restarted = ganache->start();
      ASSERT_TRUE(restarted) << restarted.error().to_string();
    }
    const auto known =
        rpc->call("eth_getTransactionByHash", nlohmann::json::array({to_data(hash)}));
    ASSERT_TRUE(known);
    ASSERT_TRUE(known->is_null()) << "the node still knows 0x" << to_hex(hash);
  }
  // Signs and sends a transfer with the raw RPC, as another wallet holding the same key.
  Result<ByteArray<32>> send_out_of_band(const Signer& signer, std::uint64_t nonce,
                                         const U256& max_fee, const U256& tip,
                                         const U256& value = U256(1)) {
    Transaction tx;
    tx.chain_id = 31337;
    tx.nonce = nonce;
    tx.max_fee_per_gas = max_fee;
    tx.max_priority_fee_per_gas = tip;
    tx.gas_limit = 21000;
    tx.to = accounts[9].address;
    tx.value = value;
    CAIRN_TRY_ASSIGN(auto signed_tx, sign_transaction(tx, signer.secret_key));
    return rpc->send_raw_transaction(signed_tx.raw);
  }
  std::optional<Receipt> receipt_within(const ByteArray<32>& hash, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto r = rpc->receipt(hash); r && *r) return *r;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return std::nullopt;
  }
  U256 base_fee() { return rpc->block(std::nullopt).value().base_fee.value_or(U256(0)); }
  std::uint64_t mined_count(const Address& address) {
    return rpc->transaction_count(address, "latest").value();
  }

  cairn::testing::TempDir work;
  std::unique_ptr<Anvil> anvil;
  std::unique_ptr<GanacheProcess> ganache;
  std::string url;
  std::optional<RpcClient> rpc;
  std::shared_ptr<TransactionSender> sender;
  std::vector<Signer> accounts;
};

inline std::string node_param_name(const ::testing::TestParamInfo<NodeKind>& info) {
  return node_name(info.param);
}

}  // namespace cairn::chain::testing

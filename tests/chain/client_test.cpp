// The JSON-RPC client and transaction sender against anvil, and against a deliberately
// broken node: malformed answers, a node that is gone, the wrong chain, concurrent
// senders, a nonce taken behind our back, and a transaction the node lost.
#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "anvil_fixture.hpp"
#include "base/encoding.hpp"
#include "chain/contract.hpp"
#include "testing/testing.hpp"

namespace cairn::chain {
namespace {

using testing::AnvilTest;

TEST(DevAccounts, MatchAnvilsAccounts) {
  auto anvil = Anvil::start().value();
  const auto rpc = RpcClient::create(anvil->url()).value();
  const auto accounts = rpc.call("eth_accounts", nlohmann::json::array()).value();
  ASSERT_EQ(accounts.size(), kDevAccountCount);
  for (std::size_t i = 0; i < kDevAccountCount; ++i) {
    EXPECT_EQ(Address::from_secret_key(dev_account_key(i)),
              Address::parse(accounts[i].get<std::string>()).value());
  }
}

TEST_F(AnvilTest, RefusesTheWrongChain) {
  const auto wrong = TransactionSender::create(*rpc, {}, 1);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::conflict);
  EXPECT_NE(wrong.error().message.find("serves chain id 31337, expected 1"), std::string::npos);
  EXPECT_FALSE(rpc->expect_chain_id(5));
  EXPECT_TRUE(rpc->expect_chain_id(31337));
}

TEST_F(AnvilTest, EstimatesEip1559Fees) {
  const auto fees = sender->estimate_fees().value();
  EXPECT_TRUE(fees.eip1559);
  EXPECT_FALSE(fees.max_priority_fee_per_gas.is_zero());
  EXPECT_GE(fees.max_fee_per_gas, fees.max_priority_fee_per_gas);
}

TEST_F(AnvilTest, TransfersValueWithExactBalances) {
  const Address to = accounts[5].address;
  const U256 before_from = balance(accounts[4].address);
  const U256 before_to = balance(to);
  const U256 amount = U256::parse_amount("0.25ether").value();
  auto sent = sender->send(accounts[4], SendRequest{to, {}, amount, {}, nullptr});
  ASSERT_TRUE(sent) << sent.error().to_string();
  EXPECT_EQ(sent->receipt.gas_used, 21000u);
  EXPECT_EQ(balance(to), before_to.checked_add(amount).value());
  EXPECT_EQ(balance(accounts[4].address),
            before_from.checked_sub(amount).value().checked_sub(gas_cost(*sent)).value());
  EXPECT_EQ(sent->signed_tx.from, accounts[4].address);
}

TEST_F(AnvilTest, SendsLegacyEip155Transactions) {
  SenderOptions options;
  options.legacy = true;
  options.poll_interval = std::chrono::milliseconds(10);
  auto legacy = TransactionSender::create(*rpc, options, 31337).value();
  auto sent =
      legacy->send(accounts[6], SendRequest{accounts[7].address, {}, U256(12345), {}, nullptr});
  ASSERT_TRUE(sent) << sent.error().to_string();
  EXPECT_EQ(sent->signed_tx.tx.type, Transaction::Type::legacy);
  EXPECT_EQ(sent->signed_tx.tx.chain_id, 31337u);
}

TEST_F(AnvilTest, InsufficientFundsIsAClearError) {
  const Signer poor = Signer::from_key(crypto::secp256k1_generate());
  auto sent = sender->send(poor, SendRequest{accounts[0].address, {}, U256(1), {}, nullptr});
  ASSERT_FALSE(sent);
  EXPECT_NE(sent.error().message.find("insufficient funds"), std::string::npos)
      << sent.error().message;
}

// The same key used by another wallet (here: a second sender with its own nonce manager)
// moves the node's nonce past ours; the next send notices and still goes through.
TEST_F(AnvilTest, RecoversWhenTheNonceWasUsedElsewhere) {
  const Signer& from = accounts[2];
  ASSERT_TRUE(sender->send(from, SendRequest{accounts[3].address, {}, U256(1), {}, nullptr}));
  auto other = TransactionSender::create(*rpc, {}, 31337).value();
  ASSERT_TRUE(other->send(from, SendRequest{accounts[3].address, {}, U256(2), {}, nullptr}));
  ASSERT_TRUE(other->send(from, SendRequest{accounts[3].address, {}, U256(3), {}, nullptr}));
  auto again = sender->send(from, SendRequest{accounts[3].address, {}, U256(4), {}, nullptr});
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->signed_tx.tx.nonce, 3u);
}

// A transaction the node dropped before mining it is re-broadcast from the journal.
TEST_F(AnvilTest, JournaledTransactionSurvivesANodeThatLostIt) {
  cairn::testing::TempDir journal;
  SenderOptions options;
  options.journal_dir = journal.path();
  options.poll_interval = std::chrono::milliseconds(10);
  auto first = TransactionSender::create(*rpc, options, 31337).value();
  ASSERT_TRUE(rpc->call("evm_setAutomine", nlohmann::json::array({false})));
  const U256 before = balance(accounts[8].address);
  auto signed_tx = first->broadcast(
      accounts[3], SendRequest{accounts[8].address, {}, U256(777), 21000, nullptr});
  ASSERT_TRUE(signed_tx) << signed_tx.error().to_string();
  EXPECT_TRUE(std::filesystem::exists(journal / (to_hex(signed_tx->hash) + ".journal")));
  // The node forgets its pool (a restart without persistence).
  ASSERT_TRUE(rpc->call("anvil_dropAllTransactions", nlohmann::json::array()));
  ASSERT_TRUE(rpc->call("evm_setAutomine", nlohmann::json::array({true})));
  ASSERT_FALSE(rpc->receipt(signed_tx->hash).value());
  // A new process (new sender, same journal) resumes it.
  auto second = TransactionSender::create(*rpc, options, 31337).value();
  auto receipts = second->resume_pending();
  ASSERT_TRUE(receipts) << receipts.error().to_string();
  ASSERT_EQ(receipts->size(), 1u);
  EXPECT_EQ(receipts->at(0).transaction_hash, signed_tx->hash);
  EXPECT_EQ(balance(accounts[8].address), before.checked_add(U256(777)).value());
  EXPECT_TRUE(std::filesystem::is_empty(journal.path()));
}

TEST_F(AnvilTest, ReadsBlocksLogsAndCode) {
  auto anchor = Contract::deploy(sender, accounts[0], "Anchor").value();
  EXPECT_FALSE(rpc->code(anchor.address()).value().empty());
  ByteArray<32> root{};
  root[0] = std::byte{1};
  auto published = anchor.transact(accounts[0], "publish",
                                   {abi::Value(std::uint64_t{1700000000}), abi::Value(root)});
  ASSERT_TRUE(published);
  LogFilter filter;
  filter.addresses = {anchor.address()};
  filter.from_block = 0;
  const auto logs = rpc->logs(filter).value();
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].transaction_hash, published->receipt.transaction_hash);
  const auto header = rpc->block(published->receipt.block_number).value();
  EXPECT_EQ(header.hash, published->receipt.block_hash);
  EXPECT_FALSE(rpc->block(header.number + 1000));
}

// A tiny HTTP server answering whatever a test wants, to play a broken node.
class FakeNode {
 public:
  explicit FakeNode(std::function<void(const httplib::Request&, httplib::Response&)> handler) {
    server_.Post("/", [handler](const httplib::Request& request, httplib::Response& response) {
      handler(request, response);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeNode() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

RpcClient fast_client(const std::string& url) {
  return RpcClient::create(
             url, RpcOptions{std::chrono::milliseconds(2000), 3, std::chrono::milliseconds(5)})
      .value();
}

// Answers with `result_json` under the request's own id.
auto answering(std::string result_json) {
  return [result_json](const httplib::Request& request, httplib::Response& response) {
    const auto id = nlohmann::json::parse(request.body)["id"];
    response.set_content(
        R"({"jsonrpc":"2.0","id":)" + id.dump() + R"(,"result":)" + result_json + "}",
        "application/json");
  };
}

TEST(MalformedNode, NotJson) {
  FakeNode node([](const httplib::Request&, httplib::Response& response) {
    response.set_content("<html>502 bad gateway</html>", "text/html");
  });
  const auto result = fast_client(node.url()).chain_id();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::parse);
  EXPECT_NE(result.error().message.find("malformed answer (not JSON: text/html, 28 bytes)"),
            std::string::npos)
      << result.error().message;
  EXPECT_EQ(result.error().message.find("<html"), std::string::npos) << result.error().message;
}

// A proxy in front of the node answers its own HTML error page: net names the status, the
// type and the size, never the page.
TEST(MalformedNode, HtmlErrorPageIsNamedNotPasted) {
  std::atomic<int> hits{0};
  FakeNode node([&hits](const httplib::Request&, httplib::Response& response) {
    ++hits;
    response.status = 502;
    response.set_content("<html><body><h1>502 Bad Gateway</h1>nginx</body></html>", "text/html");
  });
  const auto result = fast_client(node.url()).block_number();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  const std::string& message = result.error().message;
  EXPECT_NE(message.find("eth_blockNumber"), std::string::npos) << message;
  EXPECT_NE(message.find("answered HTTP 502 (text/html, 55 bytes)"), std::string::npos) << message;
  EXPECT_EQ(message.find("<html"), std::string::npos) << message;
  EXPECT_EQ(message.find("nginx"), std::string::npos) << message;
  EXPECT_EQ(hits.load(), 3);  // a read: retried
}

// eth_sendRawTransaction is sent once: the HTTP layer does not repeat a write.
TEST(MalformedNode, SendRawTransactionIsNotRetried) {
  std::atomic<int> hits{0};
  FakeNode node([&hits](const httplib::Request&, httplib::Response& response) {
    ++hits;
    response.status = 503;
  });
  const auto result = fast_client(node.url()).send_raw_transaction(to_bytes("tx"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_EQ(hits.load(), 1);
}

// An answer past the cap is refused while it arrives.
TEST(MalformedNode, AnswerPastTheCapIsRefused) {
  FakeNode node([](const httplib::Request& request, httplib::Response& response) {
    const auto id = nlohmann::json::parse(request.body)["id"];
    response.set_content(R"({"jsonrpc":"2.0","id":)" + id.dump() + R"(,"result":")" +
                             std::string(4096, 'a') + R"("})",
                         "application/json");
  });
  const auto rpc = RpcClient::create(node.url(), RpcOptions{std::chrono::milliseconds(2000), 1,
                                                            std::chrono::milliseconds(5), 1024})
                       .value();
  const auto result = rpc.logs(LogFilter{});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::rejected);
  EXPECT_NE(result.error().message.find("cap of 1024"), std::string::npos)
      << result.error().message;
}

TEST(MalformedNode, WrongIdOrShape) {
  {
    FakeNode node([](const httplib::Request&, httplib::Response& response) {
      response.set_content(R"({"jsonrpc":"2.0","id":999999999,"result":"0x1"})",
                           "application/json");
    });
    const auto result = fast_client(node.url()).chain_id();
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("id does not match"), std::string::npos);
  }
  {
    FakeNode node([](const httplib::Request&, httplib::Response& response) {
      response.set_content(R"([1,2,3])", "application/json");
    });
    EXPECT_FALSE(fast_client(node.url()).chain_id());
  }
  {
    FakeNode node([](const httplib::Request& request, httplib::Response& response) {
      const auto id = nlohmann::json::parse(request.body)["id"];
      response.set_content(R"({"jsonrpc":"2.0","id":)" + id.dump() + "}", "application/json");
    });
    const auto result = fast_client(node.url()).chain_id();
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("neither result nor error"), std::string::npos);
  }
}

TEST(MalformedNode, WrongTypesInResults) {
  {
    FakeNode node(answering("42"));
    const auto result = fast_client(node.url()).chain_id();
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("not a hex quantity"), std::string::npos);
  }
  {
    FakeNode node(answering(R"("0xzz")"));
    EXPECT_FALSE(fast_client(node.url()).block_number());
  }
  {
    // A receipt missing its status, and one with a status of 7.
    FakeNode node(answering(R"({"transactionHash":"0x00","blockNumber":"0x1","logs":[]})"));
    EXPECT_FALSE(fast_client(node.url()).receipt(ByteArray<32>{}));
  }
  {
    FakeNode node(answering(R"([{"address":"0x01","topics":[],"data":"0x"}])"));
    const auto logs = fast_client(node.url()).logs(LogFilter{});
    ASSERT_FALSE(logs);
    EXPECT_NE(logs.error().message.find("log.address"), std::string::npos) << logs.error().message;
  }
}

TEST(MalformedNode, ErrorObjectsAndHttpStatus) {
  {
    FakeNode node([](const httplib::Request& request, httplib::Response& response) {
      const auto id = nlohmann::json::parse(request.body)["id"];
      response.set_content(R"({"jsonrpc":"2.0","id":)" + id.dump() +
                               R"(,"error":{"code":-32601,"message":"no such method"}})",
                           "application/json");
    });
    const auto result = fast_client(node.url()).chain_id();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Errc::rejected);
    EXPECT_NE(result.error().message.find("no such method (JSON-RPC error -32601)"),
              std::string::npos);
  }
  {
    std::atomic<int> hits{0};
    FakeNode node([&hits](const httplib::Request&, httplib::Response& response) {
      ++hits;
      response.status = 503;
    });
    const auto result = fast_client(node.url()).chain_id();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Errc::unavailable);
    EXPECT_EQ(hits.load(), 3);  // retried with backoff
  }
  {
    // Transient failure, then a good answer: the retry hides it.
    std::atomic<int> hits{0};
    FakeNode node([&hits](const httplib::Request& request, httplib::Response& response) {
      if (++hits == 1) {
        response.status = 502;
        return;
      }
      answering(R"("0x7a69")")(request, response);
    });
    EXPECT_EQ(fast_client(node.url()).chain_id().value(), 31337u);
  }
}

TEST(MalformedNode, NodeGone) {
  const auto port = cairn::testing::free_port();
  const auto result = fast_client("http://127.0.0.1:" + std::to_string(port)).chain_id();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_NE(result.error().message.find("could not connect to http://127.0.0.1:" +
                                        std::to_string(port) + " (connection refused)"),
            std::string::npos)
      << result.error().message;
  EXPECT_FALSE(RpcClient::create("ftp://example.org"));
  EXPECT_FALSE(RpcClient::create("http://"));
}

// The node dies between two calls of one flow.
TEST(MalformedNode, NodeGoesAwayMidFlow) {
  auto anvil = Anvil::start().value();
  const auto rpc = fast_client(anvil->url());
  auto sender = TransactionSender::create(rpc, {}, 31337).value();
  const Signer from = Signer::from_key(dev_account_key(0));
  ASSERT_TRUE(sender->send(
      from, SendRequest{Signer::from_key(dev_account_key(1)).address, {}, U256(1), {}, nullptr}));
  anvil->stop();
  const auto after = sender->send(
      from, SendRequest{Signer::from_key(dev_account_key(1)).address, {}, U256(1), {}, nullptr});
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, Errc::unavailable);
}

}  // namespace
}  // namespace cairn::chain

namespace cairn::chain {
namespace {

// A nonce gap: the node lost a transaction we sent (pool dropped) and nobody waits for it.
// The next send closes the gap with the lost transaction itself (broadcast again), not with
// a new one in its place: the lost one was promised to its caller, and both are mined.
TEST_F(AnvilTest, ClosesANonceGapWhenTheNodeLostATransaction) {
  ASSERT_TRUE(rpc->call("evm_setAutomine", nlohmann::json::array({false})));
  auto lost =
      sender->broadcast(accounts[4], SendRequest{accounts[5].address, {}, U256(1), 21000, nullptr});
  ASSERT_TRUE(lost);
  EXPECT_EQ(lost->tx.nonce, 0u);
  ASSERT_TRUE(rpc->call("anvil_dropAllTransactions", nlohmann::json::array()));
  ASSERT_TRUE(rpc->call("evm_setAutomine", nlohmann::json::array({true})));
  auto next = sender->send(accounts[4], SendRequest{accounts[5].address, {}, U256(2), {}, nullptr});
  ASSERT_TRUE(next) << next.error().to_string();
  EXPECT_EQ(next->signed_tx.tx.nonce, 1u);
  auto first = sender->wait(*lost);
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(rpc->transaction_count(accounts[4].address, "latest").value(), 2u);
}

}  // namespace
}  // namespace cairn::chain

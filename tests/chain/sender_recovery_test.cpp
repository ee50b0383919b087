// The transaction sender against the failures a real node produces, on anvil and on ganache:
// a nonce race between senders on one key, a nonce moved by another wallet, a transaction
// the node dropped, and a process that dies with transactions in flight.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "base/encoding.hpp"
#include "node_fixture.hpp"

namespace cairn::chain {
namespace {

using testing::ChainNodeTest;
using testing::NodeKind;

std::size_t journal_entries(const std::filesystem::path& dir) {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    count += entry.is_regular_file() ? 1 : 0;
  return count;
}

// Several threads share one sender and one key: every send is mined, each with its own
// nonce. On ganache the node's pending count ignores its pool, so the nonce the node
// suggests is one a sibling thread already has in flight.
TEST_P(ChainNodeTest, ConcurrentSendersOnOneKeyGetDistinctNonces) {
  constexpr int kThreads = 3;
  constexpr int kPerThread = 2;
  const Signer& from = accounts[1];
  const std::uint64_t first = mined_count(from.address);
  std::mutex mutex;
  std::vector<std::uint64_t> nonces;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto sent = sender->send(
            from, SendRequest{accounts[2 + t].address, {}, U256(1000 + i), {}, nullptr});
        std::lock_guard guard(mutex);
        if (sent) {
          nonces.push_back(sent->signed_tx.tx.nonce);
        } else {
          errors.push_back(sent.error().message);
        }
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  ASSERT_TRUE(errors.empty()) << errors.front();
  std::sort(nonces.begin(), nonces.end());
  ASSERT_EQ(nonces.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (std::size_t i = 0; i < nonces.size(); ++i)
    EXPECT_EQ(nonces[i], first + i);
  EXPECT_EQ(mined_count(from.address), first + nonces.size());
}

// Another wallet with the same key sends while our transaction is still in the pool and
// our cached nonce is still the next one: its transaction takes that nonce, and ours must
// neither collide with it nor be lost.
TEST_P(ChainNodeTest, OutOfBandTransactionMakesTheCachedNonceStale) {
  const Signer& from = accounts[2];
  ASSERT_TRUE(sender->send(from, SendRequest{accounts[3].address, {}, U256(1), {}, nullptr}));
  const std::uint64_t next = mined_count(from.address);
  const U256 fee = base_fee().checked_mul(3).value().checked_add(U256(2000000000)).value();
  auto other = send_out_of_band(from, next, fee, U256(1000000000));
  ASSERT_TRUE(other) << other.error().to_string();
  auto ours = sender->send(from, SendRequest{accounts[3].address, {}, U256(2), {}, nullptr});
  ASSERT_TRUE(ours) << ours.error().to_string();
  EXPECT_EQ(ours->signed_tx.tx.nonce, next + 1);
  ASSERT_TRUE(receipt_within(*other, std::chrono::seconds(10)));
  EXPECT_EQ(mined_count(from.address), next + 2);
}

// The node forgets a transaction it accepted (anvil drops it; ganache restarts and loses
// its pool): the sender waiting for it notices that the node no longer knows it and
// broadcasts it again, instead of waiting until its timeout.
TEST_P(ChainNodeTest, DroppedTransactionIsBroadcastAgain) {
  const Signer& from = accounts[4];
  const U256 before = rpc->balance(accounts[5].address).value();
  stop_mining();
  auto signed_tx =
      sender->broadcast(from, SendRequest{accounts[5].address, {}, U256(4242), 21000, nullptr});
  ASSERT_TRUE(signed_tx) << signed_tx.error().to_string();
  drop_from_pool(signed_tx->hash);
  auto receipt = sender->wait(*signed_tx);
  ASSERT_TRUE(receipt) << receipt.error().to_string();
  EXPECT_EQ(rpc->balance(accounts[5].address).value(), before.checked_add(U256(4242)).value());
}

// A process broadcasts with a journal and dies; the node loses its pool too. A new sender
// over the same journal re-broadcasts the transaction, and it is mined exactly once, even
// when resume runs twice.
TEST_P(ChainNodeTest, KilledSenderResumesFromItsJournalAndMinesOnce) {
  const auto journal = work.path() / "journal";
  const Signer& from = accounts[6];
  const U256 before = rpc->balance(accounts[7].address).value();
  const std::uint64_t first = mined_count(from.address);
  stop_mining();
  ByteArray<32> hash{};
  {
    auto doomed = make_sender(journal);
    auto signed_tx =
        doomed->broadcast(from, SendRequest{accounts[7].address, {}, U256(777), 21000, nullptr});
    ASSERT_TRUE(signed_tx) << signed_tx.error().to_string();
    hash = signed_tx->hash;
  }
  EXPECT_EQ(journal_entries(journal), 1u);
  drop_from_pool(hash);
  auto resumed = make_sender(journal);
  auto receipts = resumed->resume_pending();
  ASSERT_TRUE(receipts) << receipts.error().to_string();
  ASSERT_EQ(receipts->size(), 1u);
  EXPECT_EQ(journal_entries(journal), 0u);
  auto again = make_sender(journal)->resume_pending();
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(mined_count(from.address), first + 1);
  EXPECT_EQ(rpc->balance(accounts[7].address).value(), before.checked_add(U256(777)).value());
}

INSTANTIATE_TEST_SUITE_P(Nodes, ChainNodeTest,
                         ::testing::Values(NodeKind::anvil, NodeKind::ganache),
                         testing::node_param_name);

}  // namespace
}  // namespace cairn::chain

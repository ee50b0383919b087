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

// Our transaction cannot be mined for its fee. Anvil: the base fee jumped above its fee cap
// and it sits in the pool; first in line and not mined after stuck_after, it is re-signed at
// the same nonce with both fees raised by the replacement rule. Ganache: it accepts a fee cap
// below the base fee and drops the transaction when it mines the next block; broadcast again
// and dropped again, it is re-signed with bumped fees. Either way the bumped version is what
// is mined, once.
TEST_P(ChainNodeTest, StuckTransactionIsReplacedByAFeeBumpedOne) {
  SenderOptions options = quick_options();
  options.stuck_after = std::chrono::milliseconds(1000);
  options.health_check_interval = std::chrono::milliseconds(200);
  auto patient = TransactionSender::create(*rpc, options, 31337).value();
  const Signer& from = accounts[3];
  const std::uint64_t first = mined_count(from.address);
  const U256 base = base_fee();
  if (GetParam() == NodeKind::anvil) stop_mining();
  // Anvil: a fee cap at the current base fee and a one-wei tip, fine until the base fee
  // rises. Ganache: half the base fee.
  U256 half = base;
  half.divmod_small(2);
  const Fees low{true, GetParam() == NodeKind::anvil ? base.checked_add(U256(1)).value() : half,
                 U256(1)};
  auto original =
      patient->broadcast(from, SendRequest{accounts[8].address, {}, U256(31), 21000, nullptr}, low);
  ASSERT_TRUE(original) << original.error().to_string();
  if (GetParam() == NodeKind::anvil) {
    const U256 high = base.checked_mul(100).value();
    ASSERT_TRUE(
        rpc->call("anvil_setNextBlockBaseFeePerGas", nlohmann::json::array({to_quantity(high)})));
    start_mining();
  }
  auto receipt = patient->wait(*original);
  ASSERT_TRUE(receipt) << receipt.error().to_string();
  EXPECT_NE(receipt->transaction_hash, original->hash) << "the original, unbumped, was mined";
  EXPECT_EQ(mined_count(from.address), first + 1);
  auto mined = rpc->call("eth_getTransactionByHash",
                         nlohmann::json::array({to_data(receipt->transaction_hash)}));
  ASSERT_TRUE(mined && mined->is_object());
  EXPECT_EQ(parse_quantity_u64((*mined)["nonce"], "nonce").value(), original->tx.nonce);
  const U256 fee_cap = parse_quantity((*mined)["maxFeePerGas"], "maxFeePerGas").value();
  const U256 tip = parse_quantity((*mined)["maxPriorityFeePerGas"], "tip").value();
  U256 ten_percent_more = low.max_fee_per_gas.checked_mul(11).value();
  ten_percent_more.divmod_small(10);
  EXPECT_GT(fee_cap, ten_percent_more);
  EXPECT_GE(tip, U256(2));
}

// A sender bumps a stuck transaction, then dies before it is mined; the bump is mined while
// no sender runs. On restart the journal entry (every hash of the intent) is checked: the
// receipt of the bump settles it, and nothing is sent again.
TEST_P(ChainNodeTest, ResumeFindsTheIntentMinedUnderAReplacementHash) {
  if (GetParam() == NodeKind::ganache) {
    GTEST_SKIP() << "ganache mines every replaced version of a nonce, so the sender never "
                    "bumps a transaction ganache still holds (see SenderOptions::replace_in_pool)";
  }
  const auto journal = work.path() / "journal";
  const Signer& from = accounts[5];
  const std::uint64_t first = mined_count(from.address);
  const U256 before = rpc->balance(accounts[8].address).value();
  stop_mining();
  ByteArray<32> original_hash{};
  {
    SenderOptions options = quick_options(journal);
    options.stuck_after = std::chrono::milliseconds(500);
    options.health_check_interval = std::chrono::milliseconds(100);
    options.receipt_timeout = std::chrono::milliseconds(2500);
    auto doomed = TransactionSender::create(*rpc, options, 31337).value();
    auto original =
        doomed->broadcast(from, SendRequest{accounts[8].address, {}, U256(55), 21000, nullptr});
    ASSERT_TRUE(original) << original.error().to_string();
    original_hash = original->hash;
    auto timed_out = doomed->wait(*original);
    ASSERT_FALSE(timed_out);
    EXPECT_NE(timed_out.error().message.find("fee bump"), std::string::npos)
        << timed_out.error().message;
  }
  ASSERT_EQ(journal_entries(journal), 1u);
  start_mining();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (mined_count(from.address) == first && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(mined_count(from.address), first + 1);
  auto receipts = make_sender(journal)->resume_pending(std::span<const Signer>(&from, 1));
  ASSERT_TRUE(receipts) << receipts.error().to_string();
  ASSERT_EQ(receipts->size(), 1u);
  EXPECT_NE(receipts->at(0).transaction_hash, original_hash);
  EXPECT_EQ(journal_entries(journal), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a block, had anything been sent
  EXPECT_EQ(mined_count(from.address), first + 1);
  EXPECT_EQ(rpc->balance(accounts[8].address).value(), before.checked_add(U256(55)).value());
}

// The journaled transaction was lost and another transaction (another wallet) used its
// nonce: it can never be mined, so resume drops it with a warning instead of failing or
// sending it with a new nonce behind the owner's back.
TEST_P(ChainNodeTest, ResumeDropsAnEntryWhoseNonceAnotherTransactionTook) {
  const auto journal = work.path() / "journal";
  const Signer& from = accounts[7];
  const U256 before = rpc->balance(accounts[8].address).value();
  stop_mining();
  std::uint64_t nonce = 0;
  ByteArray<32> hash{};
  {
    auto doomed = make_sender(journal);
    auto signed_tx =
        doomed->broadcast(from, SendRequest{accounts[8].address, {}, U256(99), 21000, nullptr});
    ASSERT_TRUE(signed_tx) << signed_tx.error().to_string();
    nonce = signed_tx->tx.nonce;
    hash = signed_tx->hash;
  }
  drop_from_pool(hash);
  const U256 fee = base_fee().checked_mul(3).value().checked_add(U256(2000000000)).value();
  auto other = send_out_of_band(from, nonce, fee, U256(1000000000));
  ASSERT_TRUE(other) << other.error().to_string();
  ASSERT_TRUE(receipt_within(*other, std::chrono::seconds(10)));
  auto receipts = make_sender(journal)->resume_pending();
  ASSERT_TRUE(receipts) << receipts.error().to_string();
  EXPECT_TRUE(receipts->empty());
  EXPECT_EQ(journal_entries(journal), 0u);
  EXPECT_EQ(rpc->balance(accounts[8].address).value(), before);
}

INSTANTIATE_TEST_SUITE_P(Nodes, ChainNodeTest,
                         ::testing::Values(NodeKind::anvil, NodeKind::ganache),
                         testing::node_param_name);

}  // namespace
}  // namespace cairn::chain

#pragma once
// Sending transactions: nonces for concurrent senders, fee estimation, offline signing,
// broadcast with retries, receipts, and revert reasons. Every signed transaction can be
// journaled to a directory before it is broadcast, and resume_pending() re-broadcasts what
// a crash or a vanished node left unconfirmed: no transaction is lost.
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <vector>

#include "chain/abi.hpp"
#include "chain/rpc.hpp"
#include "chain/transaction.hpp"

namespace cairn::chain {

struct Signer {
  crypto::Secp256k1SecretKey secret_key{};
  Address address;
  static Signer from_key(const crypto::Secp256k1SecretKey& key) {
    return {key, Address::from_secret_key(key)};
  }
};

// Hands out nonces per address. Signing and broadcasting happen under the address's lock,
// so concurrent senders never race for a nonce, and a broadcast that fails does not burn
// one. The next nonce is the larger of the node's pending count and our own count of what
// we have in flight: the node's count follows another wallet using the same key, ours
// covers nodes whose pending count ignores their pool (ganache). When we are ahead of the
// node because it lost transactions of ours, they are broadcast again from here, so the
// gap closes with the transactions that were promised, not with new ones in their place;
// a gap at a nonce we know nothing about is closed by following the node.
class NonceManager {
 public:
  struct Lease {
    std::unique_lock<std::mutex> lock;
    std::uint64_t nonce = 0;
  };
  [[nodiscard]] Result<Lease> acquire(const RpcClient& rpc, const Address& address);
  // With the lease's lock held: our signed transaction `signed_tx` holds its nonce.
  void commit(Lease& lease, const SignedTransaction& signed_tx);
  // With the lease's lock held: another transaction holds `nonce` in the node's pool.
  void skip(Lease& lease, const Address& address, std::uint64_t nonce);
  // Forget our count: the next acquire follows the node.
  void invalidate(Lease& lease, const Address& address);
  // A fee bump replaced our transaction at its nonce; or a journaled one found at start-up.
  void adopt(const SignedTransaction& signed_tx);
  // Our transaction at `nonce` was mined or abandoned.
  void release(const Address& address, std::uint64_t nonce);

 private:
  struct InFlight {
    ByteArray<32> hash{};
    Bytes raw;
  };
  struct State {
    std::mutex mutex;
    std::optional<std::uint64_t> next;
    std::map<std::uint64_t, InFlight> in_flight;  // ours, by nonce
    std::set<std::uint64_t> taken;                // held by transactions not ours
  };
  std::mutex map_mutex_;
  std::map<Address, std::unique_ptr<State>> states_;
  State& state(const Address& address);
};

struct Fees {
  bool eip1559 = true;
  U256 max_fee_per_gas;  // or the legacy gas price
  U256 max_priority_fee_per_gas;
};

// The replacement rule of geth's pool (and anvil's, and besu's by default): a transaction
// replaces one with the same nonce only if its fee cap and its tip (or its legacy gas
// price) are each at least 10 % higher. The bump rounds up and adds one wei, so it clears
// nodes that want "strictly more than 10 %" too; it never goes below `floor` (the current
// estimate), so a bump also catches up with a base fee that rose meanwhile.
[[nodiscard]] Result<Fees> bump_fees(const Fees& current, const Fees& floor);

// A transaction journal entry (<journal_dir>/<hash>.journal): one line {"raw": "<hex>"} per
// signed version of one intent, each appended and synced before it is broadcast. A last
// line without its newline is a write torn by a crash before its broadcast: ignored.
// `legacy_entry` reads the bare hex lines of the older *.tx entries. `where` names the file.
[[nodiscard]] Result<std::vector<SignedTransaction>> parse_transaction_journal(
    ByteView bytes, bool legacy_entry, std::string_view where);

// What a node meant when it refused eth_sendRawTransaction, recognised from its words
// (geth, anvil, ganache, besu and nethermind each word it their own way; see the table in
// sender_classify_test.cpp). One function, so that every path treats a text the same.
enum class SendRefusal {
  other,                    // not a pool condition: the transaction itself is wrong
  already_known,            // the node has exactly this transaction: as good as accepted
  nonce_too_low,            // the nonce was used by a mined transaction
  nonce_too_high,           // the node refuses a gap before this nonce
  replacement_underpriced,  // another transaction holds the nonce in the pool
  // The fee is too low for the pool: geth's minimum tip or a full pool, or (ganache) another
  // transaction holding the nonce. Ambiguous by nature; see the sender's handling.
  underpriced,
  fee_below_base_fee,  // the fee cap is below the block's base fee
  insufficient_funds,
};
struct ClassifiedRefusal {
  SendRefusal kind = SendRefusal::other;
  // Ganache names both nonces ("account has nonce of: 2 tx has nonce of: 1").
  std::optional<std::uint64_t> account_nonce;
  std::optional<std::uint64_t> tx_nonce;
};
[[nodiscard]] ClassifiedRefusal classify_send_refusal(std::string_view node_message);
std::string_view to_string(SendRefusal kind);

struct SenderOptions {
  std::chrono::milliseconds poll_interval{250};
  std::chrono::milliseconds receipt_timeout{120000};
  double gas_margin = 1.25;  // estimate × margin, for state that changes before mining
  std::optional<std::filesystem::path> journal_dir;
  // Force legacy (EIP-155) transactions, for chains without EIP-1559.
  bool legacy = false;

  // Recovery bounds. Waiting polls from poll_interval, growing by half each time up to
  // max_poll_interval, so a long wait does not hammer the node.
  std::chrono::milliseconds max_poll_interval{2000};
  // How often a wait asks the node whether it still knows the transaction and whether the
  // nonce is still ours (two calls), besides polling for the receipt.
  std::chrono::milliseconds health_check_interval{1000};
  // A transaction first in line (its nonce is the account's next) but not mined for this
  // long is re-signed with bumped fees.
  std::chrono::milliseconds stuck_after{15000};
  int max_fee_bumps = 5;            // per transaction, then it waits as it is
  std::optional<U256> max_fee_cap;  // no bump ever signs a fee cap above this
  int max_broadcast_attempts = 6;   // per broadcast, over nonce and fee refusals
  int max_resubmissions = 2;        // new nonces when another transaction took ours
  // Whether a fee bump may replace a transaction the node still holds. Ganache (7.9.2) gets
  // replacement wrong: it accepts the bump and then mines every version of the nonce, each
  // executing the intent again. create() turns this off when web3_clientVersion names
  // ganache; then a bump is signed only once the node holds no version (it dropped them).
  bool replace_in_pool = true;
};

struct SendRequest {
  std::optional<Address> to;  // none: deploy `data` as creation code
  Bytes data;
  U256 value;
  std::optional<std::uint64_t> gas_limit;  // none: estimate (and refuse a call that would revert)
  // The contract's ABI, to name custom errors in revert reasons.
  const abi::ContractAbi* abi = nullptr;
};

struct SentTransaction {
  SignedTransaction signed_tx;  // the version that was mined (a fee bump has its own hash)
  Receipt receipt;
};

// One intent (one logical transaction) and every signed version of it: fee bumps keep the
// nonce, a resubmission after another transaction took the nonce gets a new one. All of them
// share one journal entry, so a restart checks every hash for a receipt and never sends the
// intent again once any version was mined.
struct Intent;

class TransactionSender {
 public:
  // Reads and remembers the chain id; fails with Errc::conflict if `expected_chain_id` is
  // given and differs (the classic mistake of signing for the wrong network).
  static Result<std::shared_ptr<TransactionSender>> create(
      RpcClient rpc, SenderOptions options = {},
      std::optional<std::uint64_t> expected_chain_id = {});

  const RpcClient& rpc() const { return rpc_; }
  std::uint64_t chain_id() const { return chain_id_; }

  Result<Fees> estimate_fees() const;
  // Signs, journals, broadcasts and waits for the receipt. A mined transaction that
  // reverted fails with Errc::rejected and its decoded reason; so does one that would
  // revert (found by gas estimation, before anything is sent). On the way it recovers from
  // nonce races, stuck and dropped transactions (docs/chain.md, "Transaction sender:
  // recovery"); when it gives up, the error names the hash, the nonce and the node's last
  // answer.
  // `fees`, when given, are signed instead of the estimate (a bump still follows the
  // estimate).
  Result<SentTransaction> send(const Signer& signer, const SendRequest& request,
                               std::optional<Fees> fees = {});
  // Signs and broadcasts without waiting; the receipt comes from wait().
  Result<SignedTransaction> broadcast(const Signer& signer, const SendRequest& request,
                                      std::optional<Fees> fees = {});
  // Waits for the receipt of `signed_tx` or of a fee-bumped version of it. A transaction
  // this sender broadcast is watched over as in send(); another is re-broadcast if the node
  // drops it, and never re-signed.
  Result<Receipt> wait(const SignedTransaction& signed_tx, const abi::ContractAbi* abi = nullptr);
  // Settles every journal entry: one mined under any of its hashes is done; one whose nonce
  // another transaction took is dropped with a warning; the others are broadcast again and
  // waited for (and fee-bumped when their key is among `signers`). Returns the receipts.
  Result<std::vector<Receipt>> resume_pending(std::span<const Signer> signers = {});

  // A read-only call; a revert comes back as Errc::rejected with its decoded reason.
  Result<Bytes> call(const CallRequest& request, const abi::ContractAbi* abi = nullptr) const;
  // Why a mined transaction reverted: replays it with eth_call on the state of its block's
  // parent (exact when it was first in its block).
  abi::RevertReason replay_revert(const SignedTransaction& signed_tx, std::uint64_t block_number,
                                  const abi::ContractAbi* abi) const;

 private:
  TransactionSender(RpcClient rpc, SenderOptions options, std::uint64_t chain_id)
      : rpc_(std::move(rpc)), options_(std::move(options)), chain_id_(chain_id) {}
  [[nodiscard]] Result<std::shared_ptr<Intent>> start(const Signer& signer,
                                                      const SendRequest& request,
                                                      std::optional<Fees> fees);
  void remember_intent(const std::shared_ptr<Intent>& intent);
  std::shared_ptr<Intent> find_intent(const ByteArray<32>& hash);
  void forget_intent(const Intent& intent);
  [[nodiscard]] Status journal_append(Intent& intent, const SignedTransaction& signed_tx) const;
  void journal_remove(const Intent& intent) const;
  // Signs `tx` (its nonce from a fresh lease unless `keep_nonce`), journals and broadcasts
  // it, answering refusals; the version the node holds is appended to the intent.
  [[nodiscard]] Status submit(const std::shared_ptr<Intent>& intent, Transaction tx, Fees fees,
                              bool keep_nonce);
  [[nodiscard]] Result<Receipt> watch(const std::shared_ptr<Intent>& intent,
                                      const abi::ContractAbi* abi);
  [[nodiscard]] Status health_check(const std::shared_ptr<Intent>& intent);
  [[nodiscard]] Status bump(const std::shared_ptr<Intent>& intent, std::string_view why);
  // Broadcasts the version the node should hold again; true when the node has it.
  bool rebroadcast(Intent& intent);
  [[nodiscard]] Result<std::optional<Receipt>> find_receipt(const Intent& intent) const;
  std::string describe(const Intent& intent) const;

  RpcClient rpc_;
  SenderOptions options_;
  std::uint64_t chain_id_;
  NonceManager nonces_;
  std::mutex intents_mutex_;
  std::map<ByteArray<32>, std::shared_ptr<Intent>> intents_;  // by every hash of each
};

}  // namespace cairn::chain

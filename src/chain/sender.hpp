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
// one. The nonce is the node's pending count, read under the lock: it follows another
// wallet using the same key, and closes the gap when the node lost transactions.
class NonceManager {
 public:
  struct Lease {
    std::unique_lock<std::mutex> lock;
    std::uint64_t nonce = 0;
  };
  Result<Lease> acquire(const RpcClient& rpc, const Address& address);
  void commit(const Address& address, std::uint64_t used_nonce);
  void invalidate(const Address& address);

 private:
  struct State {
    std::mutex mutex;
    std::optional<std::uint64_t> next;
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

struct SenderOptions {
  std::chrono::milliseconds poll_interval{250};
  std::chrono::milliseconds receipt_timeout{120000};
  double gas_margin = 1.25;  // estimate × margin, for state that changes before mining
  std::optional<std::filesystem::path> journal_dir;
  // Force legacy (EIP-155) transactions, for chains without EIP-1559.
  bool legacy = false;
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
  SignedTransaction signed_tx;
  Receipt receipt;
};

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
  // revert (found by gas estimation, before anything is sent).
  Result<SentTransaction> send(const Signer& signer, const SendRequest& request);
  // Signs and broadcasts without waiting; the receipt comes from wait().
  Result<SignedTransaction> broadcast(const Signer& signer, const SendRequest& request);
  Result<Receipt> wait(const SignedTransaction& signed_tx,
                       const abi::ContractAbi* abi = nullptr) const;
  // Re-broadcasts journaled transactions without a receipt and waits for them.
  Result<std::vector<Receipt>> resume_pending();

  // A read-only call; a revert comes back as Errc::rejected with its decoded reason.
  Result<Bytes> call(const CallRequest& request, const abi::ContractAbi* abi = nullptr) const;
  // Why a mined transaction reverted: replays it with eth_call on the state of its block's
  // parent (exact when it was first in its block).
  abi::RevertReason replay_revert(const SignedTransaction& signed_tx, std::uint64_t block_number,
                                  const abi::ContractAbi* abi) const;

 private:
  TransactionSender(RpcClient rpc, SenderOptions options, std::uint64_t chain_id)
      : rpc_(std::move(rpc)), options_(std::move(options)), chain_id_(chain_id) {}
  Status journal_write(const SignedTransaction& signed_tx) const;
  void journal_remove(const ByteArray<32>& hash) const;

  RpcClient rpc_;
  SenderOptions options_;
  std::uint64_t chain_id_;
  NonceManager nonces_;
};

}  // namespace cairn::chain

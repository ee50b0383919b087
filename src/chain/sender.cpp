#include "chain/sender.hpp"

#include <fstream>
#include <thread>

#include "base/encoding.hpp"
#include "base/log.hpp"

namespace cairn::chain {
namespace {

bool mentions(const std::string& text, std::string_view what) {
  std::string lower = text;
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find(what) != std::string::npos;
}

std::string revert_text(const abi::RevertReason& reason) {
  return reason.message;
}

}  // namespace

NonceManager::State& NonceManager::state(const Address& address) {
  std::lock_guard guard(map_mutex_);
  auto& slot = states_[address];
  if (!slot) slot = std::make_unique<State>();
  return *slot;
}

Result<NonceManager::Lease> NonceManager::acquire(const RpcClient& rpc, const Address& address) {
  State& s = state(address);
  std::unique_lock lock(s.mutex);
  CAIRN_TRY_ASSIGN(std::uint64_t pending, rpc.transaction_count(address, "pending"));
  // Sends are serialised per address and a broadcast lands in the node's pool before the
  // lock is released, so the node's pending count is authoritative. It is ahead of ours
  // when the key was used elsewhere; behind ours when the node lost transactions (a
  // restart, a reorganisation): reusing its count closes the gap instead of leaving every
  // later transaction stuck behind a missing nonce.
  if (s.next && *s.next > pending) {
    log::warn("nonce gap for {}: node expects {}, we were at {}; following the node",
              address.to_checksum(), pending, *s.next);
  }
  return Lease{std::move(lock), pending};
}

void NonceManager::commit(const Address& address, std::uint64_t used_nonce) {
  // Called with the lease's lock held.
  state(address).next = used_nonce + 1;
}

void NonceManager::invalidate(const Address& address) {
  state(address).next.reset();
}

Result<std::shared_ptr<TransactionSender>> TransactionSender::create(
    RpcClient rpc, SenderOptions options, std::optional<std::uint64_t> expected_chain_id) {
  CAIRN_TRY_ASSIGN(std::uint64_t id, rpc.chain_id());
  if (expected_chain_id && *expected_chain_id != id) {
    return fail(Errc::conflict, "wrong chain: node " + rpc.url() + " serves chain id " +
                                    std::to_string(id) + ", expected " +
                                    std::to_string(*expected_chain_id));
  }
  if (options.journal_dir) {
    std::error_code ec;
    std::filesystem::create_directories(*options.journal_dir, ec);
    if (ec)
      return fail(Errc::io,
                  "cannot create the transaction journal " + options.journal_dir->string());
  }
  return std::shared_ptr<TransactionSender>(
      new TransactionSender(std::move(rpc), std::move(options), id));
}

Result<Fees> TransactionSender::estimate_fees() const {
  CAIRN_TRY_ASSIGN(BlockHeader latest, rpc_.block(std::nullopt));
  Fees fees;
  if (options_.legacy || !latest.base_fee) {
    fees.eip1559 = false;
    CAIRN_TRY_ASSIGN(fees.max_fee_per_gas, rpc_.gas_price());
    return fees;
  }
  // Priority fee: the median tip of recent blocks, else the node's suggestion, else 1 gwei.
  U256 tip;
  if (auto history = rpc_.fee_history(10, 50.0); history && !history->median_rewards.empty()) {
    U256 sum;
    for (const auto& r : history->median_rewards)
      sum = sum.wrapping_add(r);
    sum.divmod_small(history->median_rewards.size());
    tip = sum;
  }
  if (tip.is_zero()) {
    if (auto suggested = rpc_.max_priority_fee_per_gas()) tip = *suggested;
  }
  if (tip.is_zero()) tip = U256(1000000000ULL);
  // Twice the base fee survives six full blocks of base-fee growth (12.5% each).
  CAIRN_TRY_ASSIGN(U256 doubled, latest.base_fee->checked_mul(2));
  CAIRN_TRY_ASSIGN(fees.max_fee_per_gas, doubled.checked_add(tip));
  fees.max_priority_fee_per_gas = tip;
  return fees;
}

Status TransactionSender::journal_write(const SignedTransaction& signed_tx) const {
  if (!options_.journal_dir) return {};
  const auto final_path = *options_.journal_dir / (to_hex(signed_tx.hash) + ".tx");
  const auto temp_path = final_path.string() + ".tmp";
  {
    std::ofstream out(temp_path, std::ios::trunc);
    out << to_hex(signed_tx.raw) << "\n";
    if (!out) return fail(Errc::io, "cannot write the transaction journal " + temp_path);
  }
  std::error_code ec;
  std::filesystem::rename(temp_path, final_path, ec);
  if (ec) return fail(Errc::io, "cannot write the transaction journal " + final_path.string());
  return {};
}

void TransactionSender::journal_remove(const ByteArray<32>& hash) const {
  if (!options_.journal_dir) return;
  std::error_code ec;
  std::filesystem::remove(*options_.journal_dir / (to_hex(hash) + ".tx"), ec);
}

Result<SignedTransaction> TransactionSender::broadcast(const Signer& signer,
                                                       const SendRequest& request) {
  std::uint64_t gas_limit = 0;
  if (request.gas_limit) {
    gas_limit = *request.gas_limit;
  } else {
    RpcErrorObject error;
    auto estimate = rpc_.estimate_gas(
        CallRequest{signer.address, request.to, request.data, request.value, {}}, &error);
    if (!estimate) {
      if (estimate.error().code == Errc::rejected) {
        const auto revert = error.revert_data();
        if (revert || mentions(error.message, "revert")) {
          const auto reason = abi::decode_revert(revert.value_or(Bytes{}), request.abi);
          return fail(Errc::rejected, "transaction would revert: " + revert_text(reason));
        }
        if (mentions(error.message, "insufficient funds")) {
          return fail(Errc::rejected, "insufficient funds: " + signer.address.to_checksum() +
                                          " cannot pay value plus gas");
        }
      }
      return std::unexpected(std::move(estimate).error().context("estimating gas"));
    }
    gas_limit =
        static_cast<std::uint64_t>(static_cast<double>(*estimate) * options_.gas_margin) + 10000;
  }
  CAIRN_TRY_ASSIGN(Fees fees, estimate_fees());

  for (int attempt = 0; attempt < 3; ++attempt) {
    CAIRN_TRY_ASSIGN(auto lease, nonces_.acquire(rpc_, signer.address));
    Transaction tx;
    tx.type = fees.eip1559 ? Transaction::Type::eip1559 : Transaction::Type::legacy;
    tx.chain_id = chain_id_;
    tx.nonce = lease.nonce;
    if (fees.eip1559) {
      tx.max_fee_per_gas = fees.max_fee_per_gas;
      tx.max_priority_fee_per_gas = fees.max_priority_fee_per_gas;
    } else {
      tx.gas_price = fees.max_fee_per_gas;
    }
    tx.gas_limit = gas_limit;
    tx.to = request.to;
    tx.value = request.value;
    tx.data = request.data;
    CAIRN_TRY_ASSIGN(SignedTransaction signed_tx, sign_transaction(tx, signer.secret_key));
    CAIRN_TRY(journal_write(signed_tx));
    RpcErrorObject error;
    auto sent = rpc_.send_raw_transaction(signed_tx.raw, &error);
    if (sent) {
      if (*sent != signed_tx.hash) {
        return fail(Errc::parse, "eth_sendRawTransaction: node reported hash 0x" + to_hex(*sent) +
                                     " for transaction 0x" + to_hex(signed_tx.hash));
      }
      nonces_.commit(signer.address, tx.nonce);
      return signed_tx;
    }
    if (sent.error().code == Errc::rejected && mentions(error.message, "already known")) {
      nonces_.commit(signer.address, tx.nonce);
      return signed_tx;
    }
    journal_remove(signed_tx.hash);
    if (sent.error().code == Errc::rejected &&
        (mentions(error.message, "nonce too low") || mentions(error.message, "nonce too high") ||
         mentions(error.message, "replacement transaction underpriced"))) {
      // Someone else used this nonce (another wallet with the same key): re-read and retry.
      nonces_.invalidate(signer.address);
      continue;
    }
    if (sent.error().code == Errc::rejected && mentions(error.message, "insufficient funds")) {
      return fail(Errc::rejected, "insufficient funds: " + signer.address.to_checksum() +
                                      " cannot pay value plus gas (node: " + error.message + ")");
    }
    if (sent.error().code == Errc::unavailable) {
      // The node went away mid-call: it may or may not have the transaction. The journal
      // keeps it; resume_pending() settles which.
      CAIRN_TRY(journal_write(signed_tx));
      nonces_.commit(signer.address, tx.nonce);
      return std::unexpected(std::move(sent).error().context(
          "broadcasting 0x" + to_hex(signed_tx.hash) + " (kept in the journal)"));
    }
    return std::unexpected(std::move(sent).error());
  }
  return fail(Errc::conflict, "nonce kept changing under us for " + signer.address.to_checksum());
}

Result<Receipt> TransactionSender::wait(const SignedTransaction& signed_tx,
                                        const abi::ContractAbi* abi) const {
  const auto deadline = std::chrono::steady_clock::now() + options_.receipt_timeout;
  for (;;) {
    CAIRN_TRY_ASSIGN(auto receipt, rpc_.receipt(signed_tx.hash));
    if (receipt) {
      journal_remove(signed_tx.hash);
      if (!receipt->success) {
        const auto reason = replay_revert(signed_tx, receipt->block_number, abi);
        return fail(Errc::rejected,
                    "transaction 0x" + to_hex(signed_tx.hash) + " reverted in block " +
                        std::to_string(receipt->block_number) + ": " + revert_text(reason));
      }
      return *receipt;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return fail(Errc::unavailable, "transaction 0x" + to_hex(signed_tx.hash) +
                                         " not mined after " +
                                         std::to_string(options_.receipt_timeout.count() / 1000) +
                                         " s; it stays in the journal");
    }
    std::this_thread::sleep_for(options_.poll_interval);
  }
}

Result<SentTransaction> TransactionSender::send(const Signer& signer, const SendRequest& request) {
  CAIRN_TRY_ASSIGN(SignedTransaction signed_tx, broadcast(signer, request));
  CAIRN_TRY_ASSIGN(Receipt receipt, wait(signed_tx, request.abi));
  return SentTransaction{std::move(signed_tx), std::move(receipt)};
}

Result<std::vector<Receipt>> TransactionSender::resume_pending() {
  std::vector<Receipt> receipts;
  if (!options_.journal_dir) return receipts;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(*options_.journal_dir)) {
    if (entry.path().extension() == ".tx") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<SignedTransaction> pending;
  for (const auto& file : files) {
    std::ifstream in(file);
    std::string hex;
    in >> hex;
    auto raw = from_hex(hex);
    if (!raw) return fail(Errc::parse, "journal entry " + file.string() + " is not hex");
    auto decoded = decode_signed_transaction(*raw);
    if (!decoded)
      return std::unexpected(std::move(decoded).error().context("journal entry " + file.string()));
    pending.push_back(std::move(*decoded));
  }
  // Oldest nonce first, so that the node accepts them in order.
  std::sort(pending.begin(), pending.end(),
            [](const auto& a, const auto& b) { return a.tx.nonce < b.tx.nonce; });
  for (const auto& signed_tx : pending) {
    CAIRN_TRY_ASSIGN(auto existing, rpc_.receipt(signed_tx.hash));
    if (!existing) {
      RpcErrorObject error;
      auto sent = rpc_.send_raw_transaction(signed_tx.raw, &error);
      if (!sent && !mentions(error.message, "already known")) {
        if (mentions(error.message, "nonce too low")) {
          // Another transaction took the nonce: this one can never be mined.
          log::warn("dropping journaled transaction 0x{}: its nonce was used by another",
                    to_hex(signed_tx.hash));
          journal_remove(signed_tx.hash);
          continue;
        }
        return std::unexpected(
            std::move(sent).error().context("re-broadcasting 0x" + to_hex(signed_tx.hash)));
      }
    }
    CAIRN_TRY_ASSIGN(Receipt receipt, wait(signed_tx, nullptr));
    receipts.push_back(std::move(receipt));
  }
  return receipts;
}

Result<Bytes> TransactionSender::call(const CallRequest& request,
                                      const abi::ContractAbi* abi) const {
  CAIRN_TRY_ASSIGN(CallOutcome outcome, rpc_.eth_call(request));
  if (outcome.reverted) {
    return fail(Errc::rejected,
                "call reverted: " + revert_text(abi::decode_revert(outcome.data, abi)));
  }
  return outcome.data;
}

abi::RevertReason TransactionSender::replay_revert(const SignedTransaction& signed_tx,
                                                   std::uint64_t block_number,
                                                   const abi::ContractAbi* abi) const {
  CallRequest request{signed_tx.from, signed_tx.tx.to, signed_tx.tx.data, signed_tx.tx.value,
                      signed_tx.tx.gas_limit};
  const std::string block = to_quantity(U256(block_number == 0 ? 0 : block_number - 1));
  auto outcome = rpc_.eth_call(request, block);
  if (outcome && outcome->reverted) return abi::decode_revert(outcome->data, abi);
  abi::RevertReason reason;
  reason.kind = abi::RevertReason::Kind::unknown;
  reason.message =
      outcome
          ? "reverted (the replay did not revert: out of gas, or state changed within the block)"
          : "reverted (replay failed: " + outcome.error().message + ")";
  return reason;
}

}  // namespace cairn::chain

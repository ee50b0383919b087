#include "chain/sender.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "base/encoding.hpp"
#include "base/file.hpp"
#include "base/json.hpp"
#include "base/log.hpp"

namespace cairn::chain {

// One logical transaction and every version signed for it (see the header).
struct Intent {
  Address from;
  // Without the key (resumed without it, or a transaction this sender did not sign) the
  // intent is re-broadcast as it is but never re-signed.
  std::optional<crypto::Secp256k1SecretKey> key;
  std::vector<SignedTransaction> versions;  // in the order they were signed
  std::size_t active = 0;                   // the version the node should hold
  std::filesystem::path journal_file;       // empty: no journal
  int bumps = 0;
  int resubmissions = 0;
  int drops = 0;
  bool bump_due = false;  // the node refused a bump as too small: bump again at once
  std::chrono::steady_clock::time_point last_broadcast = std::chrono::steady_clock::now();
  std::string last_answer = "none";

  const SignedTransaction& current() const { return versions[active]; }
  std::uint64_t nonce() const { return current().tx.nonce; }
};

namespace {

using Clock = std::chrono::steady_clock;

bool mentions(const std::string& text, std::string_view what) {
  std::string lower = text;
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find(what) != std::string::npos;
}

std::string revert_text(const abi::RevertReason& reason) {
  return reason.message;
}

// Reads the first run of digits after `label` in `text`.
std::optional<std::uint64_t> number_after(std::string_view text, std::string_view label) {
  const auto at = text.find(label);
  if (at == std::string_view::npos) return std::nullopt;
  auto rest = text.substr(at + label.size());
  while (!rest.empty() && rest.front() == ' ')
    rest.remove_prefix(1);
  std::uint64_t value = 0;
  std::size_t digits = 0;
  while (digits < rest.size() && digits < 19 && rest[digits] >= '0' && rest[digits] <= '9') {
    value = value * 10 + static_cast<std::uint64_t>(rest[digits] - '0');
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  return value;
}

// x × 1.1, rounded up, plus one wei.
Result<U256> ten_percent_more(const U256& x) {
  CAIRN_TRY_ASSIGN(U256 scaled, x.checked_mul(11));
  const bool remainder = scaled.divmod_small(10) != 0;
  return scaled.checked_add(U256(remainder ? 2 : 1));
}

Fees fees_of(const Transaction& tx) {
  Fees fees;
  fees.eip1559 = tx.type == Transaction::Type::eip1559;
  fees.max_fee_per_gas = fees.eip1559 ? tx.max_fee_per_gas : tx.gas_price;
  fees.max_priority_fee_per_gas = tx.max_priority_fee_per_gas;
  return fees;
}

void apply_fees(Transaction& tx, const Fees& fees) {
  tx.type = fees.eip1559 ? Transaction::Type::eip1559 : Transaction::Type::legacy;
  if (fees.eip1559) {
    tx.max_fee_per_gas = fees.max_fee_per_gas;
    tx.max_priority_fee_per_gas = fees.max_priority_fee_per_gas;
    tx.gas_price = U256();
  } else {
    tx.gas_price = fees.max_fee_per_gas;
    tx.max_fee_per_gas = U256();
    tx.max_priority_fee_per_gas = U256();
  }
}

std::string journal_line(const SignedTransaction& signed_tx) {
  return nlohmann::json{{"raw", to_hex(signed_tx.raw)}}.dump() + "\n";
}

// A journal file as read at start-up; the legacy *.tx entries hold bare hex lines.
Result<std::vector<SignedTransaction>> read_journal(const std::filesystem::path& file) {
  CAIRN_TRY_ASSIGN(Bytes bytes, file::read(file, file::kSmallFileCap * 4));
  return parse_transaction_journal(bytes, file.extension() == ".tx", file.string());
}

}  // namespace

Result<Fees> bump_fees(const Fees& current, const Fees& floor) {
  Fees bumped;
  bumped.eip1559 = current.eip1559;
  CAIRN_TRY_ASSIGN(bumped.max_fee_per_gas, ten_percent_more(current.max_fee_per_gas));
  if (current.eip1559) {
    CAIRN_TRY_ASSIGN(bumped.max_priority_fee_per_gas,
                     ten_percent_more(current.max_priority_fee_per_gas));
  }
  // A floor of the other kind (the chain changed its fee market) says nothing about ours.
  if (floor.eip1559 == current.eip1559) {
    bumped.max_fee_per_gas = std::max(bumped.max_fee_per_gas, floor.max_fee_per_gas);
    if (current.eip1559) {
      bumped.max_priority_fee_per_gas =
          std::max(bumped.max_priority_fee_per_gas, floor.max_priority_fee_per_gas);
    }
  }
  // A node refuses a tip above the fee cap.
  if (bumped.eip1559 && bumped.max_priority_fee_per_gas > bumped.max_fee_per_gas)
    bumped.max_fee_per_gas = bumped.max_priority_fee_per_gas;
  return bumped;
}

ClassifiedRefusal classify_send_refusal(std::string_view node_message) {
  // Lower case, and besu's upper-case codes (NONCE_TOO_LOW) read like geth's words.
  std::string text(node_message);
  for (auto& c : text) {
    c = c == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const auto has = [&](std::string_view what) { return text.find(what) != std::string::npos; };
  ClassifiedRefusal out;
  if (has("already known") || has("already imported") || has("known transaction") ||
      has("alreadyknown")) {
    out.kind = SendRefusal::already_known;
  } else if (has("doesn't have the correct nonce")) {
    // ganache: "the tx doesn't have the correct nonce. account has nonce of: 2 tx has nonce
    // of: 1". Only a nonce below the account's is "too low"; ganache queues future ones.
    out.account_nonce = number_after(text, "account has nonce of:");
    out.tx_nonce = number_after(text, "tx has nonce of:");
    out.kind = out.account_nonce && out.tx_nonce && *out.tx_nonce > *out.account_nonce
                   ? SendRefusal::nonce_too_high
                   : SendRefusal::nonce_too_low;
  } else if (has("nonce too low") || has("oldnonce") || has("nonce is too low")) {
    out.kind = SendRefusal::nonce_too_low;
  } else if (has("nonce too high") || has("nonce too far in future") || has("nonce gap") ||
             has("futurenonce")) {
    out.kind = SendRefusal::nonce_too_high;
  } else if (has("replacement transaction underpriced") || has("replacement underpriced") ||
             has("replacement fee too low")) {
    out.kind = SendRefusal::replacement_underpriced;
  } else if (has("base fee") && (has("less than") || has("below") || has("lower than"))) {
    out.kind = SendRefusal::fee_below_base_fee;
  } else if (has("underpriced") || has("gas price too low") || has("fee too low") ||
             has("feetoolow")) {
    out.kind = SendRefusal::underpriced;
  } else if (has("insufficient funds")) {
    out.kind = SendRefusal::insufficient_funds;
  }
  return out;
}

std::string_view to_string(SendRefusal kind) {
  switch (kind) {
    case SendRefusal::other:
      return "other";
    case SendRefusal::already_known:
      return "already known";
    case SendRefusal::nonce_too_low:
      return "nonce too low";
    case SendRefusal::nonce_too_high:
      return "nonce too high";
    case SendRefusal::replacement_underpriced:
      return "replacement underpriced";
    case SendRefusal::underpriced:
      return "underpriced";
    case SendRefusal::fee_below_base_fee:
      return "fee below base fee";
    case SendRefusal::insufficient_funds:
      return "insufficient funds";
  }
  return "other";
}

NonceManager::State& NonceManager::state(const Address& address) {
  std::lock_guard guard(map_mutex_);
  auto& slot = states_[address];
  if (!slot) slot = std::make_unique<State>();
  return *slot;
}

Result<NonceManager::Lease> NonceManager::acquire(const RpcClient& rpc, const Address& address) {
  State& s = state(address);
  std::unique_lock lock(s.mutex);
  // Mined first: a transaction mined between the two reads then shows in both.
  CAIRN_TRY_ASSIGN(std::uint64_t mined, rpc.transaction_count(address, "latest"));
  CAIRN_TRY_ASSIGN(std::uint64_t pending, rpc.transaction_count(address, "pending"));
  std::erase_if(s.in_flight, [&](const auto& entry) { return entry.first < mined; });
  std::erase_if(s.taken, [&](std::uint64_t n) { return n < mined; });
  const std::uint64_t node = std::max(mined, pending);
  std::uint64_t nonce = node;
  if (s.next && *s.next > node) {
    if (s.taken.contains(node)) {
      nonce = *s.next;  // another wallet's transaction the node's count leaves out
    } else if (const auto ours = s.in_flight.find(node); ours != s.in_flight.end()) {
      nonce = *s.next;
      // Either the node's pending count ignores its pool (ganache), or it lost ours.
      auto known =
          rpc.call("eth_getTransactionByHash", nlohmann::json::array({to_data(ours->second.hash)}));
      if (known && known->is_null()) {
        log::warn("the node lost transactions of {} from nonce {}; broadcasting them again",
                  address.to_checksum(), node);
        for (auto it = ours; it != s.in_flight.end(); ++it)
          (void)rpc.send_raw_transaction(it->second.raw);
      }
    } else {
      log::warn("nonce gap for {}: node expects {}, we were at {}; following the node",
                address.to_checksum(), node, *s.next);
    }
  }
  while (s.in_flight.contains(nonce) || s.taken.contains(nonce))
    ++nonce;
  return Lease{std::move(lock), nonce};
}

void NonceManager::commit(Lease& /*lease*/, const SignedTransaction& signed_tx) {
  State& s = state(signed_tx.from);
  s.in_flight[signed_tx.tx.nonce] = InFlight{signed_tx.hash, signed_tx.raw};
  s.next = std::max(s.next.value_or(0), signed_tx.tx.nonce + 1);
}

void NonceManager::skip(Lease& /*lease*/, const Address& address, std::uint64_t nonce) {
  State& s = state(address);
  s.taken.insert(nonce);
  s.next = std::max(s.next.value_or(0), nonce + 1);
}

void NonceManager::invalidate(Lease& /*lease*/, const Address& address) {
  State& s = state(address);
  s.next.reset();
  s.taken.clear();
}

void NonceManager::adopt(const SignedTransaction& signed_tx) {
  State& s = state(signed_tx.from);
  std::lock_guard guard(s.mutex);
  s.in_flight[signed_tx.tx.nonce] = InFlight{signed_tx.hash, signed_tx.raw};
  s.next = std::max(s.next.value_or(0), signed_tx.tx.nonce + 1);
}

void NonceManager::release(const Address& address, std::uint64_t nonce) {
  State& s = state(address);
  std::lock_guard guard(s.mutex);
  s.in_flight.erase(nonce);
}

Result<std::shared_ptr<TransactionSender>> TransactionSender::create(
    RpcClient rpc, SenderOptions options, std::optional<std::uint64_t> expected_chain_id) {
  CAIRN_TRY_ASSIGN(std::uint64_t id, rpc.chain_id());
  if (expected_chain_id && *expected_chain_id != id) {
    return fail(Errc::conflict, "wrong chain: node " + rpc.redacted_url() + " serves chain id " +
                                    std::to_string(id) + ", expected " +
                                    std::to_string(*expected_chain_id));
  }
  if (options.journal_dir) {
    // The journal holds signed transactions: not secret, but nobody else's business.
    auto created = file::create_directories(*options.journal_dir, 0700);
    if (!created)
      return std::unexpected(
          std::move(created).error().context("creating the transaction journal"));
  }
  if (auto client = rpc.call("web3_clientVersion", nlohmann::json::array());
      client && client->is_string() && mentions(client->get<std::string>(), "ganache")) {
    options.replace_in_pool = false;
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

std::string TransactionSender::describe(const Intent& intent) const {
  return "transaction 0x" + to_hex(intent.current().hash) + " (nonce " +
         std::to_string(intent.nonce()) + " from " + intent.from.to_checksum() + ")";
}

Status TransactionSender::journal_append(Intent& intent, const SignedTransaction& signed_tx) const {
  if (!options_.journal_dir) return {};
  if (intent.journal_file.empty())
    intent.journal_file = *options_.journal_dir / (to_hex(signed_tx.hash) + ".journal");
  auto appended = file::append_synced(intent.journal_file, journal_line(signed_tx), file::kSecret);
  if (!appended)
    return std::unexpected(std::move(appended).error().context("writing the transaction journal"));
  return {};
}

void TransactionSender::journal_remove(const Intent& intent) const {
  if (intent.journal_file.empty()) return;
  if (auto removed = file::remove(intent.journal_file); !removed)
    log::warn("cannot remove journal entry {}: {}", intent.journal_file.string(),
              removed.error().message);
}

void TransactionSender::remember_intent(const std::shared_ptr<Intent>& intent) {
  std::lock_guard guard(intents_mutex_);
  for (const auto& version : intent->versions)
    intents_[version.hash] = intent;
}

std::shared_ptr<Intent> TransactionSender::find_intent(const ByteArray<32>& hash) {
  std::lock_guard guard(intents_mutex_);
  const auto found = intents_.find(hash);
  return found == intents_.end() ? nullptr : found->second;
}

void TransactionSender::forget_intent(const Intent& intent) {
  std::lock_guard guard(intents_mutex_);
  for (const auto& version : intent.versions)
    intents_.erase(version.hash);
}

Status TransactionSender::submit(const std::shared_ptr<Intent>& intent, Transaction tx, Fees fees,
                                 bool keep_nonce) {
  std::optional<std::uint64_t> underpriced_at;
  auto backoff = options_.poll_interval;
  std::string last_hash;
  for (int attempt = 0; attempt < std::max(1, options_.max_broadcast_attempts); ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, options_.max_poll_interval);
    }
    std::optional<NonceManager::Lease> lease;
    if (!keep_nonce) {
      CAIRN_TRY_ASSIGN(auto acquired, nonces_.acquire(rpc_, intent->from));
      tx.nonce = acquired.nonce;
      lease.emplace(std::move(acquired));
    }
    if (options_.max_fee_cap && fees.max_fee_per_gas > *options_.max_fee_cap) {
      return fail(Errc::rejected, "transaction from " + intent->from.to_checksum() + " at nonce " +
                                      std::to_string(tx.nonce) + " would need a fee cap of " +
                                      fees.max_fee_per_gas.to_decimal() +
                                      " wei per gas, above the configured cap; last node answer: " +
                                      intent->last_answer);
    }
    apply_fees(tx, fees);
    CAIRN_TRY_ASSIGN(SignedTransaction signed_tx, sign_transaction(tx, *intent->key));
    last_hash = to_hex(signed_tx.hash);
    // Journaled before the node sees it: a crash after the broadcast must find it.
    CAIRN_TRY(journal_append(*intent, signed_tx));
    intent->versions.push_back(signed_tx);
    remember_intent(intent);
    const auto accept = [&] {
      intent->active = intent->versions.size() - 1;
      intent->last_broadcast = Clock::now();
      if (lease) {
        nonces_.commit(*lease, intent->current());
      } else {
        nonces_.adopt(intent->current());
      }
    };
    RpcErrorObject error;
    auto sent = rpc_.send_raw_transaction(signed_tx.raw, &error);
    if (sent) {
      if (*sent != signed_tx.hash) {
        return fail(Errc::parse, "eth_sendRawTransaction: node reported hash 0x" + to_hex(*sent) +
                                     " for transaction 0x" + to_hex(signed_tx.hash));
      }
      accept();
      return {};
    }
    if (sent.error().code == Errc::unavailable) {
      // The node went away mid-call: it may or may not have the transaction. The journal
      // keeps it; a wait or resume_pending() settles which.
      accept();
      return std::unexpected(std::move(sent).error().context(
          "broadcasting 0x" + to_hex(signed_tx.hash) + " (kept in the journal)"));
    }
    if (sent.error().code != Errc::rejected) return std::unexpected(std::move(sent).error());
    intent->last_answer = error.message;
    const auto refusal = classify_send_refusal(error.message);
    switch (refusal.kind) {
      case SendRefusal::already_known:
        accept();
        return {};
      case SendRefusal::nonce_too_low:
        // A bump's nonce was mined (perhaps as an earlier version): the watcher settles it.
        if (keep_nonce) return {};
        lease->lock.unlock();
        {
          // An earlier version of this intent may be what was mined.
          CAIRN_TRY_ASSIGN(auto mined, find_receipt(*intent));
          if (mined) return {};
        }
        lease->lock.lock();
        nonces_.invalidate(*lease, intent->from);
        continue;
      case SendRefusal::nonce_too_high:
        if (keep_nonce) return {};
        nonces_.invalidate(*lease, intent->from);
        continue;
      case SendRefusal::replacement_underpriced:
        if (keep_nonce) {
          intent->bump_due = true;
          return {};
        }
        // Another transaction holds this nonce in the pool: leave it be, take the next.
        nonces_.skip(*lease, intent->from, tx.nonce);
        continue;
      case SendRefusal::underpriced: {
        if (keep_nonce) {
          intent->bump_due = true;
          return {};
        }
        // Geth means our fee is below its pool's minimum; ganache means another transaction
        // holds the nonce. A higher fee answers the first; if the node still refuses at
        // this nonce, it is the second.
        if (underpriced_at != tx.nonce) {
          underpriced_at = tx.nonce;
          CAIRN_TRY_ASSIGN(fees, bump_fees(fees, estimate_fees().value_or(fees)));
        } else {
          nonces_.skip(*lease, intent->from, tx.nonce);
        }
        continue;
      }
      case SendRefusal::fee_below_base_fee: {
        CAIRN_TRY_ASSIGN(fees, bump_fees(fees, estimate_fees().value_or(fees)));
        continue;
      }
      case SendRefusal::insufficient_funds:
        return fail(Errc::rejected, "insufficient funds: " + intent->from.to_checksum() +
                                        " cannot pay value plus gas (node: " + error.message + ")");
      case SendRefusal::other:
        return std::unexpected(std::move(sent).error());
    }
  }
  return fail(Errc::conflict, "gave up broadcasting transaction 0x" + last_hash + " (nonce " +
                                  std::to_string(tx.nonce) + " from " + intent->from.to_checksum() +
                                  ") after " + std::to_string(options_.max_broadcast_attempts) +
                                  " attempts; last node answer: " + intent->last_answer);
}

Result<std::shared_ptr<Intent>> TransactionSender::start(const Signer& signer,
                                                         const SendRequest& request,
                                                         std::optional<Fees> chosen_fees) {
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
  Fees fees;
  if (chosen_fees) {
    fees = *chosen_fees;
  } else {
    CAIRN_TRY_ASSIGN(fees, estimate_fees());
  }
  auto intent = std::make_shared<Intent>();
  intent->from = signer.address;
  intent->key = signer.secret_key;
  Transaction tx;
  tx.chain_id = chain_id_;
  tx.gas_limit = gas_limit;
  tx.to = request.to;
  tx.value = request.value;
  tx.data = request.data;
  auto submitted = submit(intent, std::move(tx), fees, /*keep_nonce=*/false);
  if (!submitted) {
    // Nothing the node may hold stays in the journal: only an unreachable node leaves one.
    if (submitted.error().code != Errc::unavailable) {
      journal_remove(*intent);
      forget_intent(*intent);
    }
    return std::unexpected(std::move(submitted).error());
  }
  return intent;
}

Result<SignedTransaction> TransactionSender::broadcast(const Signer& signer,
                                                       const SendRequest& request,
                                                       std::optional<Fees> fees) {
  CAIRN_TRY_ASSIGN(auto intent, start(signer, request, std::move(fees)));
  return intent->current();
}

Result<std::optional<Receipt>> TransactionSender::find_receipt(const Intent& intent) const {
  // Newest first: a bump is the likelier to have been mined.
  for (std::size_t i = intent.versions.size(); i-- > 0;) {
    CAIRN_TRY_ASSIGN(auto receipt, rpc_.receipt(intent.versions[i].hash));
    if (receipt) return receipt;
  }
  return std::optional<Receipt>{};
}

bool TransactionSender::rebroadcast(Intent& intent) {
  RpcErrorObject error;
  auto sent = rpc_.send_raw_transaction(intent.current().raw, &error);
  if (sent) {
    intent.last_broadcast = Clock::now();
    return true;
  }
  intent.last_answer = error.message.empty() ? sent.error().message : error.message;
  switch (classify_send_refusal(error.message).kind) {
    case SendRefusal::already_known:
      intent.last_broadcast = Clock::now();
      return true;
    case SendRefusal::underpriced:
    case SendRefusal::replacement_underpriced:
    case SendRefusal::fee_below_base_fee:
      intent.bump_due = true;
      return false;
    default:
      // A nonce now used is settled by the next health check; anything else is kept as the
      // last answer for the final error.
      return false;
  }
}

Status TransactionSender::bump(const std::shared_ptr<Intent>& intent, std::string_view why) {
  if (!intent->key || intent->bumps >= options_.max_fee_bumps) return {};
  if (!options_.replace_in_pool) {
    // Only when the node holds no version: then the bump replaces nothing.
    for (const auto& version : intent->versions) {
      auto known =
          rpc_.call("eth_getTransactionByHash", nlohmann::json::array({to_data(version.hash)}));
      if (!known || !known->is_null()) return {};
    }
  }
  const Fees current = fees_of(intent->current().tx);
  CAIRN_TRY_ASSIGN(Fees bumped, bump_fees(current, estimate_fees().value_or(current)));
  if (options_.max_fee_cap && bumped.max_fee_per_gas > *options_.max_fee_cap) {
    log::warn("{}: not bumping its fee ({}): {} wei per gas would pass the cap", describe(*intent),
              why, bumped.max_fee_per_gas.to_decimal());
    intent->bumps = options_.max_fee_bumps;
    return {};
  }
  ++intent->bumps;
  intent->bump_due = false;
  log::info("{}: {}; re-signing with fee cap {} and tip {} wei (bump {} of {})", describe(*intent),
            why, bumped.max_fee_per_gas.to_decimal(), bumped.max_priority_fee_per_gas.to_decimal(),
            intent->bumps, options_.max_fee_bumps);
  return submit(intent, intent->current().tx, bumped, /*keep_nonce=*/true);
}

Status TransactionSender::health_check(const std::shared_ptr<Intent>& intent) {
  auto mined = rpc_.transaction_count(intent->from, "latest");
  if (!mined) {
    intent->last_answer = mined.error().message;
    return {};  // the node is away: keep waiting, the deadline bounds it
  }
  const std::uint64_t nonce = intent->nonce();
  if (*mined > nonce) {
    // The nonce is used. The count may be newer than our last receipt poll: look again.
    CAIRN_TRY_ASSIGN(auto receipt, find_receipt(*intent));
    if (receipt) return {};
    nonces_.release(intent->from, nonce);
    if (!intent->key || intent->resubmissions >= options_.max_resubmissions) {
      journal_remove(*intent);
      forget_intent(*intent);
      return fail(Errc::conflict, describe(*intent) +
                                      " can never be mined: another transaction used its nonce; "
                                      "last node answer: " +
                                      intent->last_answer);
    }
    ++intent->resubmissions;
    log::warn("{}: another transaction used its nonce; sending it again with a new one",
              describe(*intent));
    intent->bumps = 0;
    intent->drops = 0;
    return submit(intent, intent->current().tx,
                  estimate_fees().value_or(fees_of(intent->current().tx)),
                  /*keep_nonce=*/false);
  }
  auto known = rpc_.call("eth_getTransactionByHash",
                         nlohmann::json::array({to_data(intent->current().hash)}));
  if (known && known->is_null()) {
    // Dropped from the pool (a restart, an eviction). Once, it is broadcast again as it is;
    // a node that drops it again (ganache drops what its fee cannot pay) gets a bump.
    ++intent->drops;
    log::warn("{}: the node no longer knows it; broadcasting it again", describe(*intent));
    if (intent->drops > 1 && intent->key) return bump(intent, "dropped again");
    rebroadcast(*intent);
    if (intent->bump_due) return bump(intent, "refused as underpriced");
    return {};
  }
  if (*mined == nonce &&
      (intent->bump_due || Clock::now() - intent->last_broadcast >= options_.stuck_after)) {
    return bump(intent, intent->bump_due ? "the last bump was too small" : "not mined in time");
  }
  return {};
}

Result<Receipt> TransactionSender::watch(const std::shared_ptr<Intent>& intent,
                                         const abi::ContractAbi* abi) {
  const auto deadline = Clock::now() + options_.receipt_timeout;
  auto interval = options_.poll_interval;
  auto last_check = Clock::now();
  for (;;) {
    auto receipt = find_receipt(*intent);
    if (receipt && *receipt) {
      const Receipt& r = **receipt;
      const auto mined = std::find_if(intent->versions.begin(), intent->versions.end(),
                                      [&](const auto& v) { return v.hash == r.transaction_hash; });
      intent->active = static_cast<std::size_t>(mined - intent->versions.begin());
      journal_remove(*intent);
      nonces_.release(intent->from, intent->nonce());
      forget_intent(*intent);
      if (!r.success) {
        const auto reason = replay_revert(intent->current(), r.block_number, abi);
        return fail(Errc::rejected, "transaction 0x" + to_hex(r.transaction_hash) +
                                        " reverted in block " + std::to_string(r.block_number) +
                                        ": " + revert_text(reason));
      }
      return r;
    }
    if (!receipt) {
      if (receipt.error().code != Errc::unavailable) return std::unexpected(receipt.error());
      intent->last_answer = receipt.error().message;
    }
    const auto now = Clock::now();
    if (now > deadline) {
      return fail(Errc::unavailable, describe(*intent) + " not mined after " +
                                         std::to_string(options_.receipt_timeout.count() / 1000) +
                                         " s (" + std::to_string(intent->versions.size()) +
                                         " version(s), " + std::to_string(intent->bumps) +
                                         " fee bump(s)); it stays in the journal; " +
                                         "last node answer: " + intent->last_answer);
    }
    if (now - last_check >= options_.health_check_interval) {
      last_check = now;
      CAIRN_TRY(health_check(intent));
    }
    std::this_thread::sleep_for(interval);
    interval = std::min(interval * 3 / 2, options_.max_poll_interval);
  }
}

Result<Receipt> TransactionSender::wait(const SignedTransaction& signed_tx,
                                        const abi::ContractAbi* abi) {
  auto intent = find_intent(signed_tx.hash);
  if (!intent) {
    // Not ours to re-sign: watch it, and broadcast it again if the node drops it.
    intent = std::make_shared<Intent>();
    intent->from = signed_tx.from;
    intent->versions.push_back(signed_tx);
    if (options_.journal_dir) {
      for (const char* extension : {".journal", ".tx"}) {
        const auto file = *options_.journal_dir / (to_hex(signed_tx.hash) + extension);
        if (std::filesystem::exists(file)) intent->journal_file = file;
      }
    }
  }
  return watch(intent, abi);
}

Result<SentTransaction> TransactionSender::send(const Signer& signer, const SendRequest& request,
                                                std::optional<Fees> fees) {
  CAIRN_TRY_ASSIGN(auto intent, start(signer, request, std::move(fees)));
  CAIRN_TRY_ASSIGN(Receipt receipt, watch(intent, request.abi));
  return SentTransaction{intent->current(), std::move(receipt)};
}

Result<std::vector<Receipt>> TransactionSender::resume_pending(std::span<const Signer> signers) {
  std::vector<Receipt> receipts;
  if (!options_.journal_dir) return receipts;
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(*options_.journal_dir, ec)) {
    const auto extension = entry.path().extension();
    if (extension == ".journal" || extension == ".tx") files.push_back(entry.path());
  }
  if (ec)
    return fail(Errc::io, "cannot list the transaction journal " + options_.journal_dir->string());
  std::sort(files.begin(), files.end());
  std::vector<std::shared_ptr<Intent>> pending;
  for (const auto& path : files) {
    CAIRN_TRY_ASSIGN(auto versions, read_journal(path));
    auto intent = std::make_shared<Intent>();
    intent->journal_file = path;
    if (versions.empty()) {
      journal_remove(*intent);  // torn before its first broadcast
      continue;
    }
    intent->from = versions.front().from;
    intent->versions = std::move(versions);
    intent->active = intent->versions.size() - 1;
    for (const auto& signer : signers) {
      if (signer.address == intent->from) intent->key = signer.secret_key;
    }
    pending.push_back(std::move(intent));
  }
  // Oldest nonce first, so that the node accepts them in order.
  std::sort(pending.begin(), pending.end(),
            [](const auto& a, const auto& b) { return a->nonce() < b->nonce(); });
  for (const auto& intent : pending) {
    CAIRN_TRY_ASSIGN(auto mined, find_receipt(*intent));
    if (mined) {
      // Mined under one of its hashes, perhaps a fee bump: done, never sent again.
      journal_remove(*intent);
      receipts.push_back(std::move(*mined));
      continue;
    }
    CAIRN_TRY_ASSIGN(std::uint64_t used, rpc_.transaction_count(intent->from, "latest"));
    if (used > intent->nonce()) {
      log::warn("dropping journaled {}: another transaction used its nonce", describe(*intent));
      journal_remove(*intent);
      continue;
    }
    nonces_.adopt(intent->current());
    remember_intent(intent);
    auto known = rpc_.call("eth_getTransactionByHash",
                           nlohmann::json::array({to_data(intent->current().hash)}));
    // Ganache answers a copy of a pooled transaction as "underpriced": only send what the
    // node lacks.
    if (!known || known->is_null()) rebroadcast(*intent);
    auto receipt = watch(intent, nullptr);
    if (!receipt && receipt.error().code == Errc::conflict) {
      log::warn("dropping journaled transaction: {}", receipt.error().message);
      continue;
    }
    if (!receipt) return std::unexpected(std::move(receipt).error());
    receipts.push_back(std::move(*receipt));
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

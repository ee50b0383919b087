#pragma once
// Ethereum JSON-RPC over HTTP(S), on net::Client. Every answer is checked before use: a
// malformed answer, a node that goes away, or the wrong chain gives a clear error naming
// the node (its URL redacted: RPC URLs carry API keys) and the method. Reads (eth_call,
// eth_getLogs, eth_blockNumber, ...) are retried with backoff after transient failures
// (connection refused or reset, timeouts, HTTP 429/5xx); eth_sendRawTransaction and other
// writes are sent once — the transaction sender has its own recovery. Every answer is
// capped at RpcOptions::max_response_bytes.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "chain/address.hpp"
#include "chain/u256.hpp"

namespace cairn::chain {

struct RpcOptions {
  std::chrono::milliseconds timeout{10000};  // to connect, and between bytes of an answer
  int attempts = 4;                          // 1 + retries, for transient failures of reads
  std::chrono::milliseconds first_backoff{100};
  // The largest answer accepted (eth_getLogs over a wide range can be large).
  std::size_t max_response_bytes = 64u << 20;
};

// A JSON-RPC error object the node answered with (the node understood and refused).
struct RpcErrorObject {
  std::int64_t code = 0;
  std::string message;
  nlohmann::json data;
  // The revert payload when the error is an execution revert (0x-hex in data).
  std::optional<Bytes> revert_data() const;
};

struct Log {
  Address address;
  std::vector<ByteArray<32>> topics;
  Bytes data;
  std::uint64_t block_number = 0;
  ByteArray<32> block_hash{};
  ByteArray<32> transaction_hash{};
  std::uint64_t log_index = 0;
  bool removed = false;
};

struct Receipt {
  ByteArray<32> transaction_hash{};
  std::uint64_t block_number = 0;
  ByteArray<32> block_hash{};
  bool success = false;
  std::uint64_t gas_used = 0;
  U256 effective_gas_price;
  std::optional<Address> contract_address;
  std::vector<Log> logs;
};

struct BlockHeader {
  std::uint64_t number = 0;
  ByteArray<32> hash{};
  ByteArray<32> parent_hash{};
  std::uint64_t timestamp = 0;
  std::optional<U256> base_fee;  // absent before London
};

struct CallRequest {
  std::optional<Address> from;
  std::optional<Address> to;
  Bytes data;
  U256 value;
  std::optional<std::uint64_t> gas;
};

// eth_call's answer: the return data, or the revert data when execution reverted.
struct CallOutcome {
  bool reverted = false;
  Bytes data;
  std::string node_message;  // the node's words for a revert ("execution reverted: …")
};

struct LogFilter {
  std::vector<Address> addresses;
  std::optional<std::uint64_t> from_block;
  std::optional<std::uint64_t> to_block;
  std::optional<ByteArray<32>> block_hash;  // EIP-234: the logs of exactly this block
  std::vector<std::optional<ByteArray<32>>> topics;
};

struct FeeHistory {
  std::vector<U256> base_fees;  // one per block, plus the next block's
  std::vector<U256> median_rewards;
};

class RpcClient {
 public:
  // `url`: http(s)://[userinfo@]host[:port][/path] (net::Url).
  [[nodiscard]] static Result<RpcClient> create(std::string url, RpcOptions options = {});

  // As given (may carry an API key: for messages use redacted_url()).
  const std::string& url() const { return url_; }
  // scheme://host:port plus "/…" when there is a path: safe for logs and messages.
  const std::string& redacted_url() const { return redacted_; }

  // A raw call: the result, or Errc::rejected carrying the node's error object (also in
  // `error_out` when given).
  Result<nlohmann::json> call(std::string_view method, nlohmann::json params,
                              RpcErrorObject* error_out = nullptr) const;

  Result<std::uint64_t> chain_id() const;
  // Fails with Errc::conflict unless the node serves `expected`.
  Status expect_chain_id(std::uint64_t expected) const;
  Result<std::uint64_t> block_number() const;
  Result<BlockHeader> block(std::optional<std::uint64_t> number) const;  // nullopt: latest
  Result<U256> balance(const Address& address) const;
  // Counts pending transactions too: the next nonce to use.
  Result<std::uint64_t> transaction_count(const Address& address,
                                          std::string_view block = "pending") const;
  Result<Bytes> code(const Address& address) const;
  Result<U256> gas_price() const;
  Result<U256> max_priority_fee_per_gas() const;
  Result<FeeHistory> fee_history(std::uint64_t blocks, double reward_percentile) const;
  Result<std::uint64_t> estimate_gas(const CallRequest& request,
                                     RpcErrorObject* error_out = nullptr) const;
  Result<CallOutcome> eth_call(const CallRequest& request, std::string_view block = "latest") const;
  Result<ByteArray<32>> send_raw_transaction(ByteView raw,
                                             RpcErrorObject* error_out = nullptr) const;
  Result<std::optional<Receipt>> receipt(const ByteArray<32>& transaction_hash) const;
  Result<std::vector<Log>> logs(const LogFilter& filter) const;

 private:
  // net::Client is neither copyable nor concurrent (it serialises its requests): copies of
  // an RpcClient share a pool of clients, and each call takes one that is idle.
  class Pool;
  RpcClient(std::string url, std::shared_ptr<Pool> pool);

  std::string url_;
  std::string redacted_;
  std::shared_ptr<Pool> pool_;
};

// Helpers for JSON-RPC values, strict about their shape.
Result<U256> parse_quantity(const nlohmann::json& value, std::string_view what);
Result<std::uint64_t> parse_quantity_u64(const nlohmann::json& value, std::string_view what);
Result<Bytes> parse_data(const nlohmann::json& value, std::string_view what);
Result<ByteArray<32>> parse_hash(const nlohmann::json& value, std::string_view what);
Result<Address> parse_address(const nlohmann::json& value, std::string_view what);
Result<Log> parse_log(const nlohmann::json& value);
Result<Receipt> parse_receipt(const nlohmann::json& value);
Result<std::vector<Log>> parse_logs(const nlohmann::json& value);
Result<BlockHeader> parse_block_header(const nlohmann::json& value);
Result<FeeHistory> parse_fee_history(const nlohmann::json& value);
std::string to_quantity(const U256& value);
std::string to_data(ByteView bytes);

// The JSON-RPC 2.0 envelope of an answer `body` to request `id`: the result, Errc::rejected
// with the node's error object (also in `error_out`), or Errc::parse naming what is wrong.
// `where` names the call in messages ("eth_call on http://host:8545/…"). A body that is
// not JSON is described by `content_type` and its size, never quoted.
[[nodiscard]] Result<nlohmann::json> decode_rpc_answer(std::string_view body,
                                                       std::string_view content_type,
                                                       std::uint64_t id, std::string_view where,
                                                       RpcErrorObject* error_out = nullptr);
// Whether the HTTP layer may repeat `method` after a transient failure: eth_* reads and
// net_/web3_ queries, never eth_sendRawTransaction or another write.
bool rpc_method_is_idempotent(std::string_view method);

}  // namespace cairn::chain

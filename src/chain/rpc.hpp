#pragma once
// Ethereum JSON-RPC over HTTP(S). Every answer is checked before use: a malformed answer,
// a node that goes away, or the wrong chain gives a clear error naming the node and the
// method. Transient failures (connection refused or reset, timeouts, HTTP 429/5xx) are
// retried with exponential backoff.
#include <chrono>
#include <cstdint>
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
  std::chrono::milliseconds timeout{10000};
  int attempts = 4;  // 1 + retries, for transient failures
  std::chrono::milliseconds first_backoff{100};
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
  // `url`: http(s)://host[:port][/path].
  static Result<RpcClient> create(std::string url, RpcOptions options = {});

  const std::string& url() const { return url_; }

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
  RpcClient(std::string url, std::string host_part, std::string path, RpcOptions options)
      : url_(std::move(url)),
        host_part_(std::move(host_part)),
        path_(std::move(path)),
        options_(options) {}
  Result<nlohmann::json> post_once(const std::string& body, bool& transient) const;

  std::string url_;
  std::string host_part_;  // scheme://host:port
  std::string path_;
  RpcOptions options_;
};

// Helpers for JSON-RPC values, strict about their shape.
Result<U256> parse_quantity(const nlohmann::json& value, std::string_view what);
Result<std::uint64_t> parse_quantity_u64(const nlohmann::json& value, std::string_view what);
Result<Bytes> parse_data(const nlohmann::json& value, std::string_view what);
Result<ByteArray<32>> parse_hash(const nlohmann::json& value, std::string_view what);
Result<Address> parse_address(const nlohmann::json& value, std::string_view what);
Result<Log> parse_log(const nlohmann::json& value);
Result<Receipt> parse_receipt(const nlohmann::json& value);
std::string to_quantity(const U256& value);
std::string to_data(ByteView bytes);

}  // namespace cairn::chain

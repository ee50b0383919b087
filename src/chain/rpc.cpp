#include "chain/rpc.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#include "base/encoding.hpp"
#include "net/client.hpp"
#include "net/url.hpp"

namespace cairn::chain {
namespace {

using nlohmann::json;

std::atomic<std::uint64_t> next_request_id{1};

json call_object(const CallRequest& request) {
  json object = json::object();
  if (request.from) object["from"] = request.from->to_lower_hex();
  if (request.to) object["to"] = request.to->to_lower_hex();
  object["data"] = to_data(request.data);
  object["input"] = to_data(request.data);
  if (!request.value.is_zero()) object["value"] = to_quantity(request.value);
  if (request.gas) object["gas"] = to_quantity(U256(*request.gas));
  return object;
}

}  // namespace

class RpcClient::Pool {
 public:
  Pool(net::Url url, net::ClientOptions options)
      : url_(std::move(url)), options_(std::move(options)) {}

  // A client for one call, returned to the pool when the call is done.
  struct Lease {
    Pool* pool;
    std::unique_ptr<net::Client> client;
    ~Lease() {
      if (client) pool->give_back(std::move(client));
    }
    net::Client* operator->() const { return client.get(); }
  };
  Lease take() {
    {
      std::lock_guard guard(mutex_);
      if (!idle_.empty()) {
        auto client = std::move(idle_.back());
        idle_.pop_back();
        return Lease{this, std::move(client)};
      }
    }
    return Lease{this, std::make_unique<net::Client>(url_, options_)};
  }

 private:
  void give_back(std::unique_ptr<net::Client> client) {
    std::lock_guard guard(mutex_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(client));
  }
  static constexpr std::size_t kMaxIdle = 8;
  net::Url url_;
  net::ClientOptions options_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<net::Client>> idle_;
};

RpcClient::RpcClient(std::string url, std::shared_ptr<Pool> pool)
    : url_(std::move(url)), pool_(std::move(pool)) {}

Result<RpcClient> RpcClient::create(std::string url, RpcOptions options) {
  auto parsed = net::Url::parse(url);
  if (!parsed) return std::unexpected(std::move(parsed).error().context("rpc url"));
  net::ClientOptions client;
  client.connect_timeout = options.timeout;
  client.read_timeout = options.timeout;
  client.write_timeout = options.timeout;
  client.retries = std::max(0, options.attempts - 1);
  client.backoff = options.first_backoff;
  client.max_backoff = std::max(options.first_backoff, std::chrono::milliseconds(5'000));
  // Every attempt may take its timeout, and the pauses between them their backoff.
  client.deadline = options.timeout * std::max(1, options.attempts) +
                    client.max_backoff * std::max(0, options.attempts - 1);
  client.max_response_bytes = options.max_response_bytes;
  const std::string redacted = parsed->redacted();
  RpcClient rpc(std::move(url), std::make_shared<Pool>(*parsed, std::move(client)));
  rpc.redacted_ = redacted;
  return rpc;
}

Result<json> RpcClient::call(std::string_view method, json params,
                             RpcErrorObject* error_out) const {
  const std::uint64_t id = next_request_id.fetch_add(1);
  const json request = {
      {"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
  auto client = pool_->take();
  auto answer =
      client->post("", request.dump(), "application/json", rpc_method_is_idempotent(method));
  if (!answer) return std::unexpected(std::move(answer).error().context(method));
  return decode_rpc_answer(answer->body, answer->content_type(), id,
                           std::string(method) + " on " + redacted_, error_out);
}

Result<std::uint64_t> RpcClient::chain_id() const {
  CAIRN_TRY_ASSIGN(json result, call("eth_chainId", json::array()));
  return parse_quantity_u64(result, "eth_chainId");
}

Status RpcClient::expect_chain_id(std::uint64_t expected) const {
  CAIRN_TRY_ASSIGN(std::uint64_t actual, chain_id());
  if (actual != expected) {
    return fail(Errc::conflict, "wrong chain: node " + redacted_ + " serves chain id " +
                                    std::to_string(actual) + ", expected " +
                                    std::to_string(expected));
  }
  return {};
}

Result<std::uint64_t> RpcClient::block_number() const {
  CAIRN_TRY_ASSIGN(json result, call("eth_blockNumber", json::array()));
  return parse_quantity_u64(result, "eth_blockNumber");
}

Result<BlockHeader> RpcClient::block(std::optional<std::uint64_t> number) const {
  const json tag = number ? json(to_quantity(U256(*number))) : json("latest");
  CAIRN_TRY_ASSIGN(json result, call("eth_getBlockByNumber", json::array({tag, false})));
  if (result.is_null())
    return fail(Errc::not_found, "block " + tag.get<std::string>() + " does not exist (yet)");
  CAIRN_TRY_ASSIGN(BlockHeader header, parse_block_header(result));
  if (number && header.number != *number) {
    return fail(Errc::parse, "eth_getBlockByNumber: asked for block " + std::to_string(*number) +
                                 ", got " + std::to_string(header.number));
  }
  return header;
}

Result<U256> RpcClient::balance(const Address& address) const {
  CAIRN_TRY_ASSIGN(json result,
                   call("eth_getBalance", json::array({address.to_lower_hex(), "latest"})));
  return parse_quantity(result, "eth_getBalance");
}

Result<std::uint64_t> RpcClient::transaction_count(const Address& address,
                                                   std::string_view block) const {
  CAIRN_TRY_ASSIGN(json result,
                   call("eth_getTransactionCount", json::array({address.to_lower_hex(), block})));
  return parse_quantity_u64(result, "eth_getTransactionCount");
}

Result<Bytes> RpcClient::code(const Address& address) const {
  CAIRN_TRY_ASSIGN(json result,
                   call("eth_getCode", json::array({address.to_lower_hex(), "latest"})));
  return parse_data(result, "eth_getCode");
}

Result<U256> RpcClient::gas_price() const {
  CAIRN_TRY_ASSIGN(json result, call("eth_gasPrice", json::array()));
  return parse_quantity(result, "eth_gasPrice");
}

Result<U256> RpcClient::max_priority_fee_per_gas() const {
  CAIRN_TRY_ASSIGN(json result, call("eth_maxPriorityFeePerGas", json::array()));
  return parse_quantity(result, "eth_maxPriorityFeePerGas");
}

Result<FeeHistory> RpcClient::fee_history(std::uint64_t blocks, double reward_percentile) const {
  CAIRN_TRY_ASSIGN(json result,
                   call("eth_feeHistory", json::array({to_quantity(U256(blocks)), "latest",
                                                       json::array({reward_percentile})})));
  return parse_fee_history(result);
}

Result<std::uint64_t> RpcClient::estimate_gas(const CallRequest& request,
                                              RpcErrorObject* error_out) const {
  CAIRN_TRY_ASSIGN(json result,
                   call("eth_estimateGas", json::array({call_object(request)}), error_out));
  return parse_quantity_u64(result, "eth_estimateGas");
}

Result<CallOutcome> RpcClient::eth_call(const CallRequest& request, std::string_view block) const {
  RpcErrorObject error;
  auto result = call("eth_call", json::array({call_object(request), block}), &error);
  CallOutcome outcome;
  if (!result) {
    if (result.error().code != Errc::rejected) return std::unexpected(result.error());
    auto revert = error.revert_data();
    // A node error without revert data (bad params, unknown block) is a real failure.
    if (!revert && error.message.find("revert") == std::string::npos)
      return std::unexpected(result.error());
    outcome.reverted = true;
    outcome.data = revert.value_or(Bytes{});
    outcome.node_message = error.message;
    return outcome;
  }
  CAIRN_TRY_ASSIGN(outcome.data, parse_data(*result, "eth_call"));
  return outcome;
}

Result<ByteArray<32>> RpcClient::send_raw_transaction(ByteView raw,
                                                      RpcErrorObject* error_out) const {
  CAIRN_TRY_ASSIGN(json result,
                   call("eth_sendRawTransaction", json::array({to_data(raw)}), error_out));
  return parse_hash(result, "eth_sendRawTransaction");
}

Result<std::optional<Receipt>> RpcClient::receipt(const ByteArray<32>& transaction_hash) const {
  CAIRN_TRY_ASSIGN(json result,
                   call("eth_getTransactionReceipt", json::array({to_data(transaction_hash)})));
  if (result.is_null()) return std::optional<Receipt>{};
  CAIRN_TRY_ASSIGN(Receipt r, parse_receipt(result));
  if (r.transaction_hash != transaction_hash) {
    return fail(Errc::parse, "eth_getTransactionReceipt: receipt is for another transaction");
  }
  return std::optional<Receipt>(std::move(r));
}

Result<std::vector<Log>> RpcClient::logs(const LogFilter& filter) const {
  json object = json::object();
  if (!filter.addresses.empty()) {
    json list = json::array();
    for (const auto& a : filter.addresses)
      list.push_back(a.to_lower_hex());
    object["address"] = list;
  }
  if (filter.block_hash) {
    object["blockHash"] = to_data(*filter.block_hash);
  } else {
    if (filter.from_block) object["fromBlock"] = to_quantity(U256(*filter.from_block));
    if (filter.to_block) object["toBlock"] = to_quantity(U256(*filter.to_block));
  }
  if (!filter.topics.empty()) {
    json topics = json::array();
    for (const auto& t : filter.topics)
      topics.push_back(t ? json(to_data(*t)) : json());
    object["topics"] = topics;
  }
  CAIRN_TRY_ASSIGN(json result, call("eth_getLogs", json::array({object})));
  return parse_logs(result);
}

}  // namespace cairn::chain

#include "chain/rpc.hpp"

#include <httplib.h>

#include <atomic>
#include <thread>

#include "base/encoding.hpp"

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

std::string describe(const RpcErrorObject& error) {
  return error.message + " (JSON-RPC error " + std::to_string(error.code) + ")";
}

}  // namespace

std::optional<Bytes> RpcErrorObject::revert_data() const {
  // geth, anvil and besu put the payload in `data` as a hex string; some nodes nest it.
  const json* candidate = &data;
  if (data.is_object() && data.contains("data")) candidate = &data["data"];
  if (!candidate->is_string()) return std::nullopt;
  auto bytes = from_hex(candidate->get<std::string>(), true);
  if (!bytes) return std::nullopt;
  return *bytes;
}

std::string to_quantity(const U256& value) {
  return value.to_hex();
}
std::string to_data(ByteView bytes) {
  return "0x" + to_hex(bytes);
}

Result<U256> parse_quantity(const json& value, std::string_view what) {
  if (!value.is_string())
    return fail(Errc::parse, std::string(what) + " is not a hex quantity string");
  const auto text = value.get<std::string>();
  if (!text.starts_with("0x") || text.size() < 3) {
    return fail(Errc::parse, std::string(what) + " '" + text + "' is not a 0x-prefixed quantity");
  }
  auto parsed = U256::parse(text);
  if (!parsed) return fail(Errc::parse, std::string(what) + ": " + parsed.error().message);
  return parsed;
}

Result<std::uint64_t> parse_quantity_u64(const json& value, std::string_view what) {
  CAIRN_TRY_ASSIGN(U256 v, parse_quantity(value, what));
  if (!v.fits_u64()) return fail(Errc::parse, std::string(what) + " does not fit in 64 bits");
  return v.low64();
}

Result<Bytes> parse_data(const json& value, std::string_view what) {
  if (!value.is_string()) return fail(Errc::parse, std::string(what) + " is not a hex data string");
  const auto text = value.get<std::string>();
  if (!text.starts_with("0x")) return fail(Errc::parse, std::string(what) + " is not 0x-prefixed");
  auto bytes = from_hex(std::string_view(text).substr(2));
  if (!bytes) return fail(Errc::parse, std::string(what) + " is not valid hex");
  return *bytes;
}

Result<ByteArray<32>> parse_hash(const json& value, std::string_view what) {
  CAIRN_TRY_ASSIGN(Bytes bytes, parse_data(value, what));
  if (bytes.size() != 32) return fail(Errc::parse, std::string(what) + " is not 32 bytes");
  ByteArray<32> out;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

Result<Address> parse_address(const json& value, std::string_view what) {
  if (!value.is_string()) return fail(Errc::parse, std::string(what) + " is not an address string");
  auto text = value.get<std::string>();
  // Nodes may answer in checksum or lower case; the checksum is not ours to enforce here.
  for (auto& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto parsed = Address::parse(text);
  if (!parsed) return fail(Errc::parse, std::string(what) + ": " + parsed.error().message);
  return parsed;
}

Result<Log> parse_log(const json& value) {
  if (!value.is_object()) return fail(Errc::parse, "log is not an object");
  Log log;
  CAIRN_TRY_ASSIGN(log.address, parse_address(value.value("address", json()), "log.address"));
  if (!value.contains("topics") || !value["topics"].is_array())
    return fail(Errc::parse, "log.topics is not an array");
  if (value["topics"].size() > 4) return fail(Errc::parse, "log has more than 4 topics");
  for (const auto& topic : value["topics"]) {
    CAIRN_TRY_ASSIGN(auto t, parse_hash(topic, "log topic"));
    log.topics.push_back(t);
  }
  CAIRN_TRY_ASSIGN(log.data, parse_data(value.value("data", json()), "log.data"));
  CAIRN_TRY_ASSIGN(log.block_number,
                   parse_quantity_u64(value.value("blockNumber", json()), "log.blockNumber"));
  CAIRN_TRY_ASSIGN(log.block_hash, parse_hash(value.value("blockHash", json()), "log.blockHash"));
  CAIRN_TRY_ASSIGN(log.transaction_hash,
                   parse_hash(value.value("transactionHash", json()), "log.transactionHash"));
  CAIRN_TRY_ASSIGN(log.log_index,
                   parse_quantity_u64(value.value("logIndex", json()), "log.logIndex"));
  log.removed = value.value("removed", false);
  return log;
}

Result<Receipt> parse_receipt(const json& value) {
  if (!value.is_object()) return fail(Errc::parse, "receipt is not an object");
  Receipt receipt;
  CAIRN_TRY_ASSIGN(receipt.transaction_hash,
                   parse_hash(value.value("transactionHash", json()), "receipt.transactionHash"));
  CAIRN_TRY_ASSIGN(receipt.block_number,
                   parse_quantity_u64(value.value("blockNumber", json()), "receipt.blockNumber"));
  CAIRN_TRY_ASSIGN(receipt.block_hash,
                   parse_hash(value.value("blockHash", json()), "receipt.blockHash"));
  CAIRN_TRY_ASSIGN(std::uint64_t status,
                   parse_quantity_u64(value.value("status", json()), "receipt.status"));
  if (status > 1) return fail(Errc::parse, "receipt.status is neither 0 nor 1");
  receipt.success = status == 1;
  CAIRN_TRY_ASSIGN(receipt.gas_used,
                   parse_quantity_u64(value.value("gasUsed", json()), "receipt.gasUsed"));
  if (value.contains("effectiveGasPrice")) {
    CAIRN_TRY_ASSIGN(receipt.effective_gas_price,
                     parse_quantity(value["effectiveGasPrice"], "receipt.effectiveGasPrice"));
  }
  if (value.contains("contractAddress") && !value["contractAddress"].is_null()) {
    CAIRN_TRY_ASSIGN(auto a, parse_address(value["contractAddress"], "receipt.contractAddress"));
    receipt.contract_address = a;
  }
  if (!value.contains("logs") || !value["logs"].is_array())
    return fail(Errc::parse, "receipt.logs is not an array");
  for (const auto& l : value["logs"]) {
    CAIRN_TRY_ASSIGN(Log log, parse_log(l));
    receipt.logs.push_back(std::move(log));
  }
  return receipt;
}

Result<RpcClient> RpcClient::create(std::string url, RpcOptions options) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos ||
      (!url.starts_with("http://") && !url.starts_with("https://"))) {
    return fail(Errc::invalid_argument,
                "rpc url '" + url + "' must start with http:// or https://");
  }
  const auto path_start = url.find('/', scheme_end + 3);
  std::string host_part = path_start == std::string::npos ? url : url.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (host_part.size() <= scheme_end + 3)
    return fail(Errc::invalid_argument, "rpc url '" + url + "' has no host");
  return RpcClient(std::move(url), std::move(host_part), std::move(path), options);
}

Result<json> RpcClient::post_once(const std::string& body, bool& transient) const {
  transient = false;
  httplib::Client client(host_part_);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options_.timeout).count();
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.timeout).count() % 1000000;
  client.set_connection_timeout(seconds, micros);
  client.set_read_timeout(seconds, micros);
  client.set_write_timeout(seconds, micros);
  auto response = client.Post(path_.c_str(), body, "application/json");
  if (!response) {
    transient = true;
    return fail(Errc::unavailable, "node " + url_ + " is not reachable (" +
                                       httplib::to_string(response.error()) + ")");
  }
  if (response->status == 429 || response->status >= 500) {
    transient = true;
    return fail(Errc::unavailable,
                "node " + url_ + " answered HTTP " + std::to_string(response->status));
  }
  if (response->status != 200) {
    return fail(Errc::rejected,
                "node " + url_ + " answered HTTP " + std::to_string(response->status));
  }
  auto parsed = json::parse(response->body, nullptr, false);
  if (parsed.is_discarded()) {
    return fail(Errc::parse, "node " + url_ + " sent a malformed answer (not JSON): '" +
                                 response->body.substr(0, 80) + "'");
  }
  return parsed;
}

Result<json> RpcClient::call(std::string_view method, json params,
                             RpcErrorObject* error_out) const {
  const std::uint64_t id = next_request_id.fetch_add(1);
  const json request = {
      {"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
  const std::string body = request.dump();
  auto backoff = options_.first_backoff;
  Result<json> answer = fail(Errc::internal, "no attempt made");
  for (int attempt = 1; attempt <= std::max(1, options_.attempts); ++attempt) {
    bool transient = false;
    answer = post_once(body, transient);
    if (answer || !transient) break;
    if (attempt < options_.attempts) {
      std::this_thread::sleep_for(backoff);
      backoff *= 2;
    }
  }
  const std::string where = std::string(method) + " on " + url_;
  if (!answer) return std::unexpected(std::move(answer).error().context(method));
  const json& doc = *answer;
  if (!doc.is_object() || doc.value("jsonrpc", "") != "2.0") {
    return fail(Errc::parse,
                "malformed JSON-RPC answer to " + where + ": not a JSON-RPC 2.0 object");
  }
  if (!doc.contains("id") || doc["id"] != id) {
    return fail(Errc::parse,
                "malformed JSON-RPC answer to " + where + ": id does not match the request");
  }
  if (doc.contains("error") && !doc["error"].is_null()) {
    const json& e = doc["error"];
    if (!e.is_object() || !e.contains("code") || !e["code"].is_number_integer()) {
      return fail(Errc::parse, "malformed JSON-RPC error object from " + where);
    }
    RpcErrorObject error{e["code"].get<std::int64_t>(), e.value("message", ""),
                         e.value("data", json())};
    const std::string text = describe(error);
    if (error_out) *error_out = std::move(error);
    return fail(Errc::rejected, where + ": " + text);
  }
  if (!doc.contains("result")) {
    return fail(Errc::parse,
                "malformed JSON-RPC answer to " + where + ": neither result nor error");
  }
  return doc["result"];
}

Result<std::uint64_t> RpcClient::chain_id() const {
  CAIRN_TRY_ASSIGN(json result, call("eth_chainId", json::array()));
  return parse_quantity_u64(result, "eth_chainId");
}

Status RpcClient::expect_chain_id(std::uint64_t expected) const {
  CAIRN_TRY_ASSIGN(std::uint64_t actual, chain_id());
  if (actual != expected) {
    return fail(Errc::conflict, "wrong chain: node " + url_ + " serves chain id " +
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
  if (!result.is_object())
    return fail(Errc::parse, "eth_getBlockByNumber: answer is not an object");
  BlockHeader header;
  CAIRN_TRY_ASSIGN(header.number,
                   parse_quantity_u64(result.value("number", json()), "block.number"));
  CAIRN_TRY_ASSIGN(header.hash, parse_hash(result.value("hash", json()), "block.hash"));
  CAIRN_TRY_ASSIGN(header.parent_hash,
                   parse_hash(result.value("parentHash", json()), "block.parentHash"));
  CAIRN_TRY_ASSIGN(header.timestamp,
                   parse_quantity_u64(result.value("timestamp", json()), "block.timestamp"));
  if (result.contains("baseFeePerGas") && !result["baseFeePerGas"].is_null()) {
    CAIRN_TRY_ASSIGN(auto fee, parse_quantity(result["baseFeePerGas"], "block.baseFeePerGas"));
    header.base_fee = fee;
  }
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
  if (!result.is_object() || !result.contains("baseFeePerGas") ||
      !result["baseFeePerGas"].is_array()) {
    return fail(Errc::parse, "eth_feeHistory: answer has no baseFeePerGas array");
  }
  FeeHistory history;
  for (const auto& fee : result["baseFeePerGas"]) {
    CAIRN_TRY_ASSIGN(auto f, parse_quantity(fee, "eth_feeHistory.baseFeePerGas"));
    history.base_fees.push_back(f);
  }
  if (result.contains("reward") && result["reward"].is_array()) {
    for (const auto& row : result["reward"]) {
      if (!row.is_array() || row.empty())
        return fail(Errc::parse, "eth_feeHistory: malformed reward row");
      CAIRN_TRY_ASSIGN(auto r, parse_quantity(row[0], "eth_feeHistory.reward"));
      history.median_rewards.push_back(r);
    }
  }
  return history;
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
  if (!result.is_array()) return fail(Errc::parse, "eth_getLogs: answer is not an array");
  std::vector<Log> out;
  for (const auto& item : result) {
    auto log = parse_log(item);
    if (!log) return std::unexpected(std::move(log).error().context("eth_getLogs"));
    out.push_back(std::move(*log));
  }
  return out;
}

}  // namespace cairn::chain

// The pure half of the JSON-RPC client: the answer envelope and the decoders of quantities,
// data, logs and receipts. No I/O, so that the fuzz build (which has no HTTP client) links
// it and fuzz_jsonrpc_response exercises exactly what the client runs.
#include <algorithm>
#include <cctype>

#include "base/encoding.hpp"
#include "base/json.hpp"
#include "chain/rpc.hpp"

namespace cairn::chain {
namespace {

using nlohmann::json;

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
  if (value.contains("removed")) {
    if (!value["removed"].is_boolean()) return fail(Errc::parse, "log.removed is not a boolean");
    log.removed = value["removed"].get<bool>();
  }
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

Result<json> decode_rpc_answer(std::string_view body, std::string_view content_type,
                               std::uint64_t id, std::string_view where,
                               RpcErrorObject* error_out) {
  // The strict reader: no exceptions, and a depth cap (a deeply nested answer would otherwise
  // recurse the parser off the stack).
  auto parsed = parse_json(body, "the JSON-RPC answer");
  if (!parsed) {
    // Never the body itself: it may be a proxy's HTML page, or anything at all.
    return fail(Errc::parse, std::string(where) + " sent a malformed answer (not JSON: " +
                                 (content_type.empty() ? std::string("no content type")
                                                       : std::string(content_type.substr(0, 80))) +
                                 ", " + std::to_string(body.size()) + " bytes)");
  }
  json& doc = *parsed;
  if (!doc.is_object() || !doc.contains("jsonrpc") || doc["jsonrpc"] != "2.0") {
    return fail(Errc::parse, "malformed JSON-RPC answer from " + std::string(where) +
                                 ": not a JSON-RPC 2.0 object");
  }
  if (!doc.contains("id") || doc["id"] != id) {
    return fail(Errc::parse, "malformed JSON-RPC answer from " + std::string(where) +
                                 ": id does not match the request");
  }
  if (doc.contains("error") && !doc["error"].is_null()) {
    const json& e = doc["error"];
    if (!e.is_object() || !e.contains("code") || !e["code"].is_number_integer()) {
      return fail(Errc::parse, "malformed JSON-RPC error object from " + std::string(where));
    }
    RpcErrorObject error{e["code"].get<std::int64_t>(),
                         e.contains("message") && e["message"].is_string()
                             ? e["message"].get<std::string>()
                             : std::string(),
                         e.contains("data") ? e["data"] : json()};
    const std::string text = describe(error);
    if (error_out) *error_out = std::move(error);
    return fail(Errc::rejected, std::string(where) + ": " + text);
  }
  if (!doc.contains("result")) {
    return fail(Errc::parse, "malformed JSON-RPC answer from " + std::string(where) +
                                 ": neither result nor error");
  }
  return std::move(doc["result"]);
}

Result<std::vector<Log>> parse_logs(const json& value) {
  if (!value.is_array()) return fail(Errc::parse, "eth_getLogs: answer is not an array");
  std::vector<Log> out;
  out.reserve(value.size());
  for (const auto& item : value) {
    auto log = parse_log(item);
    if (!log) return std::unexpected(std::move(log).error().context("eth_getLogs"));
    out.push_back(std::move(*log));
  }
  return out;
}

Result<BlockHeader> parse_block_header(const json& result) {
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
  return header;
}

Result<FeeHistory> parse_fee_history(const json& result) {
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

bool rpc_method_is_idempotent(std::string_view method) {
  // Writes, and anything a test chain's own namespace does (anvil_mine, evm_snapshot), are
  // never repeated by the HTTP layer; the sender has its own recovery for transactions.
  static constexpr std::string_view kWrites[] = {"eth_sendRawTransaction",
                                                 "eth_sendTransaction",
                                                 "eth_sign",
                                                 "eth_signTransaction",
                                                 "eth_signTypedData",
                                                 "eth_newFilter",
                                                 "eth_newBlockFilter",
                                                 "eth_newPendingTransactionFilter",
                                                 "eth_uninstallFilter"};
  if (std::find(std::begin(kWrites), std::end(kWrites), method) != std::end(kWrites)) return false;
  return method.starts_with("eth_") || method == "net_version" || method == "net_listening" ||
         method == "web3_clientVersion";
}

}  // namespace cairn::chain

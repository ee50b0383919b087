// JSON-RPC answers as a node (or anything pretending to be one) sends them: the envelope,
// then every decoder the chain client runs on a result (receipts, logs, block headers, fee
// history, quantities, data, hashes, addresses). Whatever the bytes: an answer or an error
// with a message, never a crash, an exception or an over-read.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chain/rpc.hpp"

namespace {

template <typename T>
void check(const cairn::Result<T>& result) {
  if (!result && result.error().message.empty()) __builtin_trap();
}

void decode_all(const nlohmann::json& value) {
  using namespace cairn::chain;
  check(parse_receipt(value));
  check(parse_logs(value));
  check(parse_log(value));
  check(parse_block_header(value));
  check(parse_fee_history(value));
  check(parse_quantity(value, "q"));
  check(parse_quantity_u64(value, "q"));
  check(parse_data(value, "d"));
  check(parse_hash(value, "h"));
  check(parse_address(value, "a"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  cairn::chain::RpcErrorObject error;
  const auto answer = cairn::chain::decode_rpc_answer(body, "application/json", 1, "fuzz", &error);
  if (answer) {
    decode_all(*answer);
  } else {
    if (answer.error().message.empty()) __builtin_trap();
    if (answer.error().code == cairn::Errc::rejected) {
      (void)error.revert_data();
    } else if (answer.error().code != cairn::Errc::parse) {
      __builtin_trap();
    }
    // A body that is not JSON (an HTML page) is described, never quoted.
    if (body.find("<html") != std::string_view::npos &&
        answer.error().message.find("<html") != std::string::npos) {
      __builtin_trap();
    }
  }
  return 0;
}

// The transaction journal's reader (declared in chain/sender.hpp). A translation unit of its
// own, so that it links without the RPC client (the fuzz build has no HTTP client).
#include <fmt/format.h>

#include "base/encoding.hpp"
#include "base/json.hpp"
#include "chain/sender.hpp"

namespace cairn::chain {

Result<std::vector<SignedTransaction>> parse_transaction_journal(ByteView bytes, bool legacy_entry,
                                                                 std::string_view where_file) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<SignedTransaction> versions;
  std::size_t start = 0;
  int line_number = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    if (end == std::string_view::npos) break;  // torn by a crash before the broadcast
    ++line_number;
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    const std::string where = fmt::format("journal entry {} line {}", where_file, line_number);
    Bytes raw;
    if (legacy_entry) {
      auto hex = from_hex(line);
      if (!hex) return fail(Errc::parse, where + " is not hex");
      raw = std::move(*hex);
    } else {
      CAIRN_TRY_ASSIGN(auto doc, parse_json(line, where));
      CAIRN_TRY_ASSIGN(auto object, JsonObject::of(doc, where));
      CAIRN_TRY_ASSIGN(auto raw_node, object.required("raw"));
      CAIRN_TRY_ASSIGN(raw, raw_node.hex_bytes());
      CAIRN_TRY(object.close());
    }
    auto decoded = decode_signed_transaction(raw);
    if (!decoded) return std::unexpected(std::move(decoded).error().context(where));
    versions.push_back(std::move(*decoded));
  }
  return versions;
}

}  // namespace cairn::chain

// The data market's schema: what a buyer reads before paying and checks the delivery
// against. A translation unit of its own, so that the schema's reader (a parser of what a
// peer sends) links without the store or the chain (the fuzz build).
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/json.hpp"
#include "crypto/hash.hpp"
#include "market/artifacts.hpp"
#include "market/data_exchange.hpp"

namespace cairn::market {

using nlohmann::json;

namespace {

// A schema is a few hundred bytes; a peer's may not be more than this.
constexpr std::size_t kSchemaCap = 64 * 1024;

}  // namespace

// ---- the schema ----

DataSchema DataSchema::describe(std::string name, ByteView content, std::string description,
                                const chain::U256& price, const chain::Address& provider) {
  return {std::move(name),        content.size(), crypto::sha256(content),
          std::move(description), price,          provider};
}

std::string DataSchema::to_json() const {
  return json{{"name", name},
              {"size", size},
              {"sha256", to_hex(sha256)},
              {"description", description},
              {"price", price.to_decimal()},
              {"provider", provider.to_checksum()}}
      .dump();
}

Result<DataSchema> DataSchema::parse(ByteView text) {
  if (text.size() > kSchemaCap) {
    return fail(Errc::parse,
                fmt::format("the schema: {} bytes, more than {}", text.size(), kSchemaCap));
  }
  CAIRN_TRY_ASSIGN(const json document, parse_json(text, "the schema"));
  CAIRN_TRY_ASSIGN(JsonObject top, JsonObject::of(document, "schema"));
  DataSchema schema;
  CAIRN_TRY_ASSIGN(schema.name, top.string("name"));
  CAIRN_TRY_ASSIGN(schema.size, top.u64("size"));
  CAIRN_TRY_ASSIGN(const JsonNode sha256, top.required("sha256"));
  CAIRN_TRY_ASSIGN(const Bytes digest, sha256.hex_bytes(32));
  std::copy(digest.begin(), digest.end(), schema.sha256.begin());
  CAIRN_TRY_ASSIGN(schema.description, top.string("description"));
  CAIRN_TRY_ASSIGN(const JsonNode price, top.required("price"));
  CAIRN_TRY_ASSIGN(schema.price, read_decimal_u256(price));
  CAIRN_TRY_ASSIGN(const JsonNode provider, top.required("provider"));
  CAIRN_TRY_ASSIGN(schema.provider, read_address(provider));
  CAIRN_TRY(top.close());
  return schema;
}

Status DataSchema::check(ByteView data) const {
  if (data.size() != size || crypto::sha256(data) != sha256) {
    return fail(
        Errc::integrity,
        fmt::format("the delivered data ({} bytes, SHA-256 {}) does not match the schema the deal "
                    "was made for ({} bytes, SHA-256 {})",
                    data.size(), to_hex(crypto::sha256(data)), size, to_hex(sha256)));
  }
  return {};
}

}  // namespace cairn::market

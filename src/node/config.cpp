#include "node/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "base/file.hpp"
#include "base/json.hpp"

namespace cairn::node {

using nlohmann::json;

namespace {

// A required string that must not be empty, and its optional form.
Result<std::string> required_text(JsonObject& object, std::string_view key) {
  CAIRN_TRY_ASSIGN(JsonNode node, object.required(key));
  return node.non_empty_string();
}
Result<std::optional<std::string>> optional_text(JsonObject& object, std::string_view key) {
  auto node = object.optional(key);
  if (!node) return std::optional<std::string>{};
  CAIRN_TRY_ASSIGN(std::string value, node->non_empty_string());
  return std::optional<std::string>{std::move(value)};
}
Result<std::optional<std::int64_t>> optional_integer(JsonObject& object, std::string_view key,
                                                     std::int64_t min, std::int64_t max) {
  auto node = object.optional(key);
  if (!node) return std::optional<std::int64_t>{};
  CAIRN_TRY_ASSIGN(std::int64_t value, node->i64(min, max));
  return std::optional<std::int64_t>{value};
}

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& text) {
  const std::filesystem::path path(text);
  return (path.is_absolute() ? path : base / path).lexically_normal();
}

// The keys of each role's object that name files; the node makes them absolute so a role
// never depends on the node's working directory.
const std::map<std::string, std::vector<std::string>>& role_path_keys() {
  static const std::map<std::string, std::vector<std::string>> keys = {
      {"data_provider", {"images", "labels"}},
      {"compute_provider", {}},
      {"model_provider", {"test_images", "test_labels", "out", "initial_model", "binary"}},
      {"aggregator", {}},
      {"auditor", {"out"}},
  };
  return keys;
}

Result<json> role_object(const std::string& kind, const json& value, const std::string& where,
                         const std::filesystem::path& base) {
  if (!value.is_object()) return fail(Errc::parse, where + ": must be an object");
  json resolved = value;
  for (const auto& key : role_path_keys().at(kind)) {
    auto it = resolved.find(key);
    if (it == resolved.end()) continue;
    if (!it->is_string() || it->get<std::string>().empty()) {
      return fail(Errc::parse, where + "." + key + ": must be a non-empty path");
    }
    *it = resolve(base, it->get<std::string>()).string();
  }
  if (kind == "model_provider") {
    // A Paillier key below 2048 bits is breakable; tests may use one only when the
    // config says, in so many words, that the key is insecure.
    bool insecure = false;
    if (auto flag = resolved.find("insecure_test_key"); flag != resolved.end()) {
      if (!flag->is_boolean()) {
        return fail(Errc::parse, where + ".insecure_test_key: must be true or false");
      }
      insecure = flag->get<bool>();
    }
    if (auto bits = resolved.find("paillier_bits"); bits != resolved.end()) {
      if (!bits->is_number_integer() || bits->get<std::int64_t>() < 256 ||
          bits->get<std::int64_t>() > 8192) {
        return fail(Errc::parse, where + ".paillier_bits: must be an integer in 256..8192");
      }
      if (bits->get<std::int64_t>() < 2048 && !insecure) {
        return fail(Errc::parse, where +
                                     ".paillier_bits: below 2048 is insecure; allowed only with "
                                     "\"insecure_test_key\": true");
      }
    }
  }
  return resolved;
}

Result<std::string> read_text(const std::filesystem::path& path) {
  return file::read_text(path, file::kSmallFileCap);
}

Result<json> parse_json_object(ByteView text, std::string_view where) {
  CAIRN_TRY_ASSIGN(json doc, parse_json(text, where));
  if (!doc.is_object()) return fail(Errc::parse, std::string(where) + ": not a JSON object");
  return doc;
}

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return fail(Errc::parse, "'" + std::string(text) + "' is not HOST:PORT");
  }
  ListenAddress address;
  address.host = std::string(text.substr(0, colon));
  const auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return fail(Errc::parse, "'" + std::string(text) + "': the port must be 0..65535");
  }
  address.port = static_cast<std::uint16_t>(port);
  return address;
}

const std::vector<std::string>& role_kinds() {
  static const std::vector<std::string> kinds = {"model_provider", "aggregator", "data_provider",
                                                 "compute_provider", "auditor"};
  return kinds;
}

Result<NodeConfig> parse_node_config(ByteView text, const std::filesystem::path& config_file) {
  const std::string file_name = config_file.string();
  auto described = [&](Result<NodeConfig> result) -> Result<NodeConfig> {
    if (!result) return std::unexpected(std::move(result).error().context(file_name));
    return result;
  };
  return described([&]() -> Result<NodeConfig> {
    CAIRN_TRY_ASSIGN(json doc, parse_json_object(text, "the node config"));
    NodeConfig config;
    config.config_file = std::filesystem::absolute(config_file).lexically_normal();
    const auto base = config.config_file.parent_path();
    CAIRN_TRY_ASSIGN(JsonObject top, JsonObject::of(doc));

    CAIRN_TRY_ASSIGN(config.name, required_text(top, "name"));
    if (config.name.size() > 64 || !std::all_of(config.name.begin(), config.name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        })) {
      return fail(Errc::parse, "name: 1..64 letters, digits, '-', '_' or '.'");
    }
    CAIRN_TRY_ASSIGN(std::string repo, required_text(top, "repo"));
    config.repo = resolve(base, repo);

    {
      CAIRN_TRY_ASSIGN(JsonObject chain, top.object("chain"));
      CAIRN_TRY_ASSIGN(config.rpc, required_text(chain, "rpc"));
      if (!config.rpc.starts_with("http://") && !config.rpc.starts_with("https://")) {
        return fail(Errc::parse, "chain.rpc: must be an http:// or https:// URL");
      }
      CAIRN_TRY_ASSIGN(std::string deployment, required_text(chain, "deployment"));
      config.deployment_file = resolve(base, deployment);
      CAIRN_TRY(chain.close());
    }
    {
      CAIRN_TRY_ASSIGN(JsonObject account, top.object("account"));
      const bool dev = account.has("dev_account");
      const bool keystore = account.has("keystore");
      if (dev == keystore) {
        return fail(Errc::parse, "account: give either dev_account or keystore with password_file");
      }
      if (dev) {
        CAIRN_TRY_ASSIGN(auto index, optional_integer(account, "dev_account", 0, 9));
        config.account.dev_account = static_cast<std::size_t>(*index);
      } else {
        CAIRN_TRY_ASSIGN(std::string file, required_text(account, "keystore"));
        config.account.keystore = resolve(base, file);
        CAIRN_TRY_ASSIGN(std::string password, required_text(account, "password_file"));
        config.account.password_file = resolve(base, password);
      }
      CAIRN_TRY(account.close());
    }
    {
      CAIRN_TRY_ASSIGN(JsonObject gateway, top.object("gateway"));
      CAIRN_TRY_ASSIGN(std::string listen, required_text(gateway, "listen"));
      auto address = parse_listen_address(listen);
      if (!address) return std::unexpected(std::move(address).error().context("gateway.listen"));
      config.gateway = *address;
      CAIRN_TRY(gateway.close());
    }
    {
      CAIRN_TRY_ASSIGN(JsonObject api, top.object("api"));
      CAIRN_TRY_ASSIGN(std::string listen, required_text(api, "listen"));
      auto address = parse_listen_address(listen);
      if (!address) return std::unexpected(std::move(address).error().context("api.listen"));
      config.api = *address;
      CAIRN_TRY_ASSIGN(std::string token_file, required_text(api, "token_file"));
      config.token_file = resolve(base, token_file);
      CAIRN_TRY(api.close());
    }
    if (top.has("seal")) {
      CAIRN_TRY_ASSIGN(JsonObject seal, top.object("seal"));
      SealConfig sealing;
      CAIRN_TRY_ASSIGN(sealing.url, optional_text(seal, "url"));
      CAIRN_TRY_ASSIGN(auto serve, optional_text(seal, "serve"));
      if (sealing.url.has_value() == serve.has_value()) {
        return fail(Errc::parse, "seal: give either url (a signing service) or serve (run one)");
      }
      if (sealing.url && !sealing.url->starts_with("http://") &&
          !sealing.url->starts_with("https://")) {
        return fail(Errc::parse, "seal.url: must be an http:// or https:// URL");
      }
      if (serve) {
        auto address = parse_listen_address(*serve);
        if (!address) return std::unexpected(std::move(address).error().context("seal.serve"));
        sealing.serve = *address;
      }
      CAIRN_TRY_ASSIGN(auto anchor, seal.optional_boolean("anchor"));
      if (anchor && !serve) return fail(Errc::parse, "seal.anchor: only with seal.serve");
      sealing.anchor = anchor.value_or(false);
      CAIRN_TRY_ASSIGN(auto round_ms, optional_integer(seal, "round_ms", 10, 60000));
      if (round_ms && !serve) return fail(Errc::parse, "seal.round_ms: only with seal.serve");
      if (round_ms) sealing.round = std::chrono::milliseconds(*round_ms);
      CAIRN_TRY(seal.close());
      config.seal = sealing;
    }
    CAIRN_TRY_ASSIGN(auto poll_ms, optional_integer(top, "poll_ms", 10, 600000));
    if (poll_ms) config.poll = std::chrono::milliseconds(*poll_ms);
    {
      CAIRN_TRY_ASSIGN(JsonObject roles, top.object("roles"));
      for (const auto& kind : role_kinds()) {
        auto value = roles.optional(kind);
        if (!value) continue;
        CAIRN_TRY_ASSIGN(config.roles[kind], role_object(kind, value->raw(), value->path(), base));
      }
      CAIRN_TRY(roles.close());
      if (config.roles.empty()) return fail(Errc::parse, "roles: the node has no role");
    }
    CAIRN_TRY(top.close());
    return config;
  }());
}

Result<NodeConfig> load_node_config(const std::filesystem::path& config_file) {
  CAIRN_TRY_ASSIGN(std::string text, read_text(config_file));
  return parse_node_config(as_bytes(text), config_file);
}

namespace {
constexpr const char* kSkeletonSealListen = "127.0.0.1:8180";
}  // namespace

json config_skeleton(const std::string& name, const std::vector<std::string>& roles,
                     std::size_t dev_account) {
  json role_objects = json::object();
  for (const auto& kind : roles) {
    if (kind == "data_provider") {
      // `cairn learn partition --out shards` writes shards/provider-K/ and shards/test/.
      role_objects[kind] = {{"images", "shards/provider-1/images.idx"},
                            {"labels", "shards/provider-1/labels.idx"},
                            {"dataset", "fashion-mnist"},
                            {"price_wei", "0"},
                            {"behaviour", "honest"}};
    } else if (kind == "compute_provider") {
      // DataTransfer escrows the compute price, so it must be above 0 (0.001 ether here).
      role_objects[kind] = {{"price_wei", "1000000000000000"}};
    } else if (kind == "model_provider") {
      role_objects[kind] = {{"model", "cnn"},
                            {"rounds", 5},
                            {"participants", 3},
                            {"reward_wei", "1000000000000000000"},
                            {"test_images", "shards/test/images.idx"},
                            {"test_labels", "shards/test/labels.idx"},
                            {"test_rows", 1000},
                            {"lr", 0.05},
                            {"epochs", 1},
                            {"batch_size", 64},
                            {"paillier_bits", 2048},
                            {"round_timeout_s", 120},
                            {"exclude_harmful", true},
                            {"out", "out"},
                            // anvil's development account 2; the aggregator node's address
                            {"aggregator", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"}};
    } else if (kind == "aggregator") {
      role_objects[kind] = {{"behaviour", "honest"}};
    } else if (kind == "auditor") {
      role_objects[kind] = {{"out", "audit"}};
    }
  }
  json config = {
      {"name", name},
      {"repo", "nodes/" + name},
      {"chain", {{"rpc", "http://127.0.0.1:8545"}, {"deployment", "deployment.json"}}},
      {"account", {{"dev_account", dev_account}}},
      {"gateway", {{"listen", "127.0.0.1:0"}}},
      {"api", {{"listen", "127.0.0.1:0"}, {"token_file", "nodes/" + name + "/api-token"}}},
      {"poll_ms", 200},
      {"roles", role_objects}};
  // The model provider's node runs the signing service on a known port; every other node
  // seals through it.
  if (std::find(roles.begin(), roles.end(), "model_provider") != roles.end()) {
    config["seal"] = {{"serve", kSkeletonSealListen}, {"anchor", true}};
  } else {
    config["seal"] = {{"url", std::string("http://") + kSkeletonSealListen}};
  }
  return config;
}

}  // namespace cairn::node

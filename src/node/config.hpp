#pragma once
// The node's configuration file (docs/node.md) and the deployment file it names.
//
// The parser is strict: an unknown key, a missing required key or a value of the wrong
// type is refused with the key's path ("roles.data_provider: …", "api.listen: …"), so a
// typo never silently falls back to a default. Relative paths are resolved against the
// directory of the configuration file, so a node behaves the same from any working
// directory. The roles' own objects are handed to the roles (market::make_role), which
// check their own keys; the node resolves the file paths it knows inside them.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "market/deployment.hpp"
#include "market/role.hpp"

namespace cairn::node {

// "HOST:PORT" with PORT 0 for any free port.
struct ListenAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
};
[[nodiscard]] Result<ListenAddress> parse_listen_address(std::string_view text);

struct AccountConfig {
  std::optional<std::size_t> dev_account;  // anvil's well-known account N (tests, demo)
  std::filesystem::path keystore;          // else a keystore v3 file ...
  std::filesystem::path password_file;     // ... opened with the password in this file
};

struct SealConfig {
  std::optional<std::string> url;      // a signing service run elsewhere
  std::optional<ListenAddress> serve;  // or this node runs one
  bool anchor = false;                 // anchor its publications on the Anchor contract
  std::chrono::milliseconds round{1000};
};

struct NodeConfig {
  std::filesystem::path config_file;  // absolute
  std::string name;
  std::filesystem::path repo;
  std::string rpc;
  std::filesystem::path deployment_file;
  AccountConfig account;
  ListenAddress gateway;
  ListenAddress api;
  std::filesystem::path token_file;
  std::optional<SealConfig> seal;  // none: the roles sign nothing
  std::chrono::milliseconds poll{200};
  std::map<std::string, nlohmann::json> roles;  // kind -> the role's object, paths resolved
};

// The role kinds a node can run, in the order a node starts them.
[[nodiscard]] const std::vector<std::string>& role_kinds();

// Parses the configuration text; `config_file` names it in messages and anchors relative
// paths (it need not exist).
[[nodiscard]] Result<NodeConfig> parse_node_config(ByteView text,
                                                   const std::filesystem::path& config_file);
[[nodiscard]] Result<NodeConfig> load_node_config(const std::filesystem::path& config_file);

// The deployment file a config names (chain.deployment) is market's (market/deployment.hpp):
// market::load_deployment reads it.

// A skeleton configuration for `cairn node init`: the given roles with the keys their
// role expects, paths relative to the config file.
[[nodiscard]] nlohmann::json config_skeleton(const std::string& name,
                                             const std::vector<std::string>& roles,
                                             std::size_t dev_account);

}  // namespace cairn::node

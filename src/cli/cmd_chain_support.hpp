#pragma once
// What the chain and data commands share: the node connection (--rpc, the deployment's
// recorded node, a `cairn chain up` anvil, or a private anvil for this command only), the
// signer (--dev-account N, --keystore FILE, --from ADDRESS), passwords, and the repo's
// chain configuration (<repo>/chain/config.json).
#include <memory>
#include <optional>
#include <string>

#include "chain/anvil.hpp"
#include "chain/sender.hpp"
#include "cli/command.hpp"
#include "market/deployment.hpp"

namespace cairn::cli::chain_support {

// Makes sure --repo is a cairn repository before anything is written into it: creates it
// (with the store's version marker, "cairn-repo 1") when missing or empty, and refuses a
// non-empty directory without the marker, exactly as the store does.
void ensure_repo(const Context& ctx);
std::filesystem::path chain_dir(const Context& ctx);     // <repo>/chain
std::filesystem::path keystore_dir(const Context& ctx);  // <repo>/keystore
// The keystore this repository holds for `address`, if any (unreadable files are skipped).
std::optional<std::filesystem::path> keystore_of(const Context& ctx, const chain::Address& address);
// The repository's deployment (<repo>/chain/config.json, market's deployment file), if any.
std::optional<market::DeploymentFile> load_config(const Context& ctx);
void save_config(const Context& ctx, const market::DeploymentFile& config);

// A running `cairn chain up` anvil: its pid and url, when the pid is still alive.
struct UpAnvil {
  pid_t pid = 0;
  std::uint16_t port = 0;
  std::string url;
};
std::optional<UpAnvil> running_anvil(const Context& ctx);

struct Connection {
  std::unique_ptr<chain::Anvil> private_anvil;  // stopped when the command ends
  std::optional<chain::RpcClient> rpc;
  std::shared_ptr<chain::TransactionSender> sender;
  std::optional<market::DeploymentFile> config;
  bool is_private() const { return private_anvil != nullptr; }
};

// --rpc URL, else the configured deployment's node, else `chain up`'s anvil, else a
// private anvil. With a deployment configured, its chain id is enforced.
Connection connect(Context& ctx, const Args& args);
// Like connect(), but fails unless a deployment is configured (`cairn chain deploy`).
Connection connect_deployed(Context& ctx, const Args& args);

std::vector<OptionSpec> connection_options();
std::vector<OptionSpec> signer_options();

// --password-file FILE, else $CAIRN_PASSWORD; a usage error without either.
std::string read_password(const Args& args);
// --dev-account N | --keystore FILE | --from ADDRESS (a keystore under <repo>/keystore);
// on the local anvil chain (31337) the default is dev account 0.
chain::Signer signer(Context& ctx, const Args& args, const Connection& connection);

// {"tx": "0x…", "block": N, "gasUsed": N}: a sent transaction in a command's --json result.
nlohmann::json tx_json(const chain::SentTransaction& tx);

}  // namespace cairn::cli::chain_support

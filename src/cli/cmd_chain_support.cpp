#include "cli/cmd_chain_support.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/json.hpp"
#include "base/process.hpp"
#include "chain/keystore.hpp"
#include "net/url.hpp"

namespace cairn::cli::chain_support {

using nlohmann::json;

void ensure_repo(const Context& ctx) {
  constexpr std::string_view kVersionLine = "cairn-repo 1";
  const auto version_file = ctx.repo / "version";
  std::error_code ec;
  if (std::filesystem::exists(version_file, ec)) {
    const std::string text = read_text_file(version_file);
    const std::string line = text.substr(0, text.find('\n'));
    if (line != kVersionLine) {
      throw CommandError(Error{Errc::unsupported,
                               ctx.repo.string() + " is a repository of version '" + line + "'"});
    }
    return;
  }
  if (std::filesystem::exists(ctx.repo, ec) && !std::filesystem::is_empty(ctx.repo, ec)) {
    throw CommandError(
        Error{Errc::invalid_argument, ctx.repo.string() +
                                          " is not empty and is not a cairn repository (it has no "
                                          "version file); choose another --repo"});
  }
  write_file(version_file, std::string(kVersionLine) + "\n");
}

std::filesystem::path chain_dir(const Context& ctx) {
  ensure_repo(ctx);
  return ctx.repo / "chain";
}

std::optional<std::filesystem::path> keystore_of(const Context& ctx,
                                                 const chain::Address& address) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(keystore_dir(ctx), ec)) {
    auto text = file::read_text(entry.path(), file::kSmallFileCap);
    if (!text) continue;
    auto held = chain::keystore_address(*text);
    if (held && *held == address) return entry.path();
  }
  return std::nullopt;
}

std::filesystem::path keystore_dir(const Context& ctx) {
  ensure_repo(ctx);
  return ctx.repo / "keystore";
}

std::optional<market::DeploymentFile> load_config(const Context& ctx) {
  const auto path = chain_dir(ctx) / "config.json";
  if (!std::filesystem::exists(path)) return std::nullopt;
  return unwrap(market::load_deployment(path));
}

void save_config(const Context& ctx, const market::DeploymentFile& config) {
  unwrap(market::save_deployment(chain_dir(ctx) / "config.json", config));
}

std::optional<UpAnvil> running_anvil(const Context& ctx) {
  const auto path = chain_dir(ctx) / "anvil.json";
  if (!std::filesystem::exists(path)) return std::nullopt;
  // Written by `chain up`; anything else in its place is ignored (the chain is not up).
  const auto parsed = parse_json(read_text_file(path), path.string());
  if (!parsed || !parsed->is_object()) return std::nullopt;
  const json& doc = *parsed;
  if (!doc.contains("pid") || !doc["pid"].is_number_integer() || !doc.contains("url") ||
      !doc["url"].is_string() || (doc.contains("port") && !doc["port"].is_number_unsigned()))
    return std::nullopt;
  UpAnvil up{doc["pid"].get<pid_t>(), doc.value("port", std::uint16_t{0}),
             doc["url"].get<std::string>()};
  if (!process::alive(up.pid)) return std::nullopt;
  return up;
}

std::vector<OptionSpec> connection_options() {
  return {{"--rpc", true,
           "JSON-RPC URL of the node (default: the deployment's node, `cairn chain up`'s "
           "anvil, or a private anvil for this command)",
           "", false}};
}

std::vector<OptionSpec> signer_options() {
  return {{"--dev-account", true, "use anvil's well-known test account N (0-9; local chains only)",
           "", false},
          {"--keystore", true, "a keystore v3 file (geth, MetaMask, ethers, `cairn wallet new`)",
           "", false},
          {"--from", true, "the address of a keystore under <repo>/keystore", "", false},
          {"--password-file", true, "file holding the keystore password (else $CAIRN_PASSWORD)", "",
           false}};
}

Connection connect(Context& ctx, const Args& args) {
  Connection connection;
  connection.config = load_config(ctx);
  std::string url;
  if (auto rpc = args.get("--rpc")) {
    url = *rpc;
  } else if (connection.config) {
    url = connection.config->rpc;
  } else if (auto up = running_anvil(ctx)) {
    url = up->url;
  } else {
    ctx.progress("no --rpc and no `cairn chain up`: starting a private anvil for this command");
    connection.private_anvil = unwrap(chain::Anvil::start(), "starting anvil");
    url = connection.private_anvil->url();
  }
  connection.rpc = unwrap(chain::RpcClient::create(url));
  std::optional<std::uint64_t> expected;
  if (connection.config && !args.has("--rpc")) expected = connection.config->deployment.chain_id;
  connection.sender = unwrap(chain::TransactionSender::create(*connection.rpc, {}, expected),
                             "connecting to " + net::redact_url(url));
  // A deployment recorded for another chain does not apply to this node.
  if (connection.config && connection.config->deployment.chain_id != connection.sender->chain_id())
    connection.config.reset();
  return connection;
}

Connection connect_deployed(Context& ctx, const Args& args) {
  Connection connection = connect(ctx, args);
  if (!connection.config) {
    throw CommandError(
        Error{Errc::not_found, "no contracts deployed for this chain in " + ctx.repo.string() +
                                   "; run `cairn chain up` and `cairn chain deploy` first"});
  }
  return connection;
}

std::string read_password(const Args& args) {
  if (auto file = args.get("--password-file")) {
    std::string text = read_text_file(*file);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
      text.pop_back();
    return text;
  }
  if (const char* env = std::getenv("CAIRN_PASSWORD"); env != nullptr) return env;
  throw UsageError("a password is needed: --password-file FILE or $CAIRN_PASSWORD");
}

chain::Signer signer(Context& ctx, const Args& args, const Connection& connection) {
  if (auto n = args.get_int("--dev-account", 0, chain::kDevAccountCount - 1)) {
    unwrap(chain::check_dev_account_allowed(connection.sender->chain_id()), "--dev-account");
    return chain::Signer::from_key(chain::dev_account_key(static_cast<std::size_t>(*n)));
  }
  std::optional<std::filesystem::path> file;
  if (auto keystore = args.get("--keystore")) {
    file = *keystore;
  } else if (auto from = args.get("--from")) {
    const auto wanted = chain::Address::parse(*from);
    if (!wanted) throw UsageError("--from: " + wanted.error().message);
    file = keystore_of(ctx, *wanted);
    if (!file)
      throw CommandError(
          Error{Errc::not_found, "no keystore for " + *from + " in " + keystore_dir(ctx).string()});
  }
  if (file) {
    const auto key = unwrap(chain::keystore_decrypt(read_text_file(*file), read_password(args)),
                            "opening " + file->string());
    return chain::Signer::from_key(key);
  }
  if (connection.sender->chain_id() == chain::kLocalChainId) {
    ctx.progress(
        "signing with anvil's dev account 0 (use --dev-account, --keystore or --from to choose)");
    return chain::Signer::from_key(chain::dev_account_key(0));
  }
  throw UsageError("choose who signs: --keystore FILE, --from ADDRESS or --dev-account N");
}

nlohmann::json tx_json(const chain::SentTransaction& tx) {
  return {{"tx", "0x" + to_hex(tx.signed_tx.hash)},
          {"block", tx.receipt.block_number},
          {"gasUsed", tx.receipt.gas_used}};
}

}  // namespace cairn::cli::chain_support

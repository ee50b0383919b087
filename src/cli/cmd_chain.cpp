// The chain's commands: wallet new|import|list|address, chain up|down|status|deploy, and
// events (the notification hub on the command line).
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/file.hpp"
#include "base/process.hpp"
#include "chain/contract.hpp"
#include "chain/data_transfer.hpp"
#include "chain/keystore.hpp"
#include "chain/watcher.hpp"
#include "cli/cmd_chain_support.hpp"
#include "net/url.hpp"

namespace cairn::cli {
namespace {

using namespace chain_support;
using nlohmann::json;

std::vector<OptionSpec> join(std::vector<OptionSpec> a, const std::vector<OptionSpec>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A keystore protects its key with the password alone: an empty one protects nothing.
std::string new_keystore_password(const Args& args) {
  std::string password = read_password(args);
  if (password.empty()) throw UsageError("the password is empty: a keystore needs a password");
  return password;
}

// geth's file name: UTC--<ISO time>--<address>.
std::filesystem::path save_keystore(const Context& ctx, const chain::Address& address,
                                    const std::string& text) {
  char stamp[64];
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H-%M-%S.000000000Z", &utc);
  const auto path = keystore_dir(ctx) / fmt::format("UTC--{}--{}", stamp, to_hex(address.bytes));
  // Created 0600 in a 0700 directory: the encrypted key is never readable by others.
  write_file(path, text, file::kSecret);
  return path;
}

chain::KeystoreOptions keystore_options(const Args& args) {
  chain::KeystoreOptions options;
  const std::string kdf = args.get_or("--kdf", "scrypt");
  if (kdf == "pbkdf2") {
    options.kdf = chain::KeystoreOptions::Kdf::pbkdf2;
  } else if (kdf != "scrypt") {
    throw UsageError("--kdf must be scrypt or pbkdf2");
  }
  if (args.has("--light")) {
    const auto light = chain::KeystoreOptions::light();
    options.scrypt_n = light.scrypt_n;
    options.scrypt_p = light.scrypt_p;
    options.pbkdf2_iterations = 10000;
  }
  return options;
}

// ---- wallet ----
int run_wallet_new(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  const std::string password = new_keystore_password(args);
  const auto key = crypto::secp256k1_generate();
  const auto address = chain::Address::from_secret_key(key);
  const auto text = unwrap(chain::keystore_encrypt(key, password, keystore_options(args)));
  const auto path = save_keystore(ctx, address, text);
  ctx.print(address.to_checksum());
  ctx.progress("keystore written to " + path.string());
  ctx.result = {{"address", address.to_checksum()}, {"keystore", path.string()}};
  return kExitOk;
}

int run_wallet_import(Context& ctx, const Args& args) {
  args.expect_positional(0, 1);
  // A new keystore (from a raw key) needs a password; an existing one brings its own.
  const std::string password =
      args.has("--private-key-file") ? new_keystore_password(args) : read_password(args);
  std::string text;
  chain::Address address;
  if (auto key_file = args.get("--private-key-file")) {
    auto hex = read_text_file(*key_file);
    while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back())))
      hex.pop_back();
    const auto bytes = unwrap(from_hex(hex, true), "reading the private key");
    if (!crypto::secp256k1_secret_key_valid(bytes))
      throw CommandError("the private key is not a valid secp256k1 key");
    crypto::Secp256k1SecretKey key;
    std::copy(bytes.begin(), bytes.end(), key.begin());
    address = chain::Address::from_secret_key(key);
    text = unwrap(chain::keystore_encrypt(key, password, keystore_options(args)));
  } else {
    const auto file = args.positional(0, "KEYSTORE");
    text = read_text_file(file);
    // Proves the password before keeping the file: a keystore nobody can open is useless.
    const auto key = unwrap(chain::keystore_decrypt(text, password), "opening " + file);
    address = chain::Address::from_secret_key(key);
  }
  // Importing a key twice would leave two keystores for one account.
  if (const auto existing = keystore_of(ctx, address)) {
    ctx.print(address.to_checksum());
    ctx.progress("already imported: " + existing->string());
    ctx.result = {
        {"address", address.to_checksum()}, {"keystore", existing->string()}, {"imported", false}};
    return kExitOk;
  }
  const auto path = save_keystore(ctx, address, text);
  ctx.print(address.to_checksum());
  ctx.result = {
      {"address", address.to_checksum()}, {"keystore", path.string()}, {"imported", true}};
  return kExitOk;
}

int run_wallet_list(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  json wallets = json::array();
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(keystore_dir(ctx), ec))
    files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    auto address = chain::keystore_address(read_text_file(file));
    if (!address) continue;
    ctx.print(fmt::format("{}  {}", address->to_checksum(), file.filename().string()));
    wallets.push_back({{"address", address->to_checksum()}, {"keystore", file.string()}});
  }
  ctx.result = {{"wallets", wallets}};
  return kExitOk;
}

int run_wallet_address(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  chain::Address address;
  if (auto n = args.get_int("--dev-account", 0, chain::kDevAccountCount - 1)) {
    address = chain::Address::from_secret_key(chain::dev_account_key(static_cast<std::size_t>(*n)));
  } else if (auto file = args.get("--keystore")) {
    const auto text = read_text_file(*file);
    if (args.has("--password-file") || std::getenv("CAIRN_PASSWORD")) {
      address = chain::Address::from_secret_key(
          unwrap(chain::keystore_decrypt(text, read_password(args))));
    } else {
      address = unwrap(chain::keystore_address(text));
    }
  } else {
    throw UsageError("give --keystore FILE or --dev-account N");
  }
  ctx.print(address.to_checksum());
  ctx.result = {{"address", address.to_checksum()}};
  return kExitOk;
}

const std::vector<OptionSpec> kPasswordOptions = {
    {"--password-file", true, "file holding the password (else $CAIRN_PASSWORD)", "", false},
    {"--kdf", true, "scrypt (default, geth's standard n=262144) or pbkdf2", "", false},
    {"--light", false, "cheaper key derivation (scrypt n=4096, geth's --lightkdf)", "", false}};

const CommandRegistration wallet_new{
    Command{"wallet", "new", "create a secp256k1 key in a keystore v3 file under <repo>/keystore",
            "[options]", kPasswordOptions,
            "The password comes from --password-file or $CAIRN_PASSWORD, never the command line.",
            run_wallet_new}};
const CommandRegistration wallet_import{Command{
    "wallet", "import", "import a keystore v3 file (geth, MetaMask, ethers) or a raw private key",
    "KEYSTORE | --private-key-file FILE [options]",
    join(kPasswordOptions, {{"--private-key-file", true,
                             "a file with the key in hex, encrypted on import", "", false}}),
    "A keystore is imported only if the password opens it.", run_wallet_import}};
const CommandRegistration wallet_list{Command{
    "wallet", "list", "list the keystores under <repo>/keystore", "", {}, "", run_wallet_list}};
const CommandRegistration wallet_address{
    Command{"wallet",
            "address",
            "print the address of a keystore or dev account",
            "--keystore FILE | --dev-account N",
            {{"--keystore", true, "a keystore file", "", false},
             {"--dev-account", true, "anvil's test account N", "", false},
             {"--password-file", true,
              "decrypt to prove the address (else the file's claim is shown)", "", false}},
            "",
            run_wallet_address}};

// ---- chain up|down|status ----
int run_chain_up(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  if (auto up = running_anvil(ctx)) {
    ctx.print("anvil already running at " + up->url + " (pid " + std::to_string(up->pid) + ")");
    ctx.result = {{"url", up->url}, {"pid", up->pid}, {"port", up->port}, {"started", false}};
    return kExitOk;
  }
  chain::AnvilOptions options;
  options.outlive_parent = true;  // `chain up` leaves the chain running for later commands
  options.port = static_cast<std::uint16_t>(args.get_int_or("--port", 0, 0, 65535));
  // A chain brought up again comes back where the saved deployment says it is: the saved
  // config keeps its RPC URL, so a new port would make every command "not reachable".
  if (!args.has("--port")) {
    if (const auto config = load_config(ctx)) {
      if (const auto url = net::Url::parse(config->rpc);
          url && (url->host == "127.0.0.1" || url->host == "localhost")) {
        options.port = url->port;
      }
    }
  }
  if (auto block_time = args.get_double("--block-time")) options.block_time = *block_time;
  std::filesystem::create_directories(chain_dir(ctx));
  // The chain's state survives `chain down` / `chain up`, like a real network would.
  options.state_file = chain_dir(ctx) / "anvil-state.json";
  options.log_file = chain_dir(ctx) / "anvil.log";
  auto anvil = unwrap(chain::Anvil::start(options), "starting anvil");
  anvil->detach();
  const json state = {{"pid", anvil->pid()}, {"port", anvil->port()}, {"url", anvil->url()}};
  write_file(chain_dir(ctx) / "anvil.json", state.dump() + "\n");
  ctx.print("anvil running at " + anvil->url() + " (pid " + std::to_string(anvil->pid()) + ")");
  ctx.result = {
      {"url", anvil->url()}, {"pid", anvil->pid()}, {"port", anvil->port()}, {"started", true}};
  return kExitOk;
}

int run_chain_down(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  auto up = running_anvil(ctx);
  std::filesystem::remove(chain_dir(ctx) / "anvil.json");
  if (!up) {
    ctx.print("no anvil running for " + ctx.repo.string());
    ctx.result = {{"stopped", false}};
    return kExitOk;
  }
  unwrap(process::stop(up->pid));
  ctx.print("stopped anvil (pid " + std::to_string(up->pid) + ")");
  ctx.result = {{"stopped", true}, {"pid", up->pid}};
  return kExitOk;
}

int run_chain_status(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  json result = json::object();
  const auto up = running_anvil(ctx);
  result["anvil"] = up ? json{{"url", up->url}, {"pid", up->pid}} : json(nullptr);
  const auto config = load_config(ctx);
  std::string url = args.get_or("--rpc", config ? config->rpc : (up ? up->url : ""));
  if (url.empty()) {
    ctx.print("no chain: run `cairn chain up` (local anvil) or pass --rpc URL");
    result["reachable"] = false;
    ctx.result = result;
    return kExitOk;
  }
  const std::string shown = net::redact_url(url);
  result["rpc"] = shown;
  const auto rpc = unwrap(chain::RpcClient::create(url));
  auto chain_id = rpc.chain_id();
  if (!chain_id) {
    ctx.print("node " + shown + " is not answering: " + chain_id.error().message);
    result["reachable"] = false;
    ctx.result = result;
    return kExitFailure;
  }
  const auto head = unwrap(rpc.block_number());
  result["reachable"] = true;
  result["chainId"] = *chain_id;
  result["block"] = head;
  ctx.print(fmt::format("node {}: chain id {}, block {}", shown, *chain_id, head));
  json contracts = json::object();
  if (config && config->deployment.chain_id == *chain_id) {
    for (const auto& [name, address] : config->deployment.contracts()) {
      const auto code = rpc.code(address);
      const bool deployed = code && !code->empty();
      contracts[name] = {{"address", address.to_checksum()}, {"deployed", deployed}};
      ctx.print(
          fmt::format("  {:<13} {} {}", name, address.to_checksum(), deployed ? "" : "(no code!)"));
    }
  }
  result["contracts"] = contracts;
  ctx.result = result;
  return kExitOk;
}

const CommandRegistration chain_up{
    Command{"chain",
            "up",
            "start a local anvil kept running for this repository (state in <repo>/chain)",
            "[--port P] [--block-time SECONDS]",
            {{"--port", true, "loopback port (default: a free one)", "", false},
             {"--block-time", true, "seconds between blocks (default: a block per transaction)", "",
              false}},
            "",
            run_chain_up}};
const CommandRegistration chain_down{Command{
    "chain", "down", "stop the anvil started by `cairn chain up`", "", {}, "", run_chain_down}};
const CommandRegistration chain_status{
    Command{"chain", "status", "the node, its chain id and head, the deployment", "[--rpc URL]",
            connection_options(), "", run_chain_status}};

// ---- chain deploy ----
int run_chain_deploy(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  Connection connection = connect(ctx, args);
  const chain::Signer deployer = signer(ctx, args, connection);
  const auto duration =
      static_cast<std::uint64_t>(args.get_int_or("--deal-duration", 86400, 1, 10LL * 365 * 86400));
  std::optional<chain::Address> authority;
  if (auto text = args.get("--authority")) {
    auto parsed = chain::Address::parse(*text);
    if (!parsed) throw UsageError("--authority: " + parsed.error().message);
    authority = *parsed;
  }
  const auto start_block = unwrap(connection.rpc->block_number());
  market::DeploymentFile config;
  config.rpc = connection.rpc->url();
  config.deployment.chain_id = connection.sender->chain_id();
  config.deployment.start_block = start_block;
  ctx.progress("deploying DataTransfer");
  config.deployment.data_transfer =
      unwrap(chain::DataTransfer::deploy(connection.sender, deployer, authority, duration))
          .address();
  for (auto [name, address] : {std::pair{"Anchor", &config.deployment.anchor},
                               std::pair{"Registry", &config.deployment.registry},
                               std::pair{"TrainingTask", &config.deployment.training_task}}) {
    ctx.progress(std::string("deploying ") + name);
    *address = unwrap(chain::Contract::deploy(connection.sender, deployer, name)).address();
  }
  json result = json::object();
  for (const auto& [name, address] : config.deployment.contracts()) {
    result[name] = address.to_checksum();
    ctx.print(fmt::format("{:<13} {}", name, address.to_checksum()));
  }
  if (auto out = args.get("--out")) {
    // The deployment file nodes read (node config's chain.deployment): the same file as
    // <repo>/chain/config.json, written where the caller wants it.
    const std::filesystem::path path(*out);
    unwrap(market::save_deployment(path, config));
    ctx.progress("deployment written to " + path.string());
  }
  if (connection.is_private()) {
    ctx.progress(
        "warning: deployed to a private anvil that stops with this command; run `cairn chain up` "
        "first "
        "to keep a chain (the deployment is not saved)");
  } else {
    save_config(ctx, config);
    ctx.progress("deployment saved in " + (chain_dir(ctx) / "config.json").string());
  }
  ctx.result = result;
  return kExitOk;
}

const CommandRegistration chain_deploy{Command{
    "chain", "deploy",
    "deploy DataTransfer, Anchor, Registry and TrainingTask; saved in <repo>/chain/config.json",
    "[--rpc URL] [--dev-account N | --keystore FILE] [--deal-duration SECONDS] [--authority "
    "ADDRESS] [--out FILE]",
    join(join(connection_options(), signer_options()),
         {{"--deal-duration", true,
           "seconds a DataTransfer deal stays open for delivery (default 86400)", "", false},
          {"--authority", true, "DataTransfer's dispute authority (default: the deployer)", "",
           false},
          {"--out", true, "also write the deployment to this file (for node configs)", "", false}}),
    "With --json the last line maps each contract to its address.", run_chain_deploy}};

// ---- events ----
std::atomic<bool> stop_requested{false};
extern "C" void on_stop_signal(int) {
  stop_requested.store(true);
}

std::string human_event(const chain::ChainEvent& e) {
  const auto j = e.to_json();
  std::string args;
  for (const auto& [name, value] : j["args"].items()) {
    args +=
        fmt::format(" {}={}", name, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return fmt::format("[{}] block {} {}.{}{}", finality_name(e.finality), e.log.block_number,
                     e.contract, e.name, args);
}

int run_events(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  Connection connection = connect_deployed(ctx, args);
  chain::WatcherOptions options;
  for (const auto& [name, address] : connection.config->deployment.contracts())
    options.contracts.push_back({name, address});
  options.confirmations =
      static_cast<std::uint64_t>(args.get_int_or("--confirmations", 0, 0, 1000));
  options.start_block = static_cast<std::uint64_t>(args.get_int_or(
      "--from-block", static_cast<std::int64_t>(connection.config->deployment.start_block), 0,
      INT64_MAX));
  options.poll_interval = std::chrono::milliseconds(args.get_int_or("--poll-ms", 500, 10, 60000));
  const bool follow = args.has("--follow");
  if (follow && !args.has("--from-block"))
    options.cursor_file = chain_dir(ctx) / "events-cursor.json";
  auto watcher = unwrap(chain::EventWatcher::create(*connection.rpc, options));
  json collected = json::array();
  watcher->subscribe([&](const chain::ChainEvent& e) {
    if (follow) {
      // Streaming: one line per event as it happens (JSON lines under --json).
      std::printf("%s\n", ctx.json ? e.to_json().dump().c_str() : human_event(e).c_str());
      std::fflush(stdout);
    } else {
      collected.push_back(e.to_json());
      ctx.print(human_event(e));
    }
  });
  if (!follow) {
    unwrap(watcher->poll_once(), "reading events");
    ctx.result = {{"events", collected}};
    return kExitOk;
  }
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  ctx.progress("following events (Ctrl-C to stop)");
  unwrap(watcher->run(stop_requested), "following events");
  const auto final_block = watcher->final_block();
  ctx.result = {{"finalBlock", final_block ? json(*final_block) : json(nullptr)}};
  return kExitOk;
}

const CommandRegistration events_command{Command{
    "events", "", "the platform contracts' events, decoded (the notification hub)",
    "[--follow] [--confirmations N] [--from-block N] [--rpc URL]",
    join(
        connection_options(),
        {{"--follow", false,
          "keep following new blocks (resumes from <repo>/chain/events-cursor.json)", "", false},
         {"--confirmations", true, "blocks on top before an event is final (default 0)", "", false},
         {"--from-block", true, "first block to read (default: the deployment's block)", "", false},
         {"--poll-ms", true, "polling interval in milliseconds (default 500)", "", false}}),
    "Without --follow: every event since the deployment, then exit (--json: {\"events\": [...]}).\n"
    "With --follow: one line per event as it happens (--json: one JSON object per line), with\n"
    "finality pending/final/removed when --confirmations is given.",
    run_events}};

}  // namespace
}  // namespace cairn::cli

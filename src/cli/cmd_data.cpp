// The DataTransfer flow with real files (seed 003's data exchange):
//
//   provider  cairn data offer FILE --price 1ether      schema into the store (+ Registry)
//   consumer  cairn data buy --provider ADDR --schema CID --price 1ether
//                                                        X25519 key; escrow; deal id
//   provider  cairn data provide DEAL                    file sealed (XChaCha20-Poly1305),
//                                                        its key wrapped to the consumer's
//                                                        X25519 key, both stored, digests
//                                                        on chain
//   consumer  cairn data accept DEAL -o OUT              unwrap, decrypt, check against
//                                                        the schema, pay the provider
//   consumer  cairn data cancel DEAL                     nothing delivered by the expiry
//   either    cairn data dispute DEAL                    ask the authority to step in
//   authority cairn data settle DEAL | refund DEAL       force payment or refund
//
// The exchange itself (the schema, sealing to a deal, key wrapping, CIDs from the chain's
// digests, the Registry's listing) is market/data_exchange.hpp; these commands parse
// options, call it, keep the parties' local files and print.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/file.hpp"
#include "base/json.hpp"
#include "chain/contract.hpp"
#include "chain/data_transfer.hpp"
#include "cli/cmd_chain_support.hpp"
#include "crypto/sodium.hpp"
#include "market/data_exchange.hpp"
#include "market/passport.hpp"
#include "store/repo.hpp"

namespace cairn::cli {
namespace {

using namespace chain_support;
using nlohmann::json;
using store::Cid;

std::vector<OptionSpec> join(std::vector<OptionSpec> a, const std::vector<OptionSpec>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<OptionSpec> common_options() {
  return join(connection_options(), signer_options());
}

Bytes read_whole_file(const std::filesystem::path& path) {
  return read_binary_file(path, "the data", market::kDealDataCap);
}

// A deal's X25519 secret: created 0600, never readable by others, not even for an instant.
void write_private_file(const std::filesystem::path& path, const std::string& text) {
  write_file(path, text, file::kSecret);
}

std::filesystem::path data_dir(const Context& ctx) {
  return ctx.repo / "data";
}

chain::U256 parse_deal_id(const Args& args) {
  auto id = chain::U256::parse(args.positional(0, "DEAL"));
  if (!id || id->is_zero()) throw UsageError("DEAL must be a deal number (1, 2, …)");
  return *id;
}

// The deal's event of this name (DealInitiated, DataProvided), from the chain's logs.
chain::DataTransferEvent deal_event(const Connection& connection,
                                    const chain::DataTransfer& contract, const chain::U256& deal_id,
                                    std::string_view name) {
  const auto abi = unwrap(chain::embedded_abi("DataTransfer"));
  chain::LogFilter filter;
  filter.addresses = {contract.address()};
  filter.from_block = connection.config->deployment.start_block;
  filter.topics = {abi->event(name)->topic0(), deal_id.to_be_bytes()};
  const auto logs = unwrap(connection.rpc->logs(filter), "reading deal events");
  if (logs.empty()) {
    throw CommandError(
        Error{Errc::not_found, fmt::format("deal {} has no {} event", deal_id.to_decimal(), name)});
  }
  return unwrap(chain::decode_data_transfer_event(logs.back()));
}

struct Opened {
  Connection connection;
  std::optional<chain::DataTransfer> contract;
  chain::Signer signer;
};

Opened open_data_transfer(Context& ctx, const Args& args) {
  Opened opened{connect_deployed(ctx, args), std::nullopt, {}};
  opened.contract.emplace(unwrap(chain::DataTransfer::at(
      opened.connection.sender, opened.connection.config->deployment.data_transfer)));
  opened.signer = signer(ctx, args, opened.connection);
  return opened;
}

chain::Contract registry(const Opened& opened) {
  return unwrap(chain::Contract::at(opened.connection.sender, "Registry",
                                    opened.connection.config->deployment.registry));
}

// ---- offer ----
int run_offer(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const std::filesystem::path file = args.positional(0, "FILE");
  const Bytes content = read_whole_file(file);
  // DataTransfer escrows the price: a deal at 0 wei reverts, so an offer names its price.
  const auto price = usage_unwrap(chain::U256::parse_amount(args.require("--price")), "--price");
  if (price == chain::U256{}) throw UsageError("--price must be above 0 (the buyer escrows it)");
  Opened opened = open_data_transfer(ctx, args);
  auto repo = unwrap(store::Repo::open(ctx.repo, store::RepoAccess::write));
  const auto schema =
      market::DataSchema::describe(file.filename().string(), content,
                                   args.get_or("--description", ""), price, opened.signer.address);
  const auto stored = unwrap(market::store_schema(repo->blocks(), schema));
  const Cid& schema_cid = stored.cid;
  // The provider keeps where the file is, to deliver it later.
  const json offer = {{"file", std::filesystem::absolute(file).string()},
                      {"schema", schema_cid.to_string()}};
  write_private_file(data_dir(ctx) / "offers" / (to_hex(stored.digest) + ".json"),
                     offer.dump() + "\n");
  json result = {{"schema", schema_cid.to_string()},
                 {"schemaDigest", "0x" + to_hex(stored.digest)},
                 {"provider", opened.signer.address.to_checksum()}};
  if (const auto entry = unwrap(market::register_offer(registry(opened), opened.signer, stored)))
    result["registryEntry"] = entry->to_decimal();
  ctx.print("schema " + schema_cid.to_string());
  ctx.print(fmt::format("offer: cairn data buy --provider {} --schema {} --price {}wei",
                        opened.signer.address.to_checksum(), schema_cid.to_string(),
                        price.to_decimal()));
  ctx.result = result;
  return kExitOk;
}

// ---- buy ----
int run_buy(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  const auto provider = chain::Address::parse(args.require("--provider"));
  if (!provider) throw UsageError("--provider: " + provider.error().message);
  const auto schema_cid = Cid::parse(args.require("--schema"));
  if (!schema_cid) throw UsageError("--schema: " + schema_cid.error().message);
  const auto price = usage_unwrap(chain::U256::parse_amount(args.require("--price")), "--price");
  Opened opened = open_data_transfer(ctx, args);
  // Escrow only for a schema the provider offered: the Registry names each offer's owner.
  if (!args.has("--force")) {
    if (auto offered = market::check_offer(registry(opened), *schema_cid, *provider); !offered) {
      auto error = std::move(offered).error();
      if (error.code == Errc::not_found) error.message += " (`cairn data offer` registers one)";
      if (error.code == Errc::not_found || error.code == Errc::rejected)
        error.message += "; --force escrows anyway";
      throw CommandError(error);
    }
  }
  auto repo = unwrap(store::Repo::open(ctx.repo, store::RepoAccess::write));
  // A fresh X25519 key per deal: the provider wraps the data key to its public half.
  const auto key = crypto::x25519_generate();
  const Cid pub_cid =
      unwrap(market::put_pinned_raw_block(repo->blocks(), key.public_key, "consumer key"));
  const auto initiated =
      unwrap(opened.contract->init_transaction(
                 opened.signer, *provider, unwrap(market::cid_commitment(*schema_cid), "--schema"),
                 unwrap(market::cid_commitment(pub_cid)), price),
             "initTransaction");
  const json deal = {{"dealId", initiated.deal_id.to_decimal()},
                     {"contract", opened.contract->address().to_checksum()},
                     {"consumer", opened.signer.address.to_checksum()},
                     {"x25519Secret", to_hex(key.secret_key)},
                     {"x25519Public", to_hex(key.public_key)}};
  write_private_file(data_dir(ctx) / "deals" /
                         (opened.contract->address().to_lower_hex() + "-" +
                          initiated.deal_id.to_decimal() + ".json"),
                     deal.dump() + "\n");
  ctx.print("deal " + initiated.deal_id.to_decimal());
  ctx.result = {{"dealId", initiated.deal_id.to_decimal()}, {"consumerKey", pub_cid.to_string()}};
  ctx.result.update(tx_json(initiated.tx));
  return kExitOk;
}

// ---- provide ----
int run_provide(Context& ctx, const Args& args) {
  args.expect_positional(1, 2);
  const auto deal_id = parse_deal_id(args);
  Opened opened = open_data_transfer(ctx, args);
  const auto init = std::get<chain::DealInitiated>(
      deal_event(opened.connection, *opened.contract, deal_id, "DealInitiated"));
  if (init.provider != opened.signer.address) {
    throw CommandError(fmt::format("deal {} is for provider {}, not {}", deal_id.to_decimal(),
                                   init.provider.to_checksum(),
                                   opened.signer.address.to_checksum()));
  }
  std::filesystem::path file;
  if (args.positional().size() > 1) {
    file = args.positional(1, "FILE");
  } else {
    const auto offer_path = data_dir(ctx) / "offers" / (to_hex(init.schema) + ".json");
    if (!std::filesystem::exists(offer_path)) {
      throw UsageError(
          "no offer of this repository matches the deal's schema; give the FILE to deliver");
    }
    const auto offer = unwrap(parse_json(read_text_file(offer_path), offer_path.string()));
    file = unwrap(unwrap(JsonObject::of(offer, offer_path.string())).string("file"));
  }
  auto repo = unwrap(store::Repo::open(ctx.repo, store::RepoAccess::write));
  const Bytes content = read_whole_file(file);
  const auto delivery = unwrap(market::seal_delivery(repo->blocks(), content, init.consumer_pub_key,
                                                     opened.contract->address(), deal_id));
  const auto tx =
      unwrap(opened.contract->provide_data(opened.signer, deal_id, delivery.encrypted_key_digest,
                                           delivery.data_digest),
             "provideData");
  ctx.print("encrypted data " + delivery.data.to_string());
  ctx.print("wrapped key    " + delivery.encrypted_key.to_string());
  ctx.result = {{"dealId", deal_id.to_decimal()},
                {"data", delivery.data.to_string()},
                {"encryptedKey", delivery.encrypted_key.to_string()}};
  ctx.result.update(tx_json(tx));
  return kExitOk;
}

// ---- accept ----
int run_accept(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const auto deal_id = parse_deal_id(args);
  const std::filesystem::path out = args.require("--output");
  if (std::filesystem::exists(out))
    throw UsageError(out.string() + " exists; choose a new --output");
  Opened opened = open_data_transfer(ctx, args);
  const auto deal_file =
      data_dir(ctx) / "deals" /
      (opened.contract->address().to_lower_hex() + "-" + deal_id.to_decimal() + ".json");
  if (!std::filesystem::exists(deal_file)) {
    throw CommandError(Error{Errc::not_found, "no key for deal " + deal_id.to_decimal() + " in " +
                                                  ctx.repo.string() +
                                                  " (was it bought with this repository?)"});
  }
  const json deal = unwrap(parse_json(read_text_file(deal_file), deal_file.string()));
  auto deal_fields = unwrap(JsonObject::of(deal, deal_file.string()));
  const auto secret = unwrap(unwrap(deal_fields.required("x25519Secret")).hex_bytes(32));
  ByteArray<32> secret_key;
  std::copy(secret.begin(), secret.end(), secret_key.begin());
  const auto x25519 = crypto::x25519_from_secret(secret_key);

  const auto init = std::get<chain::DealInitiated>(
      deal_event(opened.connection, *opened.contract, deal_id, "DealInitiated"));
  const auto provided = std::get<chain::DataProvided>(
      deal_event(opened.connection, *opened.contract, deal_id, "DataProvided"));
  auto repo = unwrap(store::Repo::open(ctx.repo, store::RepoAccess::write));
  auto plain =
      market::open_delivery(repo->blocks(), x25519, init, provided, opened.contract->address());
  if (!plain) {
    auto error = std::move(plain).error();
    if (error.code == Errc::integrity)
      error.message += "; run `cairn data dispute " + deal_id.to_decimal() + "`";
    throw CommandError(error);
  }
  write_file(out, ByteView(*plain));
  const auto tx = unwrap(opened.contract->verified_data(opened.signer, deal_id), "verifiedData");
  ctx.print(fmt::format("{} bytes written to {}; provider paid", plain->size(), out.string()));
  ctx.result = {
      {"dealId", deal_id.to_decimal()}, {"output", out.string()}, {"bytes", plain->size()}};
  ctx.result.update(tx_json(tx));
  return kExitOk;
}

// ---- cancel / dispute / settle / refund / status ----
int run_simple(Context& ctx, const Args& args, std::string_view what) {
  args.expect_positional(1, 1);
  const auto deal_id = parse_deal_id(args);
  Opened opened = open_data_transfer(ctx, args);
  chain::SentTransaction tx;
  if (what == "cancel") {
    tx = unwrap(opened.contract->cancel(opened.signer, deal_id), "cancel");
  } else if (what == "dispute") {
    const auto deal = unwrap(opened.contract->deal(deal_id));
    if (!deal.exists())
      throw CommandError(Error{Errc::not_found, "deal " + deal_id.to_decimal() + " is not open"});
    if (opened.signer.address == deal.consumer) {
      tx = unwrap(opened.contract->request_forceful_refund(opened.signer, deal_id),
                  "requestForcefulRefund");
    } else if (opened.signer.address == deal.provider) {
      tx = unwrap(opened.contract->request_forceful_settle(opened.signer, deal_id),
                  "requestForcefulSettle");
    } else {
      throw CommandError(opened.signer.address.to_checksum() +
                         " is neither the consumer nor the provider of deal " +
                         deal_id.to_decimal());
    }
  } else if (what == "settle") {
    tx = unwrap(opened.contract->execute_forceful_settle(opened.signer, deal_id),
                "executeForcefulSettle");
  } else {
    tx = unwrap(opened.contract->execute_forceful_refund(opened.signer, deal_id),
                "executeForcefulRefund");
  }
  ctx.print(fmt::format("deal {}: {} done in block {}", deal_id.to_decimal(), what,
                        tx.receipt.block_number));
  ctx.result = {{"dealId", deal_id.to_decimal()}, {"action", std::string(what)}};
  ctx.result.update(tx_json(tx));
  return kExitOk;
}

int run_status(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const auto deal_id = parse_deal_id(args);
  Connection connection = connect_deployed(ctx, args);
  const auto contract = unwrap(
      chain::DataTransfer::at(connection.sender, connection.config->deployment.data_transfer));
  const auto deal = unwrap(contract.deal(deal_id));
  if (!deal.exists()) {
    ctx.print("deal " + deal_id.to_decimal() + ": closed or unknown");
    ctx.result = {{"dealId", deal_id.to_decimal()}, {"open", false}};
    return kExitOk;
  }
  ctx.print(fmt::format("deal {}: consumer {} provider {} price {} wei, expires {}, data {}{}{}",
                        deal_id.to_decimal(), deal.consumer.to_checksum(),
                        deal.provider.to_checksum(), deal.price.to_decimal(), deal.expiration_time,
                        deal.data_provided ? "provided" : "not provided",
                        deal.requested_forceful_refund ? ", refund requested" : "",
                        deal.requested_forceful_settle ? ", settlement requested" : ""));
  ctx.result = {{"dealId", deal_id.to_decimal()},
                {"open", true},
                {"consumer", deal.consumer.to_checksum()},
                {"provider", deal.provider.to_checksum()},
                {"price", deal.price.to_decimal()},
                {"expirationTime", deal.expiration_time},
                {"dataProvided", deal.data_provided},
                {"requestedForcefulRefund", deal.requested_forceful_refund},
                {"requestedForcefulSettle", deal.requested_forceful_settle}};
  return kExitOk;
}

const CommandRegistration offer_command{Command{
    "data", "offer", "provider: put a file's schema in the store and list it in the Registry",
    "FILE --price AMOUNT",
    join(common_options(), {{"--price", true, "asking price (e.g. 1ether, 5gwei, 1000)", "", false},
                            {"--description", true, "free text for buyers", "", false}}),
    "", run_offer}};
const CommandRegistration buy_command{Command{
    "data", "buy", "consumer: escrow the price for a provider's schema (initTransaction)",
    "--provider ADDRESS --schema CID --price AMOUNT",
    join(common_options(),
         {{"--provider", true, "the provider's address", "", false},
          {"--schema", true, "the schema CID from `cairn data offer`", "", false},
          {"--price", true, "what to escrow (e.g. 1ether)", "", false},
          {"--force", false, "escrow even for a schema the provider never offered", "", false}}),
    "", run_buy}};
const CommandRegistration provide_command{Command{
    "data", "provide", "provider: deliver the file encrypted to the consumer (provideData)",
    "DEAL [FILE]", common_options(),
    "Without FILE, the file offered for the deal's schema from this repository.", run_provide}};
const CommandRegistration accept_command{Command{
    "data", "accept", "consumer: decrypt and check the delivery, then pay (verifiedData)",
    "DEAL -o FILE",
    join(common_options(), {{"--output", true, "where to write the decrypted data", "-o", false}}),
    "", run_accept}};
const CommandRegistration cancel_command{
    Command{"data", "cancel", "consumer: take the escrow back after expiry when nothing came",
            "DEAL", common_options(), "",
            [](Context& ctx, const Args& args) { return run_simple(ctx, args, "cancel"); }}};
const CommandRegistration dispute_command{
    Command{"data", "dispute", "consumer or provider: ask the authority for a refund / settlement",
            "DEAL", common_options(), "",
            [](Context& ctx, const Args& args) { return run_simple(ctx, args, "dispute"); }}};
const CommandRegistration settle_command{Command{
    "data", "settle", "authority: pay the provider of a disputed deal", "DEAL", common_options(),
    "", [](Context& ctx, const Args& args) { return run_simple(ctx, args, "settle"); }}};
const CommandRegistration refund_command{Command{
    "data", "refund", "authority: refund the consumer of a disputed deal", "DEAL", common_options(),
    "", [](Context& ctx, const Args& args) { return run_simple(ctx, args, "refund"); }}};
const CommandRegistration status_command{Command{"data", "status", "a deal's state on chain",
                                                 "DEAL", connection_options(), "", run_status}};

}  // namespace
}  // namespace cairn::cli

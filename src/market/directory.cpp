#include "market/directory.hpp"

#include <fmt/format.h>

#include "base/encoding.hpp"
#include "crypto/hash.hpp"
#include "store/exporter.hpp"
#include "store/gateway_client.hpp"
#include "store/importer.hpp"
#include "store/repo.hpp"

namespace cairn::market {

using chain::abi::Value;

ByteArray<32> topic_word(std::uint64_t value) {
  return chain::U256(value).to_be_bytes();
}

ByteArray<32> topic_word(const chain::Address& address) {
  ByteArray<32> word{};
  std::copy(address.bytes.begin(), address.bytes.end(), word.begin() + 12);
  return word;
}

Result<chain::Contract> training_task_contract(const NodeContext& context) {
  CAIRN_TRY_ASSIGN(auto abi, chain::embedded_abi("TrainingTask"));
  return chain::Contract(context.sender, context.deployment.training_task, std::move(abi));
}

Result<chain::Contract> registry_contract(const NodeContext& context) {
  CAIRN_TRY_ASSIGN(auto abi, chain::embedded_abi("Registry"));
  return chain::Contract(context.sender, context.deployment.registry, std::move(abi));
}

Result<std::uint64_t> registry_entry_of(const chain::Contract& registry,
                                        const chain::Address& owner, RegistryKind kind,
                                        const ByteArray<32>& digest) {
  CAIRN_TRY_ASSIGN(const auto answer,
                   registry.call("entryOf", {Value(owner), Value(static_cast<std::uint64_t>(kind)),
                                             Value(digest)}));
  CAIRN_TRY_ASSIGN(const chain::U256 entry, answer.at(0).as_uint());
  if (!entry.fits_u64()) return fail(Errc::parse, "a Registry entry id beyond 64 bits");
  return entry.low64();
}

Status announce_calendar_key(const chain::Contract& registry, const chain::Signer& signer,
                             ByteView certificate_der) {
  const auto digest = crypto::sha256(certificate_der);
  CAIRN_TRY_ASSIGN(const std::uint64_t held,
                   registry_entry_of(registry, signer.address, RegistryKind::calendar_key, digest));
  if (held != 0) return {};
  CAIRN_TRY(registry.transact(signer, "register",
                              {Value(static_cast<std::uint64_t>(RegistryKind::calendar_key)),
                               Value(digest), Value::text(to_hex(certificate_der))}));
  return {};
}

Result<std::vector<Bytes>> registered_calendar_keys(const chain::Contract& registry,
                                                    std::uint64_t from_block,
                                                    const chain::Address& owner) {
  CAIRN_TRY_ASSIGN(
      const auto registered,
      read_events(registry.sender()->rpc(), from_block, "Registry", registry.address(),
                  "Registered",
                  {std::nullopt, topic_word(owner),
                   topic_word(static_cast<std::uint64_t>(RegistryKind::calendar_key))}));
  std::vector<Bytes> certificates;
  for (const auto& event : registered) {
    CAIRN_TRY_ASSIGN(const chain::U256 id, event.values.at(0).as_uint());
    CAIRN_TRY_ASSIGN(const auto current, registry.call("getEntry", {Value(id)}));
    CAIRN_TRY_ASSIGN(const chain::Address current_owner, current.at(0).as_address());
    CAIRN_TRY_ASSIGN(const bool active, current.at(2).as_bool());
    CAIRN_TRY_ASSIGN(const ByteArray<32> digest, current.at(3).as_bytes32());
    if (current_owner != owner || !active) continue;
    CAIRN_TRY_ASSIGN(const std::string metadata, event.values.at(4).as_string());
    auto der = from_hex(metadata);
    if (!der || crypto::sha256(*der) != digest) continue;
    certificates.push_back(std::move(*der));
  }
  return certificates;
}

Result<TrustRoot> trust_root_from_registry(std::shared_ptr<chain::TransactionSender> sender,
                                           const Deployment& deployment,
                                           const chain::Address& operator_account) {
  CAIRN_TRY(sender->rpc().expect_chain_id(deployment.chain_id));
  CAIRN_TRY_ASSIGN(const chain::Contract registry,
                   chain::Contract::at(std::move(sender), "Registry", deployment.registry));
  TrustRoot trust = trust_root_for(deployment);
  CAIRN_TRY_ASSIGN(trust.calendar_certificates,
                   registered_calendar_keys(registry, deployment.start_block, operator_account));
  if (trust.calendar_certificates.empty()) {
    return fail(Errc::not_found,
                fmt::format("{} registered no calendar key in the Registry at {}",
                            operator_account.to_checksum(), deployment.registry.to_checksum()));
  }
  trust.anchor_signers = {operator_account};
  return trust;
}

Result<std::vector<ContractEvent>> find_events(
    const NodeContext& context, std::string_view contract_name, const chain::Address& address,
    std::string_view event_name, const std::vector<std::optional<ByteArray<32>>>& indexed) {
  if (!context.sender) return fail(Errc::invalid_argument, "the node has no chain connection");
  return read_events(context.sender->rpc(), context.deployment.start_block, contract_name, address,
                     event_name, indexed);
}

Result<std::vector<ContractEvent>> read_events(
    const chain::RpcClient& rpc, std::uint64_t from_block, std::string_view contract_name,
    const chain::Address& address, std::string_view event_name,
    const std::vector<std::optional<ByteArray<32>>>& indexed) {
  CAIRN_TRY_ASSIGN(auto abi, chain::embedded_abi(contract_name));
  const chain::abi::Event* event = abi->event(event_name);
  if (event == nullptr) {
    return fail(Errc::internal, fmt::format("{} has no event {}", contract_name, event_name));
  }
  chain::LogFilter filter;
  filter.addresses = {address};
  filter.from_block = from_block;
  filter.topics.push_back(event->topic0());
  for (const auto& word : indexed)
    filter.topics.push_back(word);
  CAIRN_TRY_ASSIGN(std::vector<chain::Log> logs, rpc.logs(filter));
  std::vector<ContractEvent> events;
  events.reserve(logs.size());
  for (auto& log : logs) {
    if (log.removed) continue;
    auto values = event->decode_log(log.topics, log.data);
    if (!values) {
      return std::unexpected(std::move(values).error().context(
          fmt::format("decoding {}.{} in block {}", contract_name, event_name, log.block_number)));
    }
    events.push_back({std::move(*values), std::move(log)});
  }
  std::sort(events.begin(), events.end(), [](const ContractEvent& a, const ContractEvent& b) {
    return std::pair(a.log.block_number, a.log.log_index) <
           std::pair(b.log.block_number, b.log.log_index);
  });
  return events;
}

namespace {

struct EndpointEntry {
  std::uint64_t entry_id = 0;
  std::string url;
  std::uint64_t block = 0, log_index = 0;  // where the URL was last set
};

// The Endpoint entries `party` registered that are still its own and active, each with the
// URL it names now.
Result<std::vector<EndpointEntry>> endpoint_entries(const NodeContext& context,
                                                    const chain::Address& party) {
  CAIRN_TRY_ASSIGN(chain::Contract registry, registry_contract(context));
  CAIRN_TRY_ASSIGN(auto registered,
                   find_events(context, "Registry", context.deployment.registry, "Registered",
                               {std::nullopt, topic_word(party),
                                topic_word(static_cast<std::uint64_t>(RegistryKind::endpoint))}));
  std::vector<EndpointEntry> entries;
  for (const auto& event : registered) {
    CAIRN_TRY_ASSIGN(chain::U256 id, event.values.at(0).as_uint());
    if (!id.fits_u64()) return fail(Errc::parse, "an Endpoint entry id beyond 64 bits");
    const std::uint64_t entry_id = id.low64();
    CAIRN_TRY_ASSIGN(auto current, registry.call("getEntry", {Value(entry_id)}));
    CAIRN_TRY_ASSIGN(chain::Address owner, current.at(0).as_address());
    CAIRN_TRY_ASSIGN(bool active, current.at(2).as_bool());
    CAIRN_TRY_ASSIGN(ByteArray<32> digest, current.at(3).as_bytes32());
    if (owner != party || !active) continue;
    EndpointEntry entry;
    entry.entry_id = entry_id;
    CAIRN_TRY_ASSIGN(entry.url, event.values.at(4).as_string());
    entry.block = event.log.block_number;
    entry.log_index = event.log.log_index;
    CAIRN_TRY_ASSIGN(auto updates, find_events(context, "Registry", context.deployment.registry,
                                               "Updated", {topic_word(entry_id)}));
    if (!updates.empty()) {
      CAIRN_TRY_ASSIGN(entry.url, updates.back().values.at(2).as_string());
      entry.block = updates.back().log.block_number;
      entry.log_index = updates.back().log.log_index;
    }
    // The URL in the event must be the one the entry's digest commits to.
    if (crypto::sha256(as_bytes(entry.url)) != digest) continue;
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end(), [](const EndpointEntry& a, const EndpointEntry& b) {
    return std::pair(a.block, a.log_index) < std::pair(b.block, b.log_index);
  });
  return entries;
}

}  // namespace

Result<std::string> gateway_of(const NodeContext& context, const chain::Address& party) {
  CAIRN_TRY_ASSIGN(auto entries, endpoint_entries(context, party));
  if (entries.empty()) {
    return fail(Errc::not_found,
                fmt::format("{} has announced no gateway in the Registry", party.to_checksum()));
  }
  return entries.back().url;
}

Status announce_endpoint(NodeContext& context) {
  if (context.gateway_url.empty()) {
    return fail(Errc::invalid_argument, context.name + " has no gateway to announce");
  }
  CAIRN_TRY_ASSIGN(auto entries, endpoint_entries(context, context.signer.address));
  if (!entries.empty() && entries.back().url == context.gateway_url) return {};
  CAIRN_TRY_ASSIGN(chain::Contract registry, registry_contract(context));
  const auto digest = crypto::sha256(as_bytes(context.gateway_url));
  // Only our own entries count: another account may have registered this URL's digest (a
  // squatter, or a node that had the port before), and that entry is not ours.
  CAIRN_TRY_ASSIGN(const std::uint64_t held_by, registry_entry_of(registry, context.signer.address,
                                                                  RegistryKind::endpoint, digest));
  if (held_by != 0) {
    // An entry of ours that is no longer the latest names this URL: it cannot be
    // registered again.
    return fail(Errc::conflict,
                fmt::format("{}'s gateway URL {} is already registered by it (entry {})",
                            context.name, context.gateway_url, held_by));
  }
  if (entries.empty()) {
    CAIRN_TRY(registry.transact(context.signer, "register",
                                {Value(static_cast<std::uint64_t>(RegistryKind::endpoint)),
                                 Value(digest), Value::text(context.gateway_url)}));
  } else {
    CAIRN_TRY(registry.transact(
        context.signer, "update",
        {Value(entries.back().entry_id), Value(digest), Value::text(context.gateway_url)}));
  }
  if (context.log) context.log(fmt::format("announced gateway {}", context.gateway_url));
  return {};
}

Result<store::Cid> put_artifact(NodeContext& context, ByteView bytes, std::string_view label) {
  if (context.repo == nullptr) return fail(Errc::invalid_argument, "the node has no store");
  auto& blocks = context.repo->blocks();
  CAIRN_TRY_ASSIGN(store::ImportedFile imported, store::import_bytes(bytes, blocks));
  CAIRN_TRY(blocks.pin(imported.cid, label));
  return imported.cid;
}

Result<Bytes> read_artifact(NodeContext& context, const store::Cid& cid, std::uint64_t max_bytes) {
  if (context.repo == nullptr) return fail(Errc::invalid_argument, "the node has no store");
  Bytes out;
  CAIRN_TRY(store::export_file(
      cid, context.repo->blocks(),
      [&](ByteView chunk) -> Status {
        append(out, chunk);
        return {};
      },
      store::ExportLimits{max_bytes}));
  return out;
}

Result<Bytes> fetch_artifact(NodeContext& context, const chain::Address& from,
                             const store::Cid& cid, std::uint64_t max_bytes) {
  if (context.repo == nullptr) return fail(Errc::invalid_argument, "the node has no store");
  auto& blocks = context.repo->blocks();
  CAIRN_TRY_ASSIGN(bool have, blocks.is_pinned(cid));
  if (!have) {
    CAIRN_TRY_ASSIGN(std::string url, gateway_of(context, from));
    store::FetchOptions options;
    CAIRN_TRY_ASSIGN(options.temp_dir, context.repo->temp_dir());
    options.existing = &blocks;
    options.timeout_seconds = 30;
    // The file's bytes plus the DAG's framing: links, CIDs and the CAR's section headers.
    options.max_bytes =
        max_bytes > (UINT64_MAX >> 1) ? UINT64_MAX : max_bytes + max_bytes / 1024 + 65536;
    auto fetched = store::fetch(url, cid, blocks, options);
    if (!fetched) {
      return std::unexpected(std::move(fetched).error().context(fmt::format(
          "{} fetching {} from {} ({})", context.name, cid.to_string(), from.to_checksum(), url)));
    }
    CAIRN_TRY(blocks.pin(cid));
    if (context.metrics) {
      context.metrics->add("artifacts_fetched_total");
      context.metrics->add("artifact_bytes_fetched_total", static_cast<double>(fetched->bytes));
    }
  }
  return read_artifact(context, cid, max_bytes);
}

}  // namespace cairn::market

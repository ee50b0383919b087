#include "market/artifacts.hpp"

#include <fmt/format.h>

#include <charconv>

#include "base/encoding.hpp"
#include "seal/imprint.hpp"
#include "store/cid.hpp"

namespace cairn::market {

using nlohmann::json;

namespace {

// Bounds that keep a hostile document from making a reader allocate or loop without end;
// far above what the writers produce (the contracts cap participants and rounds lower).
constexpr std::uint64_t kMaxRounds = 255;
constexpr std::uint64_t kMaxParticipants = 1000;
constexpr std::size_t kMaxListItems = 100'000;
constexpr std::uint64_t kMaxTaskId = std::uint64_t{1} << 53;

// Reads a document's top level as a closed object and its "type".
Result<JsonObject> open(const json& document, std::string_view what, std::string_view type) {
  CAIRN_TRY_ASSIGN(JsonObject object, JsonObject::of(document, std::string(what)));
  CAIRN_TRY_ASSIGN(std::string actual, object.string("type"));
  if (actual != type) {
    CAIRN_TRY_ASSIGN(JsonNode node, object.required("type"));
    return std::unexpected(node.error(fmt::format("must be \"{}\"", type)));
  }
  return object;
}

Status u64_field(JsonObject& object, std::string_view key, std::uint64_t min, std::uint64_t max) {
  CAIRN_TRY(object.u64(key, min, max));
  return {};
}

Status number_field(JsonObject& object, std::string_view key) {
  CAIRN_TRY(object.number(key));
  return {};
}

Status string_field(JsonObject& object, std::string_view key) {
  CAIRN_TRY(object.string(key));
  return {};
}

Status bool_field(JsonObject& object, std::string_view key) {
  CAIRN_TRY(object.boolean(key));
  return {};
}

Status cid_field(JsonObject& object, std::string_view key) {
  CAIRN_TRY_ASSIGN(JsonNode node, object.required(key));
  CAIRN_TRY(read_cid_text(node));
  return {};
}

// A CID or null.
Status optional_cid_field(JsonObject& object, std::string_view key) {
  CAIRN_TRY_ASSIGN(JsonNode node, object.required(key));
  if (node.is_null()) return {};
  CAIRN_TRY(read_cid_text(node));
  return {};
}

Status address_field(JsonObject& object, std::string_view key) {
  CAIRN_TRY_ASSIGN(JsonNode node, object.required(key));
  CAIRN_TRY(read_address(node));
  return {};
}

Status wei_field(JsonObject& object, std::string_view key) {
  CAIRN_TRY_ASSIGN(JsonNode node, object.required(key));
  CAIRN_TRY(read_decimal_u256(node));
  return {};
}

Status number_list(const JsonNode& node, std::optional<std::size_t> size = {}) {
  CAIRN_TRY_ASSIGN(auto items, node.array(kMaxListItems));
  if (size && items.size() != *size)
    return std::unexpected(node.error(fmt::format("must have {} items", *size)));
  for (const auto& item : items) {
    CAIRN_TRY(item.number());
  }
  return {};
}

// {"format", "features": [dims], "classes"}: the task's and the dataset's schema.
Status check_schema(JsonObject& parent) {
  CAIRN_TRY_ASSIGN(JsonObject schema, parent.object("schema"));
  CAIRN_TRY(string_field(schema, "format"));
  CAIRN_TRY_ASSIGN(JsonNode features, schema.required("features"));
  CAIRN_TRY_ASSIGN(auto dims, features.array(8));
  for (const auto& dim : dims) {
    CAIRN_TRY(dim.u64(1, std::uint64_t{1} << 31));
  }
  CAIRN_TRY(u64_field(schema, "classes", 1, std::uint64_t{1} << 31));
  return schema.close();
}

// learn's ContributionConfig::to_json.
Status check_contribution_config(const JsonNode& node) {
  CAIRN_TRY_ASSIGN(JsonObject config, node.object());
  CAIRN_TRY(u64_field(config, "seed", 0, ~std::uint64_t{0}));
  CAIRN_TRY(u64_field(config, "max_permutations", 0, 1'000'000));
  CAIRN_TRY(number_field(config, "between_round_tolerance"));
  CAIRN_TRY(number_field(config, "within_round_tolerance"));
  CAIRN_TRY(number_field(config, "convergence_tolerance"));
  CAIRN_TRY(u64_field(config, "min_subset", 0, 64));
  return config.close();
}

// learn's RoundContribution::to_json: positions index the client list.
Status check_round_contribution(const JsonNode& node) {
  CAIRN_TRY_ASSIGN(JsonObject object, node.object());
  CAIRN_TRY(u64_field(object, "round", 0, kMaxRounds));
  CAIRN_TRY_ASSIGN(JsonNode clients_node, object.required("clients"));
  CAIRN_TRY_ASSIGN(auto clients, clients_node.array(63));
  for (const auto& client : clients) {
    CAIRN_TRY_ASSIGN(std::string name, client.string());
  }
  const std::size_t n = clients.size();
  CAIRN_TRY(number_field(object, "empty_utility"));
  CAIRN_TRY(number_field(object, "full_utility"));
  CAIRN_TRY(bool_field(object, "truncated_round"));
  auto positions = [&](const JsonNode& list) -> Status {
    CAIRN_TRY_ASSIGN(auto items, list.array(n));
    for (const auto& item : items) {
      CAIRN_TRY(item.u64(0, n == 0 ? 0 : n - 1));
    }
    return {};
  };
  CAIRN_TRY_ASSIGN(JsonNode permutations_node, object.required("permutations"));
  CAIRN_TRY_ASSIGN(auto permutations, permutations_node.array(kMaxListItems));
  for (const auto& permutation : permutations)
    CAIRN_TRY(positions(permutation));
  CAIRN_TRY_ASSIGN(JsonNode subsets_node, object.required("subsets"));
  CAIRN_TRY_ASSIGN(auto subsets, subsets_node.array(kMaxListItems));
  for (const auto& subset_node : subsets) {
    CAIRN_TRY_ASSIGN(JsonObject subset, subset_node.object());
    CAIRN_TRY_ASSIGN(JsonNode members, subset.required("members"));
    CAIRN_TRY(positions(members));
    CAIRN_TRY(number_field(subset, "utility"));
    CAIRN_TRY_ASSIGN(JsonNode digest, subset.required("aggregate_sha256"));
    CAIRN_TRY_ASSIGN(Bytes bytes, digest.hex_bytes(32));
    CAIRN_TRY(subset.close());
  }
  CAIRN_TRY_ASSIGN(JsonNode shapley, object.required("shapley"));
  CAIRN_TRY(number_list(shapley, n));
  CAIRN_TRY_ASSIGN(JsonNode loo, object.required("leave_one_out"));
  CAIRN_TRY(number_list(loo, n));
  return object.close();
}

// [{participant, cid}] (what was summed) or [{participant, cid|null, reason}] (left out).
Status check_participant_list(JsonObject& parent, std::string_view key, bool with_reason) {
  CAIRN_TRY_ASSIGN(JsonNode list, parent.required(key));
  CAIRN_TRY_ASSIGN(auto items, list.array(kMaxParticipants));
  for (const auto& item : items) {
    CAIRN_TRY_ASSIGN(JsonObject entry, item.object());
    CAIRN_TRY(address_field(entry, "participant"));
    CAIRN_TRY_ASSIGN(JsonNode cid, entry.required("cid"));
    // The CID text as committed on chain: only a text that parses is ever summed, but a
    // left-out commitment is listed whatever it said.
    if (!(with_reason && cid.is_null())) {
      CAIRN_TRY_ASSIGN(std::string text, cid.string());
    }
    if (with_reason) CAIRN_TRY(string_field(entry, "reason"));
    CAIRN_TRY(entry.close());
  }
  return {};
}

Result<json> parse_document(ByteView bytes, std::string_view what) {
  CAIRN_TRY_ASSIGN(json document, parse_json(bytes, what));
  if (!document.is_object()) return fail(Errc::parse, fmt::format("{}: not a JSON object", what));
  return document;
}

Status check_task_spec(const json& document, std::string_view what) {
  CAIRN_TRY_ASSIGN(JsonObject spec, open(document, what, kTaskSpecType));
  CAIRN_TRY_ASSIGN(std::string model, spec.string("model"));
  if (model.empty()) return fail(Errc::parse, spec.where("model") + ": must not be empty");
  CAIRN_TRY(cid_field(spec, "initial_parameters"));
  CAIRN_TRY(u64_field(spec, "rounds", 1, kMaxRounds));
  CAIRN_TRY(u64_field(spec, "participants", 1, kMaxParticipants));
  CAIRN_TRY(string_field(spec, "aggregation"));
  CAIRN_TRY(string_field(spec, "privacy"));
  CAIRN_TRY_ASSIGN(JsonNode key, spec.required("paillier_public_key"));
  CAIRN_TRY_ASSIGN(Bytes key_bytes, key.hex_bytes());
  if (key_bytes.empty()) return std::unexpected(key.error("must not be empty"));
  {
    CAIRN_TRY_ASSIGN(JsonObject packing, spec.object("packing"));
    for (const char* name : {"frac_bits", "value_bits", "headroom_bits"})
      CAIRN_TRY(u64_field(packing, name, 0, 255));
    CAIRN_TRY(packing.optional_boolean("packed"));
    CAIRN_TRY(packing.close());
  }
  CAIRN_TRY(check_schema(spec));
  {
    CAIRN_TRY_ASSIGN(JsonObject test_set, spec.object("test_set"));
    CAIRN_TRY(u64_field(test_set, "rows", 1, std::uint64_t{1} << 40));
    CAIRN_TRY_ASSIGN(JsonNode sha, test_set.required("sha256"));
    CAIRN_TRY(sha.hex_bytes(32));
    CAIRN_TRY(test_set.close());
  }
  {
    CAIRN_TRY_ASSIGN(JsonObject training, spec.object("training"));
    CAIRN_TRY(u64_field(training, "epochs", 1, 1000));
    CAIRN_TRY(number_field(training, "lr"));
    CAIRN_TRY(u64_field(training, "batch_size", 1, 1 << 20));
    CAIRN_TRY(u64_field(training, "seed", 0, ~std::uint64_t{0}));
    CAIRN_TRY(training.close());
  }
  CAIRN_TRY(wei_field(spec, "reward_wei"));
  if (auto rule = spec.optional("reward_rule")) {
    CAIRN_TRY_ASSIGN(std::string name, rule->string());
    if (name.empty()) return std::unexpected(rule->error("must not be empty"));
  }
  if (auto admission = spec.optional("admission")) {
    CAIRN_TRY_ASSIGN(JsonObject policy, admission->object());
    CAIRN_TRY_ASSIGN(JsonNode list, policy.required("allowlist"));
    CAIRN_TRY_ASSIGN(auto admitted, list.array(kMaxListItems));
    if (admitted.empty()) return std::unexpected(list.error("must name at least one address"));
    for (const auto& item : admitted)
      CAIRN_TRY(read_address(item));
    CAIRN_TRY(policy.close());
  }
  CAIRN_TRY(u64_field(spec, "round_timeout_s", 1, 7 * 24 * 3600));
  CAIRN_TRY(bool_field(spec, "exclude_harmful"));
  if (auto standardisation = spec.optional("input_standardisation")) {
    CAIRN_TRY_ASSIGN(JsonObject moments, standardisation->object());
    // One mean and one standard deviation for every feature (learn::InputSpec).
    CAIRN_TRY(number_field(moments, "mean"));
    CAIRN_TRY_ASSIGN(double deviation, moments.number("std"));
    if (!(deviation > 0)) return fail(Errc::parse, moments.where("std") + ": must be above 0");
    CAIRN_TRY(moments.close());
  }
  return spec.close();
}

Status check_dataset_manifest(const json& document, std::string_view what) {
  CAIRN_TRY_ASSIGN(JsonObject manifest, open(document, what, kDatasetType));
  CAIRN_TRY(address_field(manifest, "owner"));
  CAIRN_TRY(string_field(manifest, "dataset"));
  CAIRN_TRY(check_schema(manifest));
  CAIRN_TRY_ASSIGN(JsonNode shards_node, manifest.required("shards"));
  CAIRN_TRY_ASSIGN(auto shards, shards_node.array(1024));
  if (shards.empty()) return std::unexpected(shards_node.error("must list at least one shard"));
  for (const auto& shard_node : shards) {
    CAIRN_TRY_ASSIGN(JsonObject shard, shard_node.object());
    CAIRN_TRY(cid_field(shard, "images"));
    CAIRN_TRY(cid_field(shard, "labels"));
    CAIRN_TRY(u64_field(shard, "rows", 0, std::uint64_t{1} << 40));
    CAIRN_TRY(string_field(shard, "encryption"));
    CAIRN_TRY(shard.close());
  }
  {
    // learn's QualityReport::to_json (a ratio of nothing is written as null).
    CAIRN_TRY_ASSIGN(JsonObject quality, manifest.object("quality"));
    for (const char* name :
         {"rows", "missing_values", "duplicate_rows", "nonconforming_cells", "rejected_rows"})
      CAIRN_TRY(u64_field(quality, name, 0, ~std::uint64_t{0}));
    CAIRN_TRY_ASSIGN(JsonNode counts_node, quality.required("label_counts"));
    CAIRN_TRY_ASSIGN(auto counts, counts_node.array(std::size_t{1} << 20));
    for (const auto& count : counts) {
      CAIRN_TRY(count.u64());
    }
    for (const char* name :
         {"label_entropy_bits", "label_balance", "schema_conformance", "completeness"}) {
      CAIRN_TRY_ASSIGN(JsonNode value, quality.required(name));
      if (!value.is_null()) {
        CAIRN_TRY(value.number());
      }
    }
    CAIRN_TRY(quality.close());
  }
  CAIRN_TRY(wei_field(manifest, "price_wei"));
  CAIRN_TRY_ASSIGN(JsonNode compute_node, manifest.required("compute"));
  if (!compute_node.is_null()) {
    CAIRN_TRY_ASSIGN(JsonObject compute, compute_node.object());
    CAIRN_TRY(address_field(compute, "provider"));
    CAIRN_TRY_ASSIGN(JsonNode deal, compute.required("deal"));
    CAIRN_TRY(read_decimal_u64(deal));
    CAIRN_TRY(cid_field(compute, "key"));
    CAIRN_TRY(compute.close());
  }
  return manifest.close();
}

Status check_aggregate_manifest(const json& document, std::string_view what) {
  CAIRN_TRY_ASSIGN(JsonObject manifest, open(document, what, kAggregateType));
  CAIRN_TRY(u64_field(manifest, "task", 0, kMaxTaskId));
  CAIRN_TRY(u64_field(manifest, "round", 0, kMaxRounds));
  CAIRN_TRY(check_participant_list(manifest, "included", false));
  CAIRN_TRY(check_participant_list(manifest, "excluded", true));
  CAIRN_TRY(optional_cid_field(manifest, "sum"));
  return manifest.close();
}

Status check_compute_offer(const json& document, std::string_view what) {
  CAIRN_TRY_ASSIGN(JsonObject offer, open(document, what, kComputeOfferType));
  CAIRN_TRY(address_field(offer, "owner"));
  CAIRN_TRY(wei_field(offer, "price_wei"));
  CAIRN_TRY_ASSIGN(JsonNode key, offer.required("x25519_public_key"));
  CAIRN_TRY(key.hex_bytes(32));
  CAIRN_TRY_ASSIGN(JsonNode deliveries_node, offer.required("deliveries"));
  CAIRN_TRY_ASSIGN(auto deliveries, deliveries_node.array(kMaxListItems));
  for (const auto& delivery_node : deliveries) {
    CAIRN_TRY_ASSIGN(JsonObject delivery, delivery_node.object());
    CAIRN_TRY_ASSIGN(JsonNode deal, delivery.required("deal"));
    CAIRN_TRY(read_decimal_u64(deal));
    CAIRN_TRY(u64_field(delivery, "task", 0, kMaxTaskId));
    CAIRN_TRY(u64_field(delivery, "round", 0, kMaxRounds));
    CAIRN_TRY(address_field(delivery, "participant"));
    CAIRN_TRY(cid_field(delivery, "update"));
    CAIRN_TRY(delivery.close());
  }
  return offer.close();
}

Status check_contribution_report(const json& document, std::string_view what) {
  CAIRN_TRY_ASSIGN(JsonObject report, open(document, what, kContributionsType));
  CAIRN_TRY(u64_field(report, "task_id", 0, kMaxTaskId));
  CAIRN_TRY(string_field(report, "method"));
  CAIRN_TRY_ASSIGN(JsonNode config, report.required("config"));
  if (!config.is_null()) CAIRN_TRY(check_contribution_config(config));
  CAIRN_TRY_ASSIGN(JsonNode rounds_node, report.required("rounds"));
  CAIRN_TRY_ASSIGN(auto rounds, rounds_node.array(kMaxRounds));
  for (const auto& round_node : rounds) {
    CAIRN_TRY_ASSIGN(JsonObject round, round_node.object());
    CAIRN_TRY(u64_field(round, "round", 0, kMaxRounds));
    CAIRN_TRY_ASSIGN(JsonNode contributions, round.required("contributions"));
    if (!contributions.is_null()) CAIRN_TRY(check_round_contribution(contributions));
    CAIRN_TRY(round.close());
  }
  CAIRN_TRY_ASSIGN(JsonNode rewards_node, report.required("rewards"));
  CAIRN_TRY_ASSIGN(auto rewards, rewards_node.array(kMaxParticipants));
  for (const auto& reward_node : rewards) {
    CAIRN_TRY_ASSIGN(JsonObject reward, reward_node.object());
    CAIRN_TRY(address_field(reward, "participant"));
    CAIRN_TRY(wei_field(reward, "amount_wei"));
    CAIRN_TRY(number_field(reward, "shapley_total"));
    CAIRN_TRY(number_field(reward, "leave_one_out_total"));
    CAIRN_TRY(reward.close());
  }
  CAIRN_TRY(string_field(report, "reward_rule"));
  // Reports from TrainingTask v3 on name the pool and the floor the amounts were cut from.
  if (auto pool = report.optional("pool_wei")) CAIRN_TRY(read_decimal_u256(*pool));
  if (auto floor = report.optional("floor_wei")) CAIRN_TRY(read_decimal_u256(*floor));
  return report.close();
}

template <Status (*check)(const json&, std::string_view)>
Result<json> parse_checked(ByteView bytes, std::string_view what) {
  CAIRN_TRY_ASSIGN(json document, parse_document(bytes, what));
  CAIRN_TRY(check(document, what));
  return document;
}

}  // namespace

Status check_round_record(const json& document, std::string_view what) {
  CAIRN_TRY_ASSIGN(JsonObject record, open(document, what, kRoundRecordType));
  CAIRN_TRY(u64_field(record, "task", 0, kMaxTaskId));
  CAIRN_TRY(u64_field(record, "round", 0, kMaxRounds));
  CAIRN_TRY(cid_field(record, "global_model"));
  CAIRN_TRY(number_field(record, "start_accuracy"));
  {
    CAIRN_TRY_ASSIGN(JsonObject aggregate, record.object("aggregate"));
    CAIRN_TRY_ASSIGN(JsonNode posted, aggregate.required("posted"));
    if (!posted.is_null()) {
      CAIRN_TRY(posted.string());  // as committed on chain
    }
    CAIRN_TRY(optional_cid_field(aggregate, "posted_sum"));
    CAIRN_TRY(optional_cid_field(aggregate, "used"));
    CAIRN_TRY(bool_field(aggregate, "accepted"));
    CAIRN_TRY(string_field(aggregate, "reason"));
    CAIRN_TRY(aggregate.close());
  }
  CAIRN_TRY(check_participant_list(record, "included", false));
  CAIRN_TRY(check_participant_list(record, "excluded", true));
  CAIRN_TRY(cid_field(record, "result_model"));
  CAIRN_TRY(number_field(record, "accuracy"));
  CAIRN_TRY_ASSIGN(JsonNode contributions, record.required("contributions"));
  if (!contributions.is_null()) CAIRN_TRY(check_round_contribution(contributions));
  CAIRN_TRY_ASSIGN(JsonNode config, record.required("contribution_config"));
  CAIRN_TRY(check_contribution_config(config));
  {
    // {CID: hex signature}: every key is read, so the object needs no close().
    CAIRN_TRY_ASSIGN(JsonNode signatures, record.required("signatures"));
    CAIRN_TRY_ASSIGN(JsonObject object, signatures.object());
    for (const auto& [cid, signature] : signatures.raw().items()) {
      JsonNode value(signature, object.where(cid));
      if (!store::Cid::parse(cid)) return std::unexpected(value.error("the key is not a CID"));
      CAIRN_TRY_ASSIGN(Bytes bytes, value.hex_bytes());
      if (bytes.empty()) return std::unexpected(value.error("must not be empty"));
    }
  }
  CAIRN_TRY_ASSIGN(JsonNode anchor, record.required("anchor"));
  CAIRN_TRY(read_anchor(anchor));
  return record.close();
}

Result<json> parse_task_spec(ByteView bytes, std::string_view what) {
  return parse_checked<check_task_spec>(bytes, what);
}
Result<json> parse_dataset_manifest(ByteView bytes, std::string_view what) {
  return parse_checked<check_dataset_manifest>(bytes, what);
}
Result<json> parse_aggregate_manifest(ByteView bytes, std::string_view what) {
  return parse_checked<check_aggregate_manifest>(bytes, what);
}
Result<json> parse_round_record(ByteView bytes, std::string_view what) {
  return parse_checked<check_round_record>(bytes, what);
}
Result<json> parse_compute_offer(ByteView bytes, std::string_view what) {
  return parse_checked<check_compute_offer>(bytes, what);
}
Result<json> parse_contribution_report(ByteView bytes, std::string_view what) {
  return parse_checked<check_contribution_report>(bytes, what);
}

Result<std::string> read_cid_text(const JsonNode& node) {
  CAIRN_TRY_ASSIGN(std::string text, node.string());
  if (!store::Cid::parse(text)) return std::unexpected(node.error("must be a CID"));
  return text;
}

Result<store::Cid> read_cid(const JsonNode& node) {
  CAIRN_TRY_ASSIGN(std::string text, node.string());
  auto parsed = store::Cid::parse(text);
  if (!parsed) return std::unexpected(node.error("not a CID (" + parsed.error().message + ")"));
  if (parsed->to_string() != text) return std::unexpected(node.error("CID not in canonical form"));
  return *parsed;
}

Result<ByteArray<32>> read_hash32(const JsonNode& node) {
  CAIRN_TRY_ASSIGN(std::string text, node.string());
  auto bytes = text.size() == 66 && text.starts_with("0x")
                   ? from_hex(std::string_view(text).substr(2))
                   : Result<Bytes>(fail(Errc::parse, ""));
  if (!bytes) return std::unexpected(node.error("must be 0x and 64 hex digits"));
  if (to_hex(*bytes) != text.substr(2))
    return std::unexpected(node.error("hex must be lower case"));
  ByteArray<32> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

Result<seal::Imprint> read_imprint(const JsonNode& node) {
  CAIRN_TRY_ASSIGN(std::string text, node.string());
  auto parsed = seal::Imprint::from_hex(text);
  if (!parsed)
    return std::unexpected(node.error("not an imprint (" + parsed.error().message + ")"));
  if (parsed->hex() != text) return std::unexpected(node.error("imprint not in canonical form"));
  return *parsed;
}

Result<chain::Address> read_address(const JsonNode& node) {
  CAIRN_TRY_ASSIGN(std::string text, node.string());
  auto address = chain::Address::parse(text);
  if (!address) return std::unexpected(node.error("must be an address (0x and 40 hex digits)"));
  return *address;
}

Result<chain::U256> read_decimal_u256(const JsonNode& node) {
  CAIRN_TRY_ASSIGN(std::string text, node.string());
  const bool digits = !text.empty() && text.size() <= 78 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  auto value = digits ? chain::U256::parse(text) : Result<chain::U256>(fail(Errc::parse, ""));
  if (!value) return std::unexpected(node.error("must be a decimal amount below 2^256"));
  if (value->to_decimal() != text) return std::unexpected(node.error("must have no leading zeros"));
  return *value;
}

std::optional<std::uint64_t> decimal_u64(std::string_view text, std::uint64_t max) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

Result<std::uint64_t> read_decimal_u64(const JsonNode& node, std::uint64_t max) {
  CAIRN_TRY_ASSIGN(std::string text, node.string());
  auto value = decimal_u64(text, max);
  if (!value)
    return std::unexpected(node.error(fmt::format("must be a decimal string of at most {}", max)));
  return *value;
}

Result<AnchorRecord> read_anchor(const JsonNode& node) {
  CAIRN_TRY_ASSIGN(JsonObject object, node.object());
  AnchorRecord anchor;
  CAIRN_TRY_ASSIGN(anchor.publication_time, object.u64("publication_time"));
  CAIRN_TRY_ASSIGN(JsonNode root, object.required("root"));
  CAIRN_TRY_ASSIGN(anchor.root, read_imprint(root));
  CAIRN_TRY_ASSIGN(JsonNode contract, object.required("contract"));
  CAIRN_TRY_ASSIGN(anchor.contract, read_address(contract));
  CAIRN_TRY_ASSIGN(JsonNode signer, object.required("signer"));
  CAIRN_TRY_ASSIGN(anchor.signer, read_address(signer));
  CAIRN_TRY_ASSIGN(JsonNode tx, object.required("tx"));
  CAIRN_TRY_ASSIGN(anchor.tx, read_hash32(tx));
  CAIRN_TRY_ASSIGN(anchor.block, object.u64("block"));
  CAIRN_TRY(object.close());
  return anchor;
}

json anchor_to_json(const AnchorRecord& anchor) {
  return {{"publication_time", anchor.publication_time},
          {"root", anchor.root.hex()},
          {"contract", anchor.contract.to_checksum()},
          {"signer", anchor.signer.to_checksum()},
          {"tx", "0x" + to_hex(anchor.tx)},
          {"block", anchor.block}};
}

// ---- local state ----

Result<OfferState> parse_offer_state(ByteView bytes) {
  constexpr std::string_view what = "data_provider/offer.json";
  CAIRN_TRY_ASSIGN(json document, parse_json(bytes, what));
  CAIRN_TRY_ASSIGN(JsonObject object, JsonObject::of(document, std::string(what)));
  OfferState state;
  CAIRN_TRY_ASSIGN(JsonNode manifest, object.required("manifest"));
  CAIRN_TRY_ASSIGN(state.manifest, read_cid_text(manifest));
  CAIRN_TRY_ASSIGN(JsonNode sha, object.required("data_sha256"));
  CAIRN_TRY_ASSIGN(Bytes digest, sha.hex_bytes(32));
  state.data_sha256 = to_hex(digest);
  if (auto signature = object.optional("signature")) {
    CAIRN_TRY_ASSIGN(state.signature, read_cid_text(*signature));
  }
  CAIRN_TRY(object.close());
  return state;
}

json offer_state_to_json(const OfferState& state) {
  json out = {{"manifest", state.manifest}, {"data_sha256", state.data_sha256}};
  if (state.signature) out["signature"] = *state.signature;
  return out;
}

Result<DelegationState> parse_delegation_state(ByteView bytes) {
  constexpr std::string_view what = "data_provider/delegation.json";
  CAIRN_TRY_ASSIGN(json document, parse_json(bytes, what));
  CAIRN_TRY_ASSIGN(JsonObject object, JsonObject::of(document, std::string(what)));
  DelegationState state;
  CAIRN_TRY_ASSIGN(JsonNode provider, object.required("compute_provider"));
  CAIRN_TRY_ASSIGN(chain::Address address, read_address(provider));
  state.compute_provider = address.to_checksum();
  CAIRN_TRY_ASSIGN(JsonNode key, object.required("wrapped_key"));
  CAIRN_TRY_ASSIGN(state.wrapped_key, read_cid_text(key));
  if (auto deal = object.optional("deal")) {
    CAIRN_TRY_ASSIGN(std::uint64_t id, read_decimal_u64(*deal));
    state.deal = std::to_string(id);
  }
  CAIRN_TRY(object.close());
  return state;
}

json delegation_state_to_json(const DelegationState& state) {
  json out = {{"compute_provider", state.compute_provider}, {"wrapped_key", state.wrapped_key}};
  if (state.deal) out["deal"] = *state.deal;
  return out;
}

}  // namespace cairn::market

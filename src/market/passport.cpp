#include "market/passport.hpp"

#include <fmt/format.h>

#include <fstream>
#include <set>

#include "base/encoding.hpp"
#include "chain/contract.hpp"
#include "crypto/hash.hpp"
#include "seal/publication.hpp"
#include "seal/verify.hpp"
#include "store/exporter.hpp"
#include "store/importer.hpp"

namespace cairn::market {

using nlohmann::json;

// ---------------------------------------------------------------------------------------
// Helpers shared by writing and checking

Bytes canonical_json_bytes(const json& value) {
  // nlohmann::json keeps object keys sorted, so dump() is canonical for a given value.
  return to_bytes(value.dump());
}

Result<store::Cid> unixfs_cid(ByteView bytes) {
  store::DiscardingSink sink;
  CAIRN_TRY_ASSIGN(store::ImportedFile imported, store::import_bytes(bytes, sink));
  return imported.cid;
}

Result<store::Cid> unixfs_cid_of_file(const std::filesystem::path& path) {
  store::DiscardingSink sink;
  CAIRN_TRY_ASSIGN(store::ImportedFile imported, store::import_file(path, sink));
  return imported.cid;
}

Result<ByteArray<32>> cid_commitment(const store::Cid& cid) {
  if (!cid.valid()) return fail(Errc::invalid_argument, "empty CID");
  if (cid.hash().code != store::multihash_code::kSha2_256 || cid.hash().digest.size() != 32) {
    return fail(Errc::unsupported, "commitments need a sha2-256 CID: " + cid.to_string());
  }
  ByteArray<32> word{};
  std::copy(cid.hash().digest.begin(), cid.hash().digest.end(), word.begin());
  return word;
}

Result<seal::Imprint> cid_imprint(const store::Cid& cid) {
  CAIRN_TRY_ASSIGN(ByteArray<32> word, cid_commitment(cid));
  return seal::Imprint::of(seal::HashId::sha2_256, word);
}

seal::Imprint body_imprint(const PassportBody& body) {
  const Bytes bytes = canonical_json_bytes(body_to_json(body));
  return seal::hash_data(seal::HashId::sha2_256, bytes);
}

std::string hash_hex(const ByteArray<32>& hash) {
  return "0x" + to_hex(hash);
}

namespace {

// ---------------------------------------------------------------------------------------
// Writing

json sealed_json(const SealedArtifact& artifact) {
  return {{"cid", artifact.cid.to_string()}, {"seal", to_hex(artifact.signature)}};
}

json anchor_json(const AnchorRecord& anchor) {
  return {{"publication_time", anchor.publication_time},
          {"root", anchor.root.hex()},
          {"contract", anchor.contract.to_checksum()},
          {"signer", anchor.signer.to_checksum()},
          {"tx", hash_hex(anchor.tx)},
          {"block", anchor.block}};
}

// ---------------------------------------------------------------------------------------
// Strict reading: every accessor names the field's path in its error.

class Node {
 public:
  Node(const json& value, std::string path) : value_(value), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  const json& raw() const { return value_; }

  Error error(std::string_view problem) const {
    return Error{Errc::parse, fmt::format("{}: {}", path_, problem)};
  }

  // An object with exactly these keys (all required unless listed in `optional`).
  Status object(std::initializer_list<std::string_view> required,
                std::initializer_list<std::string_view> optional = {}) const {
    if (!value_.is_object()) return std::unexpected(error("must be an object"));
    for (std::string_view key : required) {
      if (!value_.contains(std::string(key))) {
        return std::unexpected(Error{Errc::parse, fmt::format("{}.{}: missing", path_, key)});
      }
    }
    for (const auto& [key, unused] : value_.items()) {
      bool known = false;
      for (std::string_view k : required)
        known = known || k == key;
      for (std::string_view k : optional)
        known = known || k == key;
      if (!known) {
        return std::unexpected(Error{Errc::parse, fmt::format("{}.{}: unknown field", path_, key)});
      }
    }
    return {};
  }

  bool has(std::string_view key) const { return value_.contains(std::string(key)); }
  Node operator[](std::string_view key) const {
    return Node(value_.at(std::string(key)), fmt::format("{}.{}", path_, key));
  }

  Result<std::vector<Node>> array() const {
    if (!value_.is_array()) return std::unexpected(error("must be an array"));
    std::vector<Node> items;
    for (std::size_t i = 0; i < value_.size(); ++i)
      items.emplace_back(value_[i], fmt::format("{}[{}]", path_, i));
    return items;
  }

  Result<std::string> string() const {
    if (!value_.is_string()) return std::unexpected(error("must be a string"));
    return value_.get<std::string>();
  }
  Result<std::uint64_t> u64() const {
    if (!value_.is_number_unsigned() &&
        !(value_.is_number_integer() && value_.get<std::int64_t>() >= 0)) {
      return std::unexpected(error("must be a non-negative integer"));
    }
    return value_.get<std::uint64_t>();
  }
  Result<double> number() const {
    if (!value_.is_number()) return std::unexpected(error("must be a number"));
    return value_.get<double>();
  }
  Result<json> object_value() const {
    if (!value_.is_object()) return std::unexpected(error("must be an object"));
    return value_;
  }
  Result<store::Cid> cid() const {
    CAIRN_TRY_ASSIGN(std::string text, string());
    auto parsed = store::Cid::parse(text);
    if (!parsed) return std::unexpected(error("not a CID (" + parsed.error().message + ")"));
    if (parsed->to_string() != text) return std::unexpected(error("CID not in canonical form"));
    return *parsed;
  }
  Result<chain::Address> address() const {
    CAIRN_TRY_ASSIGN(std::string text, string());
    auto parsed = chain::Address::parse(text);
    if (!parsed) return std::unexpected(error("not an address (" + parsed.error().message + ")"));
    return *parsed;
  }
  Result<ByteArray<32>> hash32() const {
    CAIRN_TRY_ASSIGN(std::string text, string());
    if (text.size() != 66 || text.rfind("0x", 0) != 0) {
      return std::unexpected(error("must be 0x and 64 hex digits"));
    }
    auto bytes = from_hex(std::string_view(text).substr(2));
    if (!bytes) return std::unexpected(error("not hex"));
    if (to_hex(*bytes) != text.substr(2)) return std::unexpected(error("hex must be lower case"));
    ByteArray<32> out{};
    std::copy(bytes->begin(), bytes->end(), out.begin());
    return out;
  }
  Result<Bytes> hex_bytes() const {
    CAIRN_TRY_ASSIGN(std::string text, string());
    auto bytes = from_hex(text);
    if (!bytes) return std::unexpected(error("not hex"));
    if (to_hex(*bytes) != text) return std::unexpected(error("hex must be lower case"));
    return *bytes;
  }
  Result<seal::Imprint> imprint() const {
    CAIRN_TRY_ASSIGN(std::string text, string());
    auto parsed = seal::Imprint::from_hex(text);
    if (!parsed) return std::unexpected(error("not an imprint (" + parsed.error().message + ")"));
    if (parsed->hex() != text) return std::unexpected(error("imprint not in canonical form"));
    return *parsed;
  }
  Result<chain::U256> u256_decimal() const {
    CAIRN_TRY_ASSIGN(std::string text, string());
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
      return std::unexpected(error("must be a decimal integer string"));
    }
    auto parsed = chain::U256::parse(text);
    if (!parsed || parsed->to_decimal() != text) {
      return std::unexpected(error("not a canonical 256-bit decimal"));
    }
    return *parsed;
  }

 private:
  const json& value_;
  std::string path_;
};

Result<SealedArtifact> read_sealed(const Node& node) {
  CAIRN_TRY(node.object({"cid", "seal"}));
  SealedArtifact artifact;
  CAIRN_TRY_ASSIGN(artifact.cid, node["cid"].cid());
  CAIRN_TRY_ASSIGN(artifact.signature, node["seal"].hex_bytes());
  if (auto parsed = seal::Signature::parse(artifact.signature); !parsed) {
    return std::unexpected(
        node["seal"].error("not a KSI signature (" + parsed.error().message + ")"));
  }
  return artifact;
}

Result<AnchorRecord> read_anchor(const Node& node) {
  CAIRN_TRY(node.object({"publication_time", "root", "contract", "signer", "tx", "block"}));
  AnchorRecord anchor;
  CAIRN_TRY_ASSIGN(anchor.publication_time, node["publication_time"].u64());
  CAIRN_TRY_ASSIGN(anchor.root, node["root"].imprint());
  CAIRN_TRY_ASSIGN(anchor.contract, node["contract"].address());
  CAIRN_TRY_ASSIGN(anchor.signer, node["signer"].address());
  CAIRN_TRY_ASSIGN(anchor.tx, node["tx"].hash32());
  CAIRN_TRY_ASSIGN(anchor.block, node["block"].u64());
  return anchor;
}

Result<PassportBody> read_body(const Node& node) {
  CAIRN_TRY(node.object({"model", "task", "participants", "datasets", "rounds", "anchors",
                         "evaluation", "software", "calendar_certificate"}));
  PassportBody body;
  {
    Node model = node["model"];
    CAIRN_TRY(model.object({"cid", "seal", "size", "format"}));
    CAIRN_TRY_ASSIGN(body.model.sealed.cid, model["cid"].cid());
    CAIRN_TRY_ASSIGN(body.model.sealed.signature, model["seal"].hex_bytes());
    CAIRN_TRY_ASSIGN(body.model.size, model["size"].u64());
    CAIRN_TRY_ASSIGN(body.model.format, model["format"].string());
  }
  {
    Node task = node["task"];
    CAIRN_TRY(task.object({"chain_id", "training_task", "registry", "task_id", "owner",
                           "aggregator", "spec", "spec_cid", "rounds", "create_tx"}));
    CAIRN_TRY_ASSIGN(body.task.chain_id, task["chain_id"].u64());
    CAIRN_TRY_ASSIGN(body.task.training_task, task["training_task"].address());
    CAIRN_TRY_ASSIGN(body.task.registry, task["registry"].address());
    CAIRN_TRY_ASSIGN(body.task.task_id, task["task_id"].u64());
    CAIRN_TRY_ASSIGN(body.task.owner, task["owner"].address());
    CAIRN_TRY_ASSIGN(body.task.aggregator, task["aggregator"].address());
    CAIRN_TRY_ASSIGN(body.task.spec, task["spec"].object_value());
    CAIRN_TRY_ASSIGN(body.task.spec_cid, task["spec_cid"].cid());
    CAIRN_TRY_ASSIGN(body.task.rounds, task["rounds"].u64());
    CAIRN_TRY_ASSIGN(body.task.create_tx, task["create_tx"].hash32());
  }
  CAIRN_TRY_ASSIGN(auto participants, node["participants"].array());
  for (const Node& item : participants) {
    CAIRN_TRY(item.object({"name", "address", "roles"}, {"join_tx"}));
    Participant participant;
    CAIRN_TRY_ASSIGN(participant.name, item["name"].string());
    CAIRN_TRY_ASSIGN(participant.address, item["address"].address());
    CAIRN_TRY_ASSIGN(auto roles, item["roles"].array());
    for (const Node& role : roles) {
      CAIRN_TRY_ASSIGN(std::string text, role.string());
      participant.roles.push_back(std::move(text));
    }
    if (item.has("join_tx")) {
      CAIRN_TRY_ASSIGN(participant.join_tx, item["join_tx"].hash32());
    }
    body.participants.push_back(std::move(participant));
  }
  CAIRN_TRY_ASSIGN(auto datasets, node["datasets"].array());
  for (const Node& item : datasets) {
    CAIRN_TRY(item.object({"owner", "manifest", "manifest_cid", "seal"},
                          {"registry_entry", "register_tx"}));
    DatasetRecord dataset;
    CAIRN_TRY_ASSIGN(dataset.owner, item["owner"].address());
    CAIRN_TRY_ASSIGN(dataset.manifest, item["manifest"].object_value());
    CAIRN_TRY_ASSIGN(dataset.sealed.cid, item["manifest_cid"].cid());
    CAIRN_TRY_ASSIGN(dataset.sealed.signature, item["seal"].hex_bytes());
    if (item.has("registry_entry") != item.has("register_tx")) {
      return std::unexpected(item.error("registry_entry and register_tx go together"));
    }
    if (item.has("registry_entry")) {
      CAIRN_TRY_ASSIGN(dataset.registry_entry, item["registry_entry"].u64());
      CAIRN_TRY_ASSIGN(dataset.register_tx, item["register_tx"].hash32());
    }
    body.datasets.push_back(std::move(dataset));
  }
  CAIRN_TRY_ASSIGN(auto rounds, node["rounds"].array());
  for (const Node& item : rounds) {
    CAIRN_TRY(item.object(
        {"round", "global_model", "updates", "aggregate", "aggregate_tx", "accepted", "reason",
         "excluded", "result_model", "accuracy", "record", "record_cid", "close_tx"},
        {"sum_used"}));
    RoundRecord round;
    CAIRN_TRY_ASSIGN(round.round, item["round"].u64());
    CAIRN_TRY_ASSIGN(round.global_model, item["global_model"].cid());
    CAIRN_TRY_ASSIGN(auto updates, item["updates"].array());
    for (const Node& update_node : updates) {
      CAIRN_TRY(update_node.object({"participant", "cid", "seal", "commit_tx"}));
      UpdateRecord update;
      CAIRN_TRY_ASSIGN(update.participant, update_node["participant"].address());
      CAIRN_TRY_ASSIGN(update.sealed.cid, update_node["cid"].cid());
      CAIRN_TRY_ASSIGN(update.sealed.signature, update_node["seal"].hex_bytes());
      CAIRN_TRY_ASSIGN(update.commit_tx, update_node["commit_tx"].hash32());
      round.updates.push_back(std::move(update));
    }
    CAIRN_TRY_ASSIGN(round.aggregate, read_sealed(item["aggregate"]));
    CAIRN_TRY_ASSIGN(round.aggregate_tx, item["aggregate_tx"].hash32());
    if (item.has("sum_used")) {
      CAIRN_TRY_ASSIGN(round.sum_used, read_sealed(item["sum_used"]));
    }
    {
      const Node accepted = item["accepted"];
      if (!accepted.raw().is_boolean()) return std::unexpected(accepted.error("must be a boolean"));
      round.accepted = accepted.raw().get<bool>();
    }
    CAIRN_TRY_ASSIGN(round.reason, item["reason"].string());
    CAIRN_TRY_ASSIGN(auto excluded, item["excluded"].array());
    for (const Node& exclusion_node : excluded) {
      CAIRN_TRY(exclusion_node.object({"participant", "cid", "reason"}));
      ExclusionRecord exclusion;
      CAIRN_TRY_ASSIGN(exclusion.participant, exclusion_node["participant"].address());
      if (!exclusion_node["cid"].raw().is_null()) {
        CAIRN_TRY_ASSIGN(exclusion.cid, exclusion_node["cid"].string());
      }
      CAIRN_TRY_ASSIGN(exclusion.reason, exclusion_node["reason"].string());
      round.excluded.push_back(std::move(exclusion));
    }
    CAIRN_TRY_ASSIGN(round.record, item["record"].object_value());
    CAIRN_TRY_ASSIGN(round.record_cid, item["record_cid"].cid());
    CAIRN_TRY_ASSIGN(round.close_tx, item["close_tx"].hash32());
    CAIRN_TRY_ASSIGN(round.result_model, read_sealed(item["result_model"]));
    CAIRN_TRY_ASSIGN(round.accuracy, item["accuracy"].number());
    body.rounds.push_back(std::move(round));
  }
  CAIRN_TRY_ASSIGN(auto anchors, node["anchors"].array());
  for (const Node& item : anchors) {
    CAIRN_TRY_ASSIGN(AnchorRecord anchor, read_anchor(item));
    body.anchors.push_back(std::move(anchor));
  }
  {
    Node evaluation = node["evaluation"];
    CAIRN_TRY(evaluation.object(
        {"report", "report_cid", "seal", "report_tx", "rewards", "final_accuracy"}));
    CAIRN_TRY_ASSIGN(body.evaluation.report, evaluation["report"].object_value());
    CAIRN_TRY_ASSIGN(body.evaluation.sealed.cid, evaluation["report_cid"].cid());
    CAIRN_TRY_ASSIGN(body.evaluation.sealed.signature, evaluation["seal"].hex_bytes());
    CAIRN_TRY_ASSIGN(body.evaluation.report_tx, evaluation["report_tx"].hash32());
    CAIRN_TRY_ASSIGN(auto rewards, evaluation["rewards"].array());
    for (const Node& item : rewards) {
      CAIRN_TRY(item.object({"participant", "amount_wei"}));
      RewardRecord reward;
      CAIRN_TRY_ASSIGN(reward.participant, item["participant"].address());
      CAIRN_TRY_ASSIGN(reward.amount, item["amount_wei"].u256_decimal());
      body.evaluation.rewards.push_back(reward);
    }
    CAIRN_TRY_ASSIGN(body.evaluation.final_accuracy, evaluation["final_accuracy"].number());
  }
  {
    Node software = node["software"];
    CAIRN_TRY(
        software.object({"cairn_version", "git_commit", "libtorch_version", "binary_sha256"}));
    CAIRN_TRY_ASSIGN(body.software.cairn_version, software["cairn_version"].string());
    CAIRN_TRY_ASSIGN(body.software.git_commit, software["git_commit"].string());
    CAIRN_TRY_ASSIGN(body.software.libtorch_version, software["libtorch_version"].string());
    CAIRN_TRY_ASSIGN(body.software.binary_sha256, software["binary_sha256"].string());
  }
  CAIRN_TRY_ASSIGN(body.calendar_certificate, node["calendar_certificate"].hex_bytes());
  return body;
}

}  // namespace

json body_to_json(const PassportBody& body) {
  json out;
  out["model"] = {{"cid", body.model.sealed.cid.to_string()},
                  {"seal", to_hex(body.model.sealed.signature)},
                  {"size", body.model.size},
                  {"format", body.model.format}};
  out["task"] = {{"chain_id", body.task.chain_id},
                 {"training_task", body.task.training_task.to_checksum()},
                 {"registry", body.task.registry.to_checksum()},
                 {"task_id", body.task.task_id},
                 {"owner", body.task.owner.to_checksum()},
                 {"aggregator", body.task.aggregator.to_checksum()},
                 {"spec", body.task.spec},
                 {"spec_cid", body.task.spec_cid.to_string()},
                 {"rounds", body.task.rounds},
                 {"create_tx", hash_hex(body.task.create_tx)}};
  out["participants"] = json::array();
  for (const auto& participant : body.participants) {
    json item = {{"name", participant.name},
                 {"address", participant.address.to_checksum()},
                 {"roles", participant.roles}};
    if (participant.join_tx) item["join_tx"] = hash_hex(*participant.join_tx);
    out["participants"].push_back(std::move(item));
  }
  out["datasets"] = json::array();
  for (const auto& dataset : body.datasets) {
    json item = {{"owner", dataset.owner.to_checksum()},
                 {"manifest", dataset.manifest},
                 {"manifest_cid", dataset.sealed.cid.to_string()},
                 {"seal", to_hex(dataset.sealed.signature)}};
    if (dataset.registry_entry && dataset.register_tx) {
      item["registry_entry"] = *dataset.registry_entry;
      item["register_tx"] = hash_hex(*dataset.register_tx);
    }
    out["datasets"].push_back(std::move(item));
  }
  out["rounds"] = json::array();
  for (const auto& round : body.rounds) {
    json updates = json::array();
    for (const auto& update : round.updates) {
      updates.push_back({{"participant", update.participant.to_checksum()},
                         {"cid", update.sealed.cid.to_string()},
                         {"seal", to_hex(update.sealed.signature)},
                         {"commit_tx", hash_hex(update.commit_tx)}});
    }
    json excluded = json::array();
    for (const auto& exclusion : round.excluded) {
      excluded.push_back({{"participant", exclusion.participant.to_checksum()},
                          {"cid", exclusion.cid ? json(*exclusion.cid) : json(nullptr)},
                          {"reason", exclusion.reason}});
    }
    json item = {{"round", round.round},
                 {"global_model", round.global_model.to_string()},
                 {"updates", std::move(updates)},
                 {"aggregate", sealed_json(round.aggregate)},
                 {"aggregate_tx", hash_hex(round.aggregate_tx)},
                 {"accepted", round.accepted},
                 {"reason", round.reason},
                 {"excluded", std::move(excluded)},
                 {"result_model", sealed_json(round.result_model)},
                 {"accuracy", round.accuracy},
                 {"record", round.record},
                 {"record_cid", round.record_cid.to_string()},
                 {"close_tx", hash_hex(round.close_tx)}};
    if (round.sum_used) item["sum_used"] = sealed_json(*round.sum_used);
    out["rounds"].push_back(std::move(item));
  }
  out["anchors"] = json::array();
  for (const auto& anchor : body.anchors)
    out["anchors"].push_back(anchor_json(anchor));
  json rewards = json::array();
  for (const auto& reward : body.evaluation.rewards) {
    rewards.push_back({{"participant", reward.participant.to_checksum()},
                       {"amount_wei", reward.amount.to_decimal()}});
  }
  out["evaluation"] = {{"report", body.evaluation.report},
                       {"report_cid", body.evaluation.sealed.cid.to_string()},
                       {"seal", to_hex(body.evaluation.sealed.signature)},
                       {"report_tx", hash_hex(body.evaluation.report_tx)},
                       {"rewards", std::move(rewards)},
                       {"final_accuracy", body.evaluation.final_accuracy}};
  out["software"] = {{"cairn_version", body.software.cairn_version},
                     {"git_commit", body.software.git_commit},
                     {"libtorch_version", body.software.libtorch_version},
                     {"binary_sha256", body.software.binary_sha256}};
  out["calendar_certificate"] = to_hex(body.calendar_certificate);
  return out;
}

json passport_to_json(const Passport& passport) {
  return {{"format", kPassportFormat},
          {"version", kPassportVersion},
          {"body", body_to_json(passport.body)},
          {"closing",
           {{"seal", to_hex(passport.closing_signature)},
            {"anchor", anchor_json(passport.closing_anchor)}}}};
}

std::string serialize_passport(const Passport& passport) {
  return passport_to_json(passport).dump(2) + "\n";
}

Result<Passport> passport_from_json(const json& value) {
  Node root(value, "passport");
  CAIRN_TRY(root.object({"format", "version", "body", "closing"}));
  CAIRN_TRY_ASSIGN(std::string format, root["format"].string());
  if (format != kPassportFormat) {
    return std::unexpected(root["format"].error(fmt::format("expected \"{}\"", kPassportFormat)));
  }
  CAIRN_TRY_ASSIGN(std::uint64_t version, root["version"].u64());
  if (version != kPassportVersion) {
    return fail(Errc::unsupported,
                fmt::format("passport.version: {} is not supported (this cairn reads {})", version,
                            kPassportVersion));
  }
  Passport passport;
  CAIRN_TRY_ASSIGN(passport.body, read_body(root["body"]));
  Node closing = root["closing"];
  CAIRN_TRY(closing.object({"seal", "anchor"}));
  CAIRN_TRY_ASSIGN(passport.closing_signature, closing["seal"].hex_bytes());
  CAIRN_TRY_ASSIGN(passport.closing_anchor, read_anchor(closing["anchor"]));
  return passport;
}

Result<Passport> parse_passport(ByteView text) {
  const auto* begin = reinterpret_cast<const char*>(text.data());
  json value = json::parse(begin, begin + text.size(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return fail(Errc::parse, "passport: not valid JSON");
  return passport_from_json(value);
}

}  // namespace cairn::market

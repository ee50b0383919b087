#include "market/passport.hpp"

#include <fmt/format.h>

#include <fstream>
#include <set>

#include "base/encoding.hpp"
#include "chain/contract.hpp"
#include "crypto/hash.hpp"
#include "market/artifacts.hpp"
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

// ---------------------------------------------------------------------------------------
// Strict reading, on base/json's closed objects and market/artifacts' domain readers: every
// error names the field's path, unknown fields are refused, and CIDs, hashes and amounts
// must be in the canonical form cairn writes (so that the body's hash is reproducible).

Result<SealedArtifact> read_sealed(const JsonNode& node) {
  CAIRN_TRY_ASSIGN(JsonObject object, node.object());
  SealedArtifact artifact;
  CAIRN_TRY_ASSIGN(JsonNode cid, object.required("cid"));
  CAIRN_TRY_ASSIGN(artifact.cid, read_cid(cid));
  CAIRN_TRY_ASSIGN(JsonNode seal_node, object.required("seal"));
  CAIRN_TRY_ASSIGN(artifact.signature, seal_node.hex_bytes());
  if (auto parsed = seal::Signature::parse(artifact.signature); !parsed) {
    return std::unexpected(seal_node.error("not a KSI signature (" + parsed.error().message + ")"));
  }
  CAIRN_TRY(object.close());
  return artifact;
}

// A closed object's required member read by `reader` (read_cid, read_address, …).
template <typename Reader>
auto read_member(JsonObject& object, std::string_view key, Reader reader)
    -> decltype(reader(std::declval<const JsonNode&>())) {
  CAIRN_TRY_ASSIGN(JsonNode node, object.required(key));
  return reader(node);
}

Result<nlohmann::json> read_object_value(const JsonNode& node) {
  if (!node.raw().is_object()) return std::unexpected(node.error("must be an object"));
  return node.raw();
}

Result<std::vector<JsonNode>> read_array(JsonObject& object, std::string_view key) {
  CAIRN_TRY_ASSIGN(JsonNode node, object.required(key));
  return node.array();
}

Result<PassportBody> read_body(JsonObject& node) {
  PassportBody body;
  {
    CAIRN_TRY_ASSIGN(JsonObject model, node.object("model"));
    CAIRN_TRY_ASSIGN(body.model.sealed.cid, read_member(model, "cid", read_cid));
    CAIRN_TRY_ASSIGN(JsonNode seal_node, model.required("seal"));
    CAIRN_TRY_ASSIGN(body.model.sealed.signature, seal_node.hex_bytes());
    CAIRN_TRY_ASSIGN(body.model.size, model.u64("size"));
    CAIRN_TRY_ASSIGN(body.model.format, model.string("format"));
    CAIRN_TRY(model.close());
  }
  {
    CAIRN_TRY_ASSIGN(JsonObject task, node.object("task"));
    CAIRN_TRY_ASSIGN(body.task.chain_id, task.u64("chain_id"));
    CAIRN_TRY_ASSIGN(body.task.training_task, read_member(task, "training_task", read_address));
    CAIRN_TRY_ASSIGN(body.task.registry, read_member(task, "registry", read_address));
    CAIRN_TRY_ASSIGN(body.task.task_id, task.u64("task_id"));
    CAIRN_TRY_ASSIGN(body.task.owner, read_member(task, "owner", read_address));
    CAIRN_TRY_ASSIGN(body.task.aggregator, read_member(task, "aggregator", read_address));
    CAIRN_TRY_ASSIGN(body.task.spec, read_member(task, "spec", read_object_value));
    CAIRN_TRY_ASSIGN(body.task.spec_cid, read_member(task, "spec_cid", read_cid));
    CAIRN_TRY_ASSIGN(body.task.rounds, task.u64("rounds"));
    CAIRN_TRY_ASSIGN(body.task.create_tx, read_member(task, "create_tx", read_hash32));
    CAIRN_TRY(task.close());
  }
  CAIRN_TRY_ASSIGN(auto participants, read_array(node, "participants"));
  for (const JsonNode& item_node : participants) {
    CAIRN_TRY_ASSIGN(JsonObject item, item_node.object());
    Participant participant;
    CAIRN_TRY_ASSIGN(participant.name, item.string("name"));
    CAIRN_TRY_ASSIGN(participant.address, read_member(item, "address", read_address));
    CAIRN_TRY_ASSIGN(auto roles, read_array(item, "roles"));
    for (const JsonNode& role : roles) {
      CAIRN_TRY_ASSIGN(std::string text, role.string());
      participant.roles.push_back(std::move(text));
    }
    if (auto join_tx = item.optional("join_tx")) {
      CAIRN_TRY_ASSIGN(participant.join_tx, read_hash32(*join_tx));
    }
    CAIRN_TRY(item.close());
    body.participants.push_back(std::move(participant));
  }
  CAIRN_TRY_ASSIGN(auto datasets, read_array(node, "datasets"));
  for (const JsonNode& item_node : datasets) {
    CAIRN_TRY_ASSIGN(JsonObject item, item_node.object());
    DatasetRecord dataset;
    CAIRN_TRY_ASSIGN(dataset.owner, read_member(item, "owner", read_address));
    CAIRN_TRY_ASSIGN(dataset.manifest, read_member(item, "manifest", read_object_value));
    CAIRN_TRY_ASSIGN(dataset.sealed.cid, read_member(item, "manifest_cid", read_cid));
    CAIRN_TRY_ASSIGN(JsonNode seal_node, item.required("seal"));
    CAIRN_TRY_ASSIGN(dataset.sealed.signature, seal_node.hex_bytes());
    if (item.has("registry_entry") != item.has("register_tx")) {
      return std::unexpected(item_node.error("registry_entry and register_tx go together"));
    }
    if (item.has("registry_entry")) {
      CAIRN_TRY_ASSIGN(dataset.registry_entry, item.u64("registry_entry"));
      CAIRN_TRY_ASSIGN(dataset.register_tx, read_member(item, "register_tx", read_hash32));
    }
    CAIRN_TRY(item.close());
    body.datasets.push_back(std::move(dataset));
  }
  CAIRN_TRY_ASSIGN(auto rounds, read_array(node, "rounds"));
  for (const JsonNode& item_node : rounds) {
    CAIRN_TRY_ASSIGN(JsonObject item, item_node.object());
    RoundRecord round;
    CAIRN_TRY_ASSIGN(round.round, item.u64("round"));
    CAIRN_TRY_ASSIGN(round.global_model, read_member(item, "global_model", read_cid));
    CAIRN_TRY_ASSIGN(auto updates, read_array(item, "updates"));
    for (const JsonNode& update_node : updates) {
      CAIRN_TRY_ASSIGN(JsonObject update_object, update_node.object());
      UpdateRecord update;
      CAIRN_TRY_ASSIGN(update.participant, read_member(update_object, "participant", read_address));
      CAIRN_TRY_ASSIGN(update.sealed.cid, read_member(update_object, "cid", read_cid));
      CAIRN_TRY_ASSIGN(JsonNode seal_node, update_object.required("seal"));
      CAIRN_TRY_ASSIGN(update.sealed.signature, seal_node.hex_bytes());
      CAIRN_TRY_ASSIGN(update.commit_tx, read_member(update_object, "commit_tx", read_hash32));
      CAIRN_TRY(update_object.close());
      round.updates.push_back(std::move(update));
    }
    CAIRN_TRY_ASSIGN(round.aggregate, read_member(item, "aggregate", read_sealed));
    CAIRN_TRY_ASSIGN(round.aggregate_tx, read_member(item, "aggregate_tx", read_hash32));
    if (auto sum_used = item.optional("sum_used")) {
      CAIRN_TRY_ASSIGN(round.sum_used, read_sealed(*sum_used));
    }
    CAIRN_TRY_ASSIGN(round.accepted, item.boolean("accepted"));
    CAIRN_TRY_ASSIGN(round.reason, item.string("reason"));
    CAIRN_TRY_ASSIGN(auto excluded, read_array(item, "excluded"));
    for (const JsonNode& exclusion_node : excluded) {
      CAIRN_TRY_ASSIGN(JsonObject exclusion_object, exclusion_node.object());
      ExclusionRecord exclusion;
      CAIRN_TRY_ASSIGN(exclusion.participant,
                       read_member(exclusion_object, "participant", read_address));
      CAIRN_TRY_ASSIGN(JsonNode cid, exclusion_object.required("cid"));
      if (!cid.is_null()) {
        CAIRN_TRY_ASSIGN(exclusion.cid, cid.string());
      }
      CAIRN_TRY_ASSIGN(exclusion.reason, exclusion_object.string("reason"));
      CAIRN_TRY(exclusion_object.close());
      round.excluded.push_back(std::move(exclusion));
    }
    CAIRN_TRY_ASSIGN(round.record, read_member(item, "record", read_object_value));
    CAIRN_TRY_ASSIGN(round.record_cid, read_member(item, "record_cid", read_cid));
    CAIRN_TRY_ASSIGN(round.close_tx, read_member(item, "close_tx", read_hash32));
    CAIRN_TRY_ASSIGN(round.result_model, read_member(item, "result_model", read_sealed));
    CAIRN_TRY_ASSIGN(round.accuracy, item.number("accuracy"));
    CAIRN_TRY(item.close());
    body.rounds.push_back(std::move(round));
  }
  CAIRN_TRY_ASSIGN(auto anchors, read_array(node, "anchors"));
  for (const JsonNode& item : anchors) {
    CAIRN_TRY_ASSIGN(AnchorRecord anchor, read_anchor(item));
    body.anchors.push_back(std::move(anchor));
  }
  {
    CAIRN_TRY_ASSIGN(JsonObject evaluation, node.object("evaluation"));
    CAIRN_TRY_ASSIGN(body.evaluation.report, read_member(evaluation, "report", read_object_value));
    CAIRN_TRY_ASSIGN(body.evaluation.sealed.cid, read_member(evaluation, "report_cid", read_cid));
    CAIRN_TRY_ASSIGN(JsonNode seal_node, evaluation.required("seal"));
    CAIRN_TRY_ASSIGN(body.evaluation.sealed.signature, seal_node.hex_bytes());
    CAIRN_TRY_ASSIGN(body.evaluation.report_tx, read_member(evaluation, "report_tx", read_hash32));
    CAIRN_TRY_ASSIGN(auto rewards, read_array(evaluation, "rewards"));
    for (const JsonNode& item_node : rewards) {
      CAIRN_TRY_ASSIGN(JsonObject item, item_node.object());
      RewardRecord reward;
      CAIRN_TRY_ASSIGN(reward.participant, read_member(item, "participant", read_address));
      CAIRN_TRY_ASSIGN(reward.amount, read_member(item, "amount_wei", read_decimal_u256));
      CAIRN_TRY(item.close());
      body.evaluation.rewards.push_back(reward);
    }
    CAIRN_TRY_ASSIGN(body.evaluation.final_accuracy, evaluation.number("final_accuracy"));
    CAIRN_TRY(evaluation.close());
  }
  {
    CAIRN_TRY_ASSIGN(JsonObject software, node.object("software"));
    CAIRN_TRY_ASSIGN(body.software.cairn_version, software.string("cairn_version"));
    CAIRN_TRY_ASSIGN(body.software.git_commit, software.string("git_commit"));
    CAIRN_TRY_ASSIGN(body.software.libtorch_version, software.string("libtorch_version"));
    CAIRN_TRY_ASSIGN(body.software.binary_sha256, software.string("binary_sha256"));
    CAIRN_TRY(software.close());
  }
  CAIRN_TRY_ASSIGN(JsonNode certificate, node.required("calendar_certificate"));
  CAIRN_TRY_ASSIGN(body.calendar_certificate, certificate.hex_bytes());
  CAIRN_TRY(node.close());
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
    out["anchors"].push_back(anchor_to_json(anchor));
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
            {"anchor", anchor_to_json(passport.closing_anchor)}}}};
}

std::string serialize_passport(const Passport& passport) {
  return passport_to_json(passport).dump(2) + "\n";
}

Result<Passport> passport_from_json(const json& value) {
  CAIRN_TRY_ASSIGN(JsonObject root, JsonObject::of(value, "passport"));
  CAIRN_TRY_ASSIGN(JsonNode format_node, root.required("format"));
  CAIRN_TRY_ASSIGN(std::string format, format_node.string());
  if (format != kPassportFormat) {
    return std::unexpected(format_node.error(fmt::format("expected \"{}\"", kPassportFormat)));
  }
  CAIRN_TRY_ASSIGN(std::uint64_t version, root.u64("version"));
  if (version != kPassportVersion) {
    return fail(Errc::unsupported,
                fmt::format("passport.version: {} is not supported (this cairn reads {})", version,
                            kPassportVersion));
  }
  Passport passport;
  CAIRN_TRY_ASSIGN(JsonObject body, root.object("body"));
  CAIRN_TRY_ASSIGN(passport.body, read_body(body));
  CAIRN_TRY_ASSIGN(JsonObject closing, root.object("closing"));
  CAIRN_TRY_ASSIGN(JsonNode seal_node, closing.required("seal"));
  CAIRN_TRY_ASSIGN(passport.closing_signature, seal_node.hex_bytes());
  CAIRN_TRY_ASSIGN(passport.closing_anchor, read_member(closing, "anchor", read_anchor));
  CAIRN_TRY(closing.close());
  CAIRN_TRY(root.close());
  return passport;
}

Result<Passport> parse_passport(ByteView text) {
  CAIRN_TRY_ASSIGN(json value, parse_json(text, "passport"));
  return passport_from_json(value);
}

}  // namespace cairn::market

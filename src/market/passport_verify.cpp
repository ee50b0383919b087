// Passport verification: every link of a passport checked offline (the model file, the
// stores' artifacts, the seals) and, given an RPC node, against the chain. Kept apart from
// the format (passport.cpp) so the parser links without the chain's RPC client.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "base/encoding.hpp"
#include "chain/contract.hpp"
#include "crypto/hash.hpp"
#include "crypto/paillier.hpp"
#include "learn/secure_paillier.hpp"
#include "market/directory.hpp"
#include "market/passport.hpp"
#include "market/reward_rule.hpp"
#include "seal/publication.hpp"
#include "seal/verify.hpp"
#include "store/exporter.hpp"
#include "store/importer.hpp"

namespace cairn::market {
using nlohmann::json;

namespace {

bool counts_against(const LinkResult& link, bool strict) {
  return !link.ok && (!link.skipped || strict);
}

}  // namespace

bool VerifyReport::ok() const {
  for (const auto& link : links) {
    if (counts_against(link, strict)) return false;
  }
  return !links.empty();
}

std::string VerifyReport::failures() const {
  std::string out;
  for (const auto& link : links) {
    if (counts_against(link, strict)) {
      out += link.link + ": " + (link.skipped ? "skipped (strict): " : "") + link.message + "\n";
    }
  }
  return out;
}

json VerifyReport::to_json() const {
  json items = json::array();
  for (const auto& link : links) {
    items.push_back({{"link", link.link},
                     {"status", link.ok ? "ok" : (link.skipped ? "skipped" : "fail")},
                     {"message", link.message}});
  }
  return {{"ok", ok()}, {"strict", strict}, {"links", std::move(items)}};
}

namespace {

// An encrypted sum: a model's worth of Paillier ciphertexts at most.
constexpr std::uint64_t kSumCap = 1ull << 30;

class Verifier {
 public:
  Verifier(const Passport& passport, const VerifyOptions& options)
      : passport_(passport), body_(passport.body), options_(options) {}

  VerifyReport run(const std::filesystem::path& model_path) {
    report_.strict = options_.strict;
    // The seals are checked against the calendar keys the verifier pins; only without a
    // trust root against the one the passport brings (and the trust links say so).
    if (options_.trust != nullptr) {
      for (const Bytes& der : options_.trust->calendar_certificates)
        certificate_.certificates.push_back({certificate_id(der), der});
    } else {
      certificate_.certificates.push_back(
          {certificate_id(body_.calendar_certificate), body_.calendar_certificate});
    }
    check_trust();
    check_model(model_path);
    check_inline("task spec", body_.task.spec, body_.task.spec_cid);
    for (std::size_t i = 0; i < body_.datasets.size(); ++i) {
      const auto& dataset = body_.datasets[i];
      const std::string name = fmt::format("dataset {} manifest", i);
      check_inline(name, dataset.manifest, dataset.sealed.cid);
      check_seal(name + " seal", dataset.sealed);
    }
    for (const auto& round : body_.rounds) {
      const std::string prefix = fmt::format("round {}", round.round);
      check_stored(prefix + " global model", round.global_model);
      for (std::size_t k = 0; k < round.updates.size(); ++k) {
        const std::string name = fmt::format("{} update {}", prefix, k);
        check_stored(name, round.updates[k].sealed.cid);
        check_seal(name + " seal", round.updates[k].sealed);
      }
      check_stored(prefix + " aggregate", round.aggregate.cid);
      check_seal(prefix + " aggregate seal", round.aggregate);
      if (round.sum_used) {
        check_stored(prefix + " sum used", round.sum_used->cid);
        check_seal(prefix + " sum used seal", *round.sum_used);
      }
      check_inline(prefix + " record", round.record, round.record_cid);
      check_round_record(prefix + " record", round);
      check_sum_recomputed(prefix + " sum recomputed", round);
      check_stored(prefix + " result model", round.result_model.cid);
      check_seal(prefix + " result model seal", round.result_model);
    }
    check_round_chaining();
    check_inline("evaluation report", body_.evaluation.report, body_.evaluation.sealed.cid);
    check_seal("evaluation report seal", body_.evaluation.sealed);
    check_seal("model seal", body_.model.sealed);
    check_closing();
    if (options_.rpc_url) {
      check_chain();
    } else {
      skipped("chain", "the anchors, the task and its records are not checked: give --rpc");
    }
    return std::move(report_);
  }

 private:
  void pass(std::string link, std::string message = "ok") {
    report_.links.push_back({std::move(link), true, false, std::move(message)});
  }
  void failed(std::string link, std::string message) {
    report_.links.push_back({std::move(link), false, false, std::move(message)});
  }
  void skipped(std::string link, std::string message) {
    report_.links.push_back({std::move(link), false, true, std::move(message)});
  }
  void record(std::string link, const Status& status, std::string ok_message = "ok") {
    if (status) {
      pass(std::move(link), std::move(ok_message));
    } else {
      failed(std::move(link), status.error().message);
    }
  }

  // The anchors the passport lists, the closing one last.
  std::vector<const AnchorRecord*> all_anchors() const {
    std::vector<const AnchorRecord*> anchors;
    for (const auto& anchor : body_.anchors)
      anchors.push_back(&anchor);
    anchors.push_back(&passport_.closing_anchor);
    return anchors;
  }

  static std::string anchor_name(std::size_t index, std::size_t count) {
    return index + 1 == count ? "the closing anchor" : fmt::format("anchor {}", index);
  }

  // What the passport says about where it lives and who vouches for it, against what the
  // verifier pins. Without a trust root every such name is the passport's own word.
  void check_trust() {
    const TrustRoot* trust = options_.trust;
    if (trust == nullptr) {
      skipped("trust: chain and contracts",
              "only as the passport names them: give --trust to pin the chain and contracts");
      skipped("trust: calendar certificate",
              "the seals are checked against the certificate the passport brings: give --trust "
              "to pin the signing service's");
      skipped("trust: anchor signers",
              "anchors are accepted from whichever accounts the passport names: give --trust");
      return;
    }
    const auto anchors = all_anchors();
    const std::string contracts = [&]() -> std::string {
      if (body_.task.chain_id != trust->chain_id) {
        return fmt::format("the task is on chain {}, the trust root pins chain {}",
                           body_.task.chain_id, trust->chain_id);
      }
      if (body_.task.training_task != trust->training_task) {
        return "TrainingTask is " + body_.task.training_task.to_checksum() +
               ", the trust root pins " + trust->training_task.to_checksum();
      }
      if (body_.task.registry != trust->registry) {
        return "Registry is " + body_.task.registry.to_checksum() + ", the trust root pins " +
               trust->registry.to_checksum();
      }
      for (std::size_t i = 0; i < anchors.size(); ++i) {
        if (anchors[i]->contract != trust->anchor) {
          return fmt::format("{} is on the contract {}, the trust root pins Anchor {}",
                             anchor_name(i, anchors.size()), anchors[i]->contract.to_checksum(),
                             trust->anchor.to_checksum());
        }
      }
      return "";
    }();
    if (contracts.empty()) {
      pass("trust: chain and contracts",
           fmt::format("chain {} and its contracts as pinned", trust->chain_id));
    } else {
      failed("trust: chain and contracts", contracts);
    }
    if (trust->pins_certificate(body_.calendar_certificate)) {
      pass("trust: calendar certificate", "the passport's calendar certificate is pinned");
    } else {
      failed("trust: calendar certificate",
             fmt::format("the passport brings a calendar certificate (id {}) the trust root does "
                         "not pin; every seal is checked against the pinned ones",
                         to_hex(certificate_id(body_.calendar_certificate))));
    }
    for (std::size_t i = 0; i < anchors.size(); ++i) {
      if (!trust->pins_signer(anchors[i]->signer)) {
        return failed(
            "trust: anchor signers",
            fmt::format("{} was made by {}, which the trust root does not allow",
                        anchor_name(i, anchors.size()), anchors[i]->signer.to_checksum()));
      }
    }
    pass("trust: anchor signers", fmt::format("{} anchors by pinned signers", anchors.size()));
  }

  static Bytes certificate_id(ByteView der) {
    const auto digest = crypto::sha256(der);
    return Bytes(digest.begin(), digest.begin() + 4);
  }

  void check_model(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return failed("model", "cannot read " + path.string() + ": " + ec.message());
    auto cid = unixfs_cid_of_file(path);
    if (!cid) return failed("model", cid.error().message);
    if (!(*cid == body_.model.sealed.cid)) {
      return failed("model", "CID mismatch: the file is " + cid->to_string() +
                                 ", the passport names " + body_.model.sealed.cid.to_string());
    }
    if (size != body_.model.size) {
      return failed("model",
                    fmt::format("size mismatch: the file has {} bytes, the passport says {}", size,
                                body_.model.size));
    }
    pass("model", "bytes match " + cid->to_string());
  }

  void check_inline(const std::string& link, const json& value, const store::Cid& cid) {
    auto computed = unixfs_cid(canonical_json_bytes(value));
    if (!computed) return failed(link, computed.error().message);
    if (!(*computed == cid)) {
      return failed(link, "CID mismatch: the content hashes to " + computed->to_string() +
                              ", the passport names " + cid.to_string());
    }
    pass(link, "content matches " + cid.to_string());
  }

  void check_stored(const std::string& link, const store::Cid& cid) {
    if (options_.store == nullptr) return skipped(link, "no store given");
    auto present = options_.store->has(cid);
    if (!present) return failed(link, present.error().message);
    if (!*present) return skipped(link, "not in the store");
    std::uint64_t bytes = 0;
    // The store re-hashes every block it hands out, and the exporter checks the DAG's
    // structure: a successful export is the CID verified.
    Status exported = store::export_file(cid, *options_.store, [&](ByteView chunk) -> Status {
      bytes += chunk.size();
      return {};
    });
    if (!exported) return failed(link, "CID mismatch: " + exported.error().message);
    pass(link, fmt::format("{} bytes fetched and re-hashed", bytes));
  }

  // The bytes of a stored artifact (nullopt: the store does not hold it), at most `cap`.
  Result<std::optional<Bytes>> read_stored(const store::Cid& cid, std::uint64_t cap) const {
    CAIRN_TRY_ASSIGN(const bool present, options_.store->has(cid));
    if (!present) return std::optional<Bytes>{};
    Bytes bytes;
    CAIRN_TRY(store::export_file(cid, *options_.store, [&](ByteView chunk) -> Status {
      if (bytes.size() + chunk.size() > cap) {
        return fail(Errc::rejected,
                    fmt::format("{} is larger than {} bytes", cid.to_string(), cap));
      }
      bytes.insert(bytes.end(), chunk.begin(), chunk.end());
      return {};
    }));
    return std::optional<Bytes>{std::move(bytes)};
  }

  // The sum the round applied is the homomorphic sum of the updates it included (its
  // updates less its exclusions), computed again here from the store's copies under the
  // spec's public key. Re-hashing the sum only shows it is the bytes the passport names,
  // not that they add up what the round says they do.
  void check_sum_recomputed(const std::string& link, const RoundRecord& round) {
    std::vector<const UpdateRecord*> included;
    for (const auto& update : round.updates) {
      const bool excluded = std::ranges::any_of(round.excluded, [&](const ExclusionRecord& e) {
        return e.participant == update.participant;
      });
      if (!excluded) included.push_back(&update);
    }
    if (!round.sum_used) {
      if (included.empty()) return pass(link, "no update was included, no sum applied");
      return failed(
          link, fmt::format("{} updates were included and no sum was applied", included.size()));
    }
    if (included.empty()) return failed(link, "a sum was applied and no update was included");
    if (options_.store == nullptr) return skipped(link, "no store given");
    const auto key_hex = body_.task.spec.find("paillier_public_key");
    if (key_hex == body_.task.spec.end() || !key_hex->is_string()) {
      return failed(link, "the task spec has no paillier_public_key");
    }
    const auto key_bytes = from_hex(key_hex->get<std::string>());
    if (!key_bytes) return failed(link, "the task spec's paillier_public_key is not hex");
    auto key = crypto::decode_public_key(*key_bytes);
    if (!key) return failed(link, "the task spec's key: " + key.error().message);
    auto sum_bytes = read_stored(round.sum_used->cid, kSumCap);
    if (!sum_bytes) return failed(link, sum_bytes.error().message);
    if (!*sum_bytes) return skipped(link, "the sum used is not in the store");
    auto sum = learn::decode_encrypted_vector(**sum_bytes);
    if (!sum) return failed(link, "the sum used does not decode: " + sum.error().message);
    // Each update is the sum's size exactly (same key, parameters and length).
    const std::uint64_t update_cap = (*sum_bytes)->size();
    std::vector<learn::EncryptedVector> parts;
    for (const UpdateRecord* update : included) {
      auto bytes = read_stored(update->sealed.cid, update_cap);
      if (!bytes)
        return failed(link,
                      update->participant.to_checksum() + "'s update: " + bytes.error().message);
      if (!*bytes) {
        return skipped(link, update->participant.to_checksum() + "'s update is not in the store");
      }
      auto vector = learn::decode_encrypted_vector(**bytes);
      if (!vector) {
        return failed(link, fmt::format("{}'s update was included and does not decode: {}",
                                        update->participant.to_checksum(), vector.error().message));
      }
      parts.push_back(std::move(*vector));
    }
    std::vector<const learn::EncryptedVector*> pointers;
    for (const auto& part : parts)
      pointers.push_back(&part);
    auto recomputed = learn::sum_encrypted(*key, pointers);
    if (!recomputed) {
      return failed(link, "the included updates do not add up: " + recomputed.error().message);
    }
    auto expected = unixfs_cid(learn::encode_encrypted_vector(*key, *recomputed));
    if (!expected) return failed(link, expected.error().message);
    if (!(*expected == round.sum_used->cid)) {
      return failed(
          link, fmt::format("the sum used ({}) is not the sum of the {} included updates "
                            "({})",
                            round.sum_used->cid.to_string(), parts.size(), expected->to_string()));
    }
    pass(link, fmt::format("the homomorphic sum of the {} included updates", parts.size()));
  }

  const AnchorRecord* anchor_at(std::uint64_t time) const {
    for (const auto& anchor : body_.anchors) {
      if (anchor.publication_time == time) return &anchor;
    }
    return nullptr;
  }

  // The signature verifies for `document` (internal policy, then the calendar
  // authentication record against the passport's calendar certificate); its calendar root
  // is returned for the anchor check.
  Result<seal::PublishedData> verify_signature(ByteView signature_bytes,
                                               const seal::Imprint& document) const {
    CAIRN_TRY_ASSIGN(seal::Signature signature, seal::Signature::parse(signature_bytes));
    seal::VerificationContext context;
    context.signature = &signature;
    context.document_hash = document;
    context.publications_file = &certificate_;
    const seal::VerificationResult internal = seal::verify(context, seal::Policy::internal);
    if (!internal.ok()) {
      return fail(Errc::integrity, fmt::format("signature fails the internal policy ({} {})",
                                               internal.error_code, internal.message));
    }
    const seal::VerificationResult key = seal::verify(context, seal::Policy::key_based);
    if (!key.ok()) {
      return fail(Errc::integrity, fmt::format("signature fails against the calendar key ({} {})",
                                               key.error_code, key.message));
    }
    if (!signature.calendar_chain) return fail(Errc::integrity, "signature has no calendar chain");
    seal::PublishedData published;
    published.publication_time = signature.calendar_chain->publication_time;
    CAIRN_TRY_ASSIGN(published.published_hash,
                     seal::compute_calendar_chain(*signature.calendar_chain));
    return published;
  }

  void check_seal(const std::string& link, const SealedArtifact& artifact) {
    auto document = cid_imprint(artifact.cid);
    if (!document) return failed(link, document.error().message);
    auto published = verify_signature(artifact.signature, *document);
    if (!published) return failed(link, published.error().message);
    const AnchorRecord* anchor = anchor_at(published->publication_time);
    if (anchor == nullptr) {
      return failed(link, fmt::format("no anchor for the calendar publication at {}",
                                      published->publication_time));
    }
    if (!(anchor->root == published->published_hash)) {
      return failed(link, fmt::format("calendar root differs from the anchored root at {}",
                                      published->publication_time));
    }
    pass(link, fmt::format("signed, calendar root anchored at {}", published->publication_time));
  }

  // The round's fields say what its record (the document the round closed with) says.
  void check_round_record(const std::string& link, const RoundRecord& round) {
    const json& record = round.record;
    auto text_at = [&](const json& object, const char* key) -> std::string {
      const auto found = object.find(key);
      return found != object.end() && found->is_string() ? found->get<std::string>() : "";
    };
    const auto mismatch = [&]() -> std::string {
      if (text_at(record, "type") != "cairn.round.v1") return "not a cairn.round.v1 record";
      if (record.value("task", ~std::uint64_t{0}) != body_.task.task_id) return "another task";
      if (record.value("round", ~std::uint64_t{0}) != round.round) return "another round";
      if (text_at(record, "global_model") != round.global_model.to_string()) return "global_model";
      if (text_at(record, "result_model") != round.result_model.cid.to_string()) {
        return "result_model";
      }
      if (!record.contains("accuracy") || !record["accuracy"].is_number() ||
          record["accuracy"].get<double>() != round.accuracy) {
        return "accuracy";
      }
      const json aggregate = record.value("aggregate", json::object());
      if (!aggregate.is_object()) return "aggregate";
      if (text_at(aggregate, "posted") != round.aggregate.cid.to_string())
        return "aggregate.posted";
      const json used = aggregate.value("used", json());
      if (round.sum_used ? used != json(round.sum_used->cid.to_string()) : !used.is_null()) {
        return "aggregate.used";
      }
      if (aggregate.value("accepted", !round.accepted) != round.accepted)
        return "aggregate.accepted";
      if (text_at(aggregate, "reason") != round.reason) return "aggregate.reason";
      json excluded = json::array();
      for (const auto& exclusion : round.excluded) {
        excluded.push_back({{"participant", exclusion.participant.to_checksum()},
                            {"cid", exclusion.cid ? json(*exclusion.cid) : json(nullptr)},
                            {"reason", exclusion.reason}});
      }
      if (record.value("excluded", json()) != excluded) return "excluded";
      const json signatures = record.value("signatures", json::object());
      auto signed_as = [&](const SealedArtifact& artifact) {
        return signatures.is_object() && signatures.value(artifact.cid.to_string(), json()) ==
                                             json(to_hex(artifact.signature));
      };
      for (const auto& update : round.updates) {
        if (!signed_as(update.sealed))
          return "signature of update " + update.sealed.cid.to_string();
      }
      if (!signed_as(round.aggregate)) return "signature of the aggregate";
      if (round.sum_used && !signed_as(*round.sum_used)) return "signature of the sum used";
      if (!signed_as(round.result_model)) return "signature of the result model";
      return "";
    }();
    if (!mismatch.empty()) return failed(link, "the round differs from its record: " + mismatch);
    pass(link, "the round is as its record says");
  }

  // Each round starts from the model the previous round produced.
  void check_round_chaining() {
    for (std::size_t i = 0; i < body_.rounds.size(); ++i) {
      const auto& round = body_.rounds[i];
      const std::string link = fmt::format("round {} order", round.round);
      if (round.round != i) {
        failed(link, fmt::format("round {} is listed at position {}", round.round, i));
        continue;
      }
      if (i > 0 && !(round.global_model == body_.rounds[i - 1].result_model.cid)) {
        failed(link, "starts from a model the previous round did not produce");
        continue;
      }
      if (i == 0) {
        const auto initial = body_.task.spec.find("initial_parameters");
        if (initial == body_.task.spec.end() || !initial->is_string() ||
            initial->get<std::string>() != round.global_model.to_string()) {
          failed(link, "does not start from the task's initial parameters");
          continue;
        }
      }
      pass(link);
    }
    if (body_.rounds.size() != body_.task.rounds) {
      failed("task rounds", fmt::format("the task has {} rounds, the passport lists {}",
                                        body_.task.rounds, body_.rounds.size()));
    }
  }

  void check_closing() {
    const seal::Imprint document = body_imprint(body_);
    auto published = verify_signature(passport_.closing_signature, document);
    if (!published)
      return failed("closing seal", published.error().message + " (the body changed?)");
    const AnchorRecord& anchor = passport_.closing_anchor;
    if (published->publication_time != anchor.publication_time ||
        !(published->published_hash == anchor.root)) {
      return failed("closing seal", "calendar root differs from the closing anchor");
    }
    pass("closing seal", "the body is as sealed");
  }

  // ---- against the chain ----

  Result<chain::abi::ValueList> view(std::string_view contract_name, const chain::Address& address,
                                     std::string_view function_name,
                                     const chain::abi::ValueList& args) const {
    CAIRN_TRY_ASSIGN(auto abi, chain::embedded_abi(contract_name));
    const chain::abi::Function* function = abi->function(function_name);
    if (function == nullptr)
      return fail(Errc::internal, std::string("no function ") + std::string(function_name));
    chain::CallRequest request;
    request.to = address;
    CAIRN_TRY_ASSIGN(request.data, function->encode_call(args));
    CAIRN_TRY_ASSIGN(chain::CallOutcome outcome, rpc_->eth_call(request));
    if (outcome.reverted) {
      return fail(Errc::integrity,
                  fmt::format("{}.{} reverted on chain", contract_name, function_name));
    }
    return function->decode_output(outcome.data);
  }

  Status transaction_succeeded(const ByteArray<32>& hash) const {
    CAIRN_TRY_ASSIGN(auto receipt, rpc_->receipt(hash));
    if (!receipt)
      return fail(Errc::integrity, "transaction " + hash_hex(hash) + " is not on chain");
    if (!receipt->success)
      return fail(Errc::integrity, "transaction " + hash_hex(hash) + " reverted");
    return {};
  }

  Status equal_word(const chain::abi::Value& value, const store::Cid& cid,
                    std::string_view what) const {
    CAIRN_TRY_ASSIGN(ByteArray<32> on_chain, value.as_bytes32());
    CAIRN_TRY_ASSIGN(ByteArray<32> expected, cid_commitment(cid));
    if (on_chain != expected) {
      return fail(Errc::integrity,
                  fmt::format("{} on chain differs ({})", what, hash_hex(on_chain)));
    }
    return {};
  }

  // The TrainingTask event `event_name` in transaction `hash` carries `cid` (its CID text at
  // input `at`): where nodes learned what to fetch.
  Status event_names_cid(const ByteArray<32>& hash, std::string_view event_name, std::size_t at,
                         const store::Cid& cid) const {
    CAIRN_TRY_ASSIGN(auto receipt, rpc_->receipt(hash));
    if (!receipt)
      return fail(Errc::integrity, "transaction " + hash_hex(hash) + " is not on chain");
    CAIRN_TRY_ASSIGN(auto abi, chain::embedded_abi("TrainingTask"));
    const chain::abi::Event* event = abi->event(event_name);
    if (event == nullptr) return fail(Errc::internal, "no event " + std::string(event_name));
    for (const auto& log : receipt->logs) {
      if (log.address != body_.task.training_task || log.topics.empty() ||
          log.topics[0] != event->topic0()) {
        continue;
      }
      CAIRN_TRY_ASSIGN(auto values, event->decode_log(log.topics, log.data));
      CAIRN_TRY_ASSIGN(std::string text, values.at(at).as_string());
      if (text != cid.to_string()) {
        return fail(Errc::integrity,
                    fmt::format("{} names {}, the passport {}", event_name, text, cid.to_string()));
      }
      return {};
    }
    return fail(Errc::integrity,
                fmt::format("transaction {} emitted no {}", hash_hex(hash), event_name));
  }

  // The report is what the chain pays by: TrainingTask v3 replaces a report that more than
  // half of the contributors challenged with the default payout.
  Status report_stands() const {
    CAIRN_TRY_ASSIGN(auto task, view("TrainingTask", body_.task.training_task, "getTask",
                                     {chain::abi::Value(body_.task.task_id)}));
    if (task.size() != 9) return fail(Errc::parse, "getTask: unexpected answer");
    CAIRN_TRY_ASSIGN(std::uint64_t state, task[8].as_u64());
    if (state == 3) {
      return fail(Errc::integrity,
                  "the report was overturned: the task pays the rule's default payout");
    }
    if (state != 2) return fail(Errc::integrity, "no report stands on chain");
    return {};
  }

  // The amounts are replayed from the report's contributions with the rule the task
  // committed to on chain (its id, floor and pool): every contributor on chain is paid,
  // by reward_amounts, and nobody else.
  Status check_reward_rule() const {
    const chain::Address& tasks = body_.task.training_task;
    const chain::abi::Value task_id(body_.task.task_id);
    CAIRN_TRY_ASSIGN(auto terms_value, view("TrainingTask", tasks, "getTaskTerms", {task_id}));
    if (terms_value.size() != 1) return fail(Errc::parse, "getTaskTerms: unexpected answer");
    CAIRN_TRY_ASSIGN(TaskTerms terms, TaskTerms::from_abi(terms_value[0]));
    const std::string rule = body_.evaluation.report.value("reward_rule", std::string());
    if (reward_rule_id(rule) != terms.rule || rule != kRewardRule) {
      return fail(Errc::integrity,
                  fmt::format("the report's rule \"{}\" is not the rule committed on chain", rule));
    }
    // The contributors as the chain has them (every ParticipantJoined), not as the
    // passport lists them.
    std::vector<chain::Address> contributors;
    CAIRN_TRY_ASSIGN(const auto joined, task_events("ParticipantJoined", std::nullopt));
    for (const auto& event : joined) {
      CAIRN_TRY_ASSIGN(const chain::Address participant, event.values.at(1).as_address());
      CAIRN_TRY_ASSIGN(auto values, view("TrainingTask", tasks, "participants",
                                         {task_id, chain::abi::Value(participant)}));
      CAIRN_TRY_ASSIGN(std::uint64_t accepted, values.at(3).as_u64());
      if (accepted > 0) contributors.push_back(participant);
    }
    std::sort(contributors.begin(), contributors.end());
    CAIRN_TRY_ASSIGN(auto pool_value, view("TrainingTask", tasks, "pool", {task_id}));
    CAIRN_TRY_ASSIGN(chain::U256 pool, pool_value.at(0).as_uint());
    CAIRN_TRY_ASSIGN(auto totals,
                     shapley_totals(body_.evaluation.report.value("rounds", json::array())));
    CAIRN_TRY_ASSIGN(auto amounts, reward_amounts(contributors, totals, pool, terms.floor));
    std::map<chain::Address, chain::U256> expected;
    for (std::size_t i = 0; i < contributors.size(); ++i)
      expected[contributors[i]] = amounts[i];
    std::map<chain::Address, chain::U256> reported;
    for (const auto& reward : body_.evaluation.rewards)
      reported[reward.participant] = reward.amount;
    for (const auto& [who, amount] : expected) {
      const auto found = reported.find(who);
      if (found == reported.end()) {
        return fail(Errc::integrity, fmt::format("contributor {} is not paid", who.to_checksum()));
      }
      if (found->second != amount) {
        return fail(Errc::integrity,
                    fmt::format("{} is paid {} wei; the rule gives {} wei", who.to_checksum(),
                                found->second.to_decimal(), amount.to_decimal()));
      }
    }
    if (reported.size() != expected.size()) {
      return fail(Errc::integrity, "the report pays a participant without an accepted update");
    }
    return {};
  }

  Status check_task_on_chain() const {
    CAIRN_TRY_ASSIGN(std::uint64_t chain_id, rpc_->chain_id());
    if (chain_id != body_.task.chain_id) {
      return fail(Errc::integrity, fmt::format("the RPC serves chain {}, the task is on chain {}",
                                               chain_id, body_.task.chain_id));
    }
    CAIRN_TRY_ASSIGN(auto task, view("TrainingTask", body_.task.training_task, "getTask",
                                     {chain::abi::Value(body_.task.task_id)}));
    if (task.size() != 9) return fail(Errc::parse, "getTask: unexpected answer");
    CAIRN_TRY_ASSIGN(chain::Address owner, task[0].as_address());
    if (owner != body_.task.owner) return fail(Errc::integrity, "owner on chain differs");
    CAIRN_TRY(equal_word(task[1], body_.task.spec_cid, "spec"));
    CAIRN_TRY_ASSIGN(chain::U256 rounds, task[3].as_uint());
    if (rounds != chain::U256(body_.task.rounds))
      return fail(Errc::integrity, "rounds on chain differ");
    CAIRN_TRY_ASSIGN(chain::U256 current, task[4].as_uint());
    if (current != chain::U256(body_.task.rounds)) {
      return fail(Errc::integrity, "the task's rounds are not all aggregated on chain");
    }
    return transaction_succeeded(body_.task.create_tx);
  }

  // Every `event_name` the task's contract emitted for this task (and `round`, when given)
  // since the block the task was created in.
  Result<std::vector<ContractEvent>> task_events(std::string_view event_name,
                                                 std::optional<std::uint64_t> round) const {
    CAIRN_TRY_ASSIGN(auto created, rpc_->receipt(body_.task.create_tx));
    if (!created) return fail(Errc::integrity, "the task's create transaction is not on chain");
    std::vector<std::optional<ByteArray<32>>> indexed{topic_word(body_.task.task_id)};
    if (round) indexed.emplace_back(topic_word(*round));
    return read_events(*rpc_, created->block_number, "TrainingTask", body_.task.training_task,
                       event_name, indexed);
  }

  // Nobody who joined on chain is left out of the passport, and neither is their dataset:
  // the per-participant links check only those the passport chose to list.
  Status participants_complete() const {
    CAIRN_TRY_ASSIGN(const auto joined, task_events("ParticipantJoined", std::nullopt));
    for (const auto& event : joined) {
      CAIRN_TRY_ASSIGN(const chain::Address participant, event.values.at(1).as_address());
      CAIRN_TRY_ASSIGN(const ByteArray<32> manifest, event.values.at(2).as_bytes32());
      const bool listed = std::ranges::any_of(body_.participants, [&](const Participant& p) {
        return p.address == participant && p.join_tx.has_value();
      });
      if (!listed) {
        return fail(
            Errc::integrity,
            fmt::format("{} joined the task on chain (tx {}) and the passport leaves it out",
                        participant.to_checksum(), hash_hex(event.log.transaction_hash)));
      }
      const bool dataset = std::ranges::any_of(body_.datasets, [&](const DatasetRecord& d) {
        const auto digest = cid_commitment(d.sealed.cid);
        return d.owner == participant && digest && *digest == manifest;
      });
      if (!dataset) {
        return fail(Errc::integrity,
                    fmt::format("the dataset {} joined with (manifest 0x{}) is not in the passport",
                                participant.to_checksum(), to_hex(manifest)));
      }
    }
    return {};
  }

  // Every update committed on chain in the round is in the passport: none can be dropped
  // from the lineage. Only one whose CID text does not parse is listed among the exclusions
  // alone (with no CID), as the model provider writes it.
  Status updates_complete(const RoundRecord& round) const {
    CAIRN_TRY_ASSIGN(const auto committed, task_events("UpdateCommitted", round.round));
    for (const auto& event : committed) {
      CAIRN_TRY_ASSIGN(const chain::Address participant, event.values.at(2).as_address());
      CAIRN_TRY_ASSIGN(const ByteArray<32> commitment, event.values.at(3).as_bytes32());
      CAIRN_TRY_ASSIGN(const std::string cid_text, event.values.at(4).as_string());
      const bool unparsable = !store::Cid::parse(cid_text).has_value();
      const bool listed =
          std::ranges::any_of(round.updates,
                              [&](const UpdateRecord& update) {
                                const auto digest = cid_commitment(update.sealed.cid);
                                return update.participant == participant && digest &&
                                       *digest == commitment;
                              }) ||
          (unparsable && std::ranges::any_of(round.excluded, [&](const ExclusionRecord& e) {
             return e.participant == participant && !e.cid.has_value();
           }));
      if (!listed) {
        return fail(Errc::integrity,
                    fmt::format("{}'s update committed on chain (tx {}) is not in the passport",
                                participant.to_checksum(), hash_hex(event.log.transaction_hash)));
      }
    }
    return {};
  }

  void check_chain() {
    auto client = chain::RpcClient::create(*options_.rpc_url);
    if (!client) return failed("chain", client.error().message);
    rpc_.emplace(std::move(*client));
    const std::uint64_t max_delay = options_.trust != nullptr ? options_.trust->max_anchor_delay_s
                                                              : kDefaultMaxAnchorDelaySeconds;
    auto anchor_status = [&](const AnchorRecord& anchor) -> Status {
      AnchoredPublication anchored;
      anchored.publication_time = anchor.publication_time;
      anchored.root = anchor.root;
      anchored.chain_id = body_.task.chain_id;
      anchored.contract = anchor.contract;
      anchored.signer = anchor.signer;
      anchored.transaction = anchor.tx;
      anchored.block = anchor.block;
      CAIRN_TRY(verify_anchor_on_chain(*rpc_, anchored));
      // A root anchored long after the time its publication claims could have been made
      // after the fact: the anchor vouches for the time only when the two agree.
      return check_anchor_time(*rpc_, anchored, max_delay, kAnchorClockSkewSeconds);
    };
    for (std::size_t i = 0; i < body_.anchors.size(); ++i)
      record(fmt::format("anchor {}", i), anchor_status(body_.anchors[i]),
             "on chain at a time that agrees");
    record("closing anchor", anchor_status(passport_.closing_anchor),
           "on chain at a time that agrees");
    record("task on chain", check_task_on_chain(), "on chain");
    const chain::Address& tasks = body_.task.training_task;
    const chain::abi::Value task_id(body_.task.task_id);
    for (std::size_t i = 0; i < body_.participants.size(); ++i) {
      const auto& participant = body_.participants[i];
      if (!participant.join_tx) continue;
      auto status = [&]() -> Status {
        CAIRN_TRY_ASSIGN(auto values, view("TrainingTask", tasks, "participants",
                                           {task_id, chain::abi::Value(participant.address)}));
        CAIRN_TRY_ASSIGN(bool joined, values.at(0).as_bool());
        if (!joined) return fail(Errc::integrity, "not a participant of the task on chain");
        return transaction_succeeded(*participant.join_tx);
      }();
      record(fmt::format("participant {} on chain", i), status, "joined");
    }
    for (std::size_t i = 0; i < body_.datasets.size(); ++i) {
      const auto& dataset = body_.datasets[i];
      if (!dataset.registry_entry || !dataset.register_tx) continue;
      auto status = [&]() -> Status {
        CAIRN_TRY_ASSIGN(auto values, view("Registry", body_.task.registry, "getEntry",
                                           {chain::abi::Value(*dataset.registry_entry)}));
        CAIRN_TRY_ASSIGN(chain::Address owner, values.at(0).as_address());
        if (owner != dataset.owner) return fail(Errc::integrity, "registry owner on chain differs");
        CAIRN_TRY(equal_word(values.at(3), dataset.sealed.cid, "registered manifest digest"));
        return transaction_succeeded(*dataset.register_tx);
      }();
      record(fmt::format("dataset {} on chain", i), status, "registered");
    }
    record("participants complete", participants_complete(),
           "every participant that joined on chain is listed, with its dataset");
    for (const auto& round : body_.rounds) {
      record(fmt::format("round {} updates complete", round.round), updates_complete(round),
             "every update committed on chain is listed");
      for (std::size_t k = 0; k < round.updates.size(); ++k) {
        const auto& update = round.updates[k];
        auto status = [&]() -> Status {
          CAIRN_TRY_ASSIGN(auto values, view("TrainingTask", tasks, "updateCommitments",
                                             {task_id, chain::abi::Value(round.round),
                                              chain::abi::Value(update.participant)}));
          CAIRN_TRY(equal_word(values.at(0), update.sealed.cid, "commitment"));
          CAIRN_TRY(transaction_succeeded(update.commit_tx));
          return event_names_cid(update.commit_tx, "UpdateCommitted", 4, update.sealed.cid);
        }();
        record(fmt::format("round {} update {} on chain", round.round, k), status, "committed");
      }
      auto status = [&]() -> Status {
        CAIRN_TRY_ASSIGN(auto values, view("TrainingTask", tasks, "aggregateCommitments",
                                           {task_id, chain::abi::Value(round.round)}));
        CAIRN_TRY(equal_word(values.at(0), round.aggregate.cid, "commitment"));
        CAIRN_TRY(transaction_succeeded(round.aggregate_tx));
        return event_names_cid(round.aggregate_tx, "AggregatePosted", 3, round.aggregate.cid);
      }();
      record(fmt::format("round {} aggregate on chain", round.round), status, "committed");
      auto closed = [&]() -> Status {
        CAIRN_TRY_ASSIGN(auto values, view("TrainingTask", tasks, "roundRecords",
                                           {task_id, chain::abi::Value(round.round)}));
        CAIRN_TRY(equal_word(values.at(0), round.record_cid, "round record"));
        CAIRN_TRY(transaction_succeeded(round.close_tx));
        return event_names_cid(round.close_tx, "RoundClosed", 3, round.record_cid);
      }();
      record(fmt::format("round {} record on chain", round.round), closed, "closed with it");
    }
    auto report_status = [&]() -> Status {
      CAIRN_TRY_ASSIGN(auto values, view("TrainingTask", tasks, "contributionReports", {task_id}));
      CAIRN_TRY(equal_word(values.at(0), body_.evaluation.sealed.cid, "contribution report"));
      CAIRN_TRY(transaction_succeeded(body_.evaluation.report_tx));
      return event_names_cid(body_.evaluation.report_tx, "ContributionsReported", 2,
                             body_.evaluation.sealed.cid);
    }();
    record("evaluation on chain", report_status, "reported");
    for (std::size_t i = 0; i < body_.evaluation.rewards.size(); ++i) {
      const auto& reward = body_.evaluation.rewards[i];
      auto status = [&]() -> Status {
        CAIRN_TRY(report_stands());
        CAIRN_TRY_ASSIGN(auto values, view("TrainingTask", tasks, "participants",
                                           {task_id, chain::abi::Value(reward.participant)}));
        CAIRN_TRY_ASSIGN(chain::U256 owed, values.at(4).as_uint());
        if (owed != reward.amount) {
          return fail(Errc::integrity,
                      "reward on chain differs (owed " + owed.to_decimal() + " wei)");
        }
        return {};
      }();
      record(fmt::format("reward {} on chain", i), status, "recorded");
    }
    record("rewards follow the committed rule", check_reward_rule(), "replayed");
  }

  const Passport& passport_;
  const PassportBody& body_;
  const VerifyOptions& options_;
  seal::PublicationsFile certificate_;  // holds only the calendar certificate
  std::optional<chain::RpcClient> rpc_;
  VerifyReport report_;
};

}  // namespace

VerifyReport verify_passport(const std::filesystem::path& model_path, const Passport& passport,
                             const VerifyOptions& options) {
  return Verifier(passport, options).run(model_path);
}

}  // namespace cairn::market

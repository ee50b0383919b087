#include "market/data_provider.hpp"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <map>
#include <set>

#include "base/encoding.hpp"
#include "base/file.hpp"
#include "base/json.hpp"
#include "chain/data_transfer.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "crypto/sodium.hpp"
#include "learn/quality.hpp"
#include "market/compute_provider.hpp"
#include "market/directory.hpp"
#include "market/passport.hpp"
#include "market/trainer_common.hpp"
#include "seal/http/client.hpp"

namespace cairn::market {

using chain::abi::Value;
using nlohmann::json;

Result<DataProviderBehaviour> DataProviderBehaviour::parse(std::string_view text) {
  DataProviderBehaviour behaviour;
  auto number_after = [&](std::string_view prefix, auto& out) -> Status {
    const std::string_view rest = text.substr(prefix.size());
    const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), out);
    if (error != std::errc{} || end != rest.data() + rest.size()) {
      return fail(Errc::invalid_argument, fmt::format("behaviour \"{}\": bad number", text));
    }
    return {};
  };
  if (text.empty() || text == "honest") return behaviour;
  if (text == "garbage") {
    behaviour.kind = Kind::garbage;
  } else if (text == "replay") {
    behaviour.kind = Kind::replay;
  } else if (text.starts_with("poison:scale:")) {
    behaviour.kind = Kind::poison;
    // from_chars for double is not in every standard library cairn builds with.
    const std::string rest(text.substr(13));
    char* end = nullptr;
    behaviour.scale = std::strtod(rest.c_str(), &end);
    if (rest.empty() || end != rest.c_str() + rest.size() || !std::isfinite(behaviour.scale)) {
      return fail(Errc::invalid_argument, fmt::format("behaviour \"{}\": bad scale", text));
    }
  } else if (text.starts_with("dropout:")) {
    behaviour.kind = Kind::dropout;
    CAIRN_TRY(number_after("dropout:", behaviour.from_round));
  } else {
    return fail(Errc::invalid_argument,
                fmt::format("unknown data provider behaviour \"{}\" (honest, poison:scale:S, "
                            "garbage, dropout:ROUND, replay)",
                            text));
  }
  return behaviour;
}

std::string DataProviderBehaviour::to_string() const {
  switch (kind) {
    case Kind::honest:
      return "honest";
    case Kind::poison:
      return fmt::format("poison:scale:{}", scale);
    case Kind::garbage:
      return "garbage";
    case Kind::dropout:
      return fmt::format("dropout:{}", from_round);
    case Kind::replay:
      return "replay";
  }
  return "honest";
}

namespace {

constexpr const char* kKeyFile = "data_provider/shard.key";
constexpr const char* kOfferFile = "data_provider/offer.json";
constexpr const char* kDelegationFile = "data_provider/delegation.json";

struct Config {
  std::filesystem::path images, labels;
  std::string dataset = "dataset";
  chain::U256 price;
  // The most this node stakes to join a task (TaskTerms::stake); a task asking more is
  // ignored. Zero by default: joining never costs anything unless the operator says so.
  chain::U256 max_stake;
  std::optional<chain::Address> delegate_to;
  DataProviderBehaviour behaviour;
};

// Every mistake in the role's settings is found when the node starts, with the key's path;
// the shard's files must exist and be files.
Result<Config> parse_config(const json& config) {
  CAIRN_TRY_ASSIGN(JsonObject object, JsonObject::of(config, "roles.data_provider"));
  Config out;
  CAIRN_TRY_ASSIGN(auto images, object.string("images"));
  CAIRN_TRY_ASSIGN(auto labels, object.string("labels"));
  out.images = images;
  out.labels = labels;
  CAIRN_TRY_ASSIGN(auto dataset, object.optional_string("dataset"));
  if (dataset) out.dataset = *dataset;
  if (auto price = object.optional("price_wei")) {
    CAIRN_TRY_ASSIGN(auto text, price->string());
    auto parsed = chain::U256::parse(text);
    if (!parsed) return std::unexpected(price->error("must be a decimal amount of wei"));
    out.price = *parsed;
  }
  if (auto max_stake = object.optional("max_stake_wei")) {
    CAIRN_TRY_ASSIGN(out.max_stake, read_decimal_u256(*max_stake));
  }
  if (auto delegate = object.optional("delegate_to"); delegate && !delegate->is_null()) {
    CAIRN_TRY_ASSIGN(auto text, delegate->string());
    auto address = chain::Address::parse(text);
    if (!address)
      return std::unexpected(delegate->error("must be an address (0x and 40 hex digits)"));
    out.delegate_to = *address;
  }
  if (auto behaviour = object.optional("behaviour")) {
    CAIRN_TRY_ASSIGN(auto text, behaviour->string());
    auto parsed = DataProviderBehaviour::parse(text);
    if (!parsed) return std::unexpected(behaviour->error(parsed.error().message));
    out.behaviour = *parsed;
  }
  CAIRN_TRY(object.close());
  CAIRN_TRY(file::require_regular_file(out.images, "roles.data_provider.images"));
  CAIRN_TRY(file::require_regular_file(out.labels, "roles.data_provider.labels"));
  return out;
}

struct TrackedTask {
  TaskInfo info;  // as read when it was discovered (its id, owner, spec CID)
  json spec;
  bool done = false;
  std::string outcome;                             // "claimed", "nothing owed"
  std::vector<TaskMember> participants;            // read once the task has started
  std::optional<TaskKey> key;                      // the spec's Paillier key and encryptor
  std::map<std::uint64_t, std::string> submitted;  // round -> CID revealed
  std::map<std::uint64_t, std::string> notes;      // round -> what happened
  bool report_judged = false;  // the report was replayed against the rule (and challenged if off)
};

class DataProvider final : public Role {
 public:
  DataProvider(Config config, NodeContext& context)
      : config_(std::move(config)), context_(context) {}

  std::string_view kind() const override { return "data_provider"; }

  Result<bool> step() override {
    auto acted = step_inner();
    if (!acted) {
      std::lock_guard lock(mutex_);
      last_error_ = acted.error().to_string();
    }
    return acted;
  }

  json status() const override {
    std::lock_guard lock(mutex_);
    json tasks = json::array();
    for (const auto& [id, task] : tasks_) {
      json submitted = json::object();
      for (const auto& [round, cid] : task.submitted)
        submitted[std::to_string(round)] = cid;
      json notes = json::object();
      for (const auto& [round, note] : task.notes)
        notes[std::to_string(round)] = note;
      tasks.push_back({{"task", id},
                       {"done", task.done},
                       {"outcome", task.outcome},
                       {"submitted", submitted},
                       {"notes", notes}});
    }
    json out = {{"kind", "data_provider"},
                {"dataset", config_.dataset},
                {"behaviour", config_.behaviour.to_string()},
                {"offer",
                 {{"manifest", manifest_cid_ ? manifest_cid_->to_string() : ""},
                  {"signature", signature_cid_},
                  {"registry_entry", registry_entry_ ? json(*registry_entry_) : json(nullptr)}}},
                {"tasks", tasks},
                {"finished", finished_locked()}};
    if (config_.delegate_to) {
      out["delegation"] = {{"compute_provider", config_.delegate_to->to_checksum()},
                           {"deal", deal_id_ ? json(*deal_id_) : json(nullptr)},
                           {"settled", deal_settled_}};
    }
    if (!last_error_.empty()) out["last_error"] = last_error_;
    out["task_errors"] = task_errors_.to_json();
    return out;
  }

  bool finished() const override {
    std::lock_guard lock(mutex_);
    return finished_locked();
  }

 private:
  bool finished_locked() const {
    if (tasks_.empty()) return false;
    for (const auto& [id, task] : tasks_)
      if (!task.done) return false;
    return !config_.delegate_to || deal_settled_;
  }

  void say(const std::string& line) const {
    if (context_.log) context_.log(line);
  }

  Result<bool> step_inner() {
    // Every phase returns true only when it sent or stored something new, so that a role
    // rebuilt after a restart does not report work it merely found done.
    if (!announced_) {
      CAIRN_TRY(announce_endpoint(context_));
      announced_ = true;
    }
    if (!registry_entry_) {
      CAIRN_TRY_ASSIGN(bool published, publish_offer());
      if (published) return true;
    }
    CAIRN_TRY_ASSIGN(bool joined, discover_tasks());
    if (joined) return true;
    for (auto& [id, task] : tasks_) {
      if (task.done || !task_errors_.due(id)) continue;
      if (context_.should_stop()) return false;
      auto acted = advance(task);
      if (!acted) {
        if (task_errors_.failed(id, acted.error())) {
          say(fmt::format("{}: task {}: {} (retried later; other tasks go on)", context_.name, id,
                          acted.error().to_string()));
        }
        continue;
      }
      task_errors_.succeeded(id);
      if (*acted) return true;
    }
    if (config_.delegate_to && !deal_settled_) {
      CAIRN_TRY_ASSIGN(bool acted, settle_deal());
      if (acted) return true;
    }
    return false;
  }

  // ---- offer ----

  Result<learn::Dataset> load_data() {
    CAIRN_TRY_ASSIGN(Bytes images, learn::read_maybe_gzip(config_.images));
    CAIRN_TRY_ASSIGN(Bytes labels, learn::read_maybe_gzip(config_.labels));
    crypto::Hasher hasher(crypto::HashAlgorithm::sha2_256);
    hasher.update(images);
    hasher.update(labels);
    data_sha256_ = to_hex(hasher.finish());
    CAIRN_TRY_ASSIGN(learn::IdxArray image_array, learn::parse_idx(images));
    CAIRN_TRY_ASSIGN(learn::IdxArray label_array, learn::parse_idx(labels));
    CAIRN_TRY_ASSIGN(learn::Dataset data, learn::dataset_from_idx(image_array, label_array));
    return data;
  }

  // True when something was created or sent (rather than found done before a restart).
  Result<bool> publish_offer() {
    bool acted = false;
    CAIRN_TRY_ASSIGN(key_, load_or_create_key(context_, kKeyFile));
    CAIRN_TRY_ASSIGN(auto saved, read_state(context_, kOfferFile));
    json offer = json::object();
    if (saved) {
      CAIRN_TRY_ASSIGN(OfferState state, parse_offer_state(*saved));
      offer = offer_state_to_json(state);
    }
    CAIRN_TRY_ASSIGN(learn::Dataset data, load_data());
    data_ = std::move(data);
    std::optional<store::Cid> manifest_cid;
    if (offer.contains("manifest")) {
      CAIRN_TRY_ASSIGN(store::Cid cid, store::Cid::parse(offer["manifest"].get<std::string>()));
      CAIRN_TRY_ASSIGN(bool held, context_.repo->blocks().is_pinned(cid));
      if (held) manifest_cid = cid;
      // The data trained on must be the data the offer describes.
      if (held && offer.value("data_sha256", data_sha256_) != data_sha256_) {
        return fail(Errc::integrity,
                    fmt::format("{}: {} or {} changed since offer {} was published", context_.name,
                                config_.images.string(), config_.labels.string(), cid.to_string()));
      }
    }
    if (!manifest_cid) {
      json compute = nullptr;
      if (config_.delegate_to) {
        CAIRN_TRY_ASSIGN(compute, open_delegation());
      }
      CAIRN_TRY_ASSIGN(manifest_cid, write_manifest(std::move(compute)));
      acted = true;
      offer = {{"manifest", manifest_cid->to_string()}, {"data_sha256", data_sha256_}};
      CAIRN_TRY(write_state(context_, kOfferFile, as_bytes(offer.dump())));
    }
    CAIRN_TRY_ASSIGN(Bytes manifest_bytes, read_artifact(context_, *manifest_cid, kDocumentCap));
    CAIRN_TRY_ASSIGN(manifest_, parse_dataset_manifest(manifest_bytes));
    if (manifest_["compute"].is_object()) {
      // Checked by the reader: a decimal string that fits 64 bits.
      deal_id_ = decimal_u64(manifest_["compute"]["deal"].get<std::string>());
    }
    // The keyless signature of the manifest, kept beside it in the store.
    if (!offer.contains("signature")) {
      if (context_.seal_url.empty()) {
        return fail(Errc::invalid_argument, context_.name + " has no signing service");
      }
      seal::SealClient client(context_.seal_url);
      CAIRN_TRY_ASSIGN(seal::Imprint imprint, cid_imprint(*manifest_cid));
      CAIRN_TRY_ASSIGN(seal::Signature signature, client.sign(imprint, 0, context_.name));
      CAIRN_TRY_ASSIGN(store::Cid signature_cid,
                       put_artifact(context_, signature.serialize(), "manifest seal"));
      offer["signature"] = signature_cid.to_string();
      CAIRN_TRY(write_state(context_, kOfferFile, as_bytes(offer.dump())));
      acted = true;
    }
    signature_cid_ = offer["signature"].get<std::string>();
    // Registered once: the Registry refuses an owner's digest twice, so look before sending.
    CAIRN_TRY_ASSIGN(chain::Contract registry, registry_contract(context_));
    CAIRN_TRY_ASSIGN(ByteArray<32> digest, cid_commitment(*manifest_cid));
    CAIRN_TRY_ASSIGN(std::uint64_t entry, registry_entry_of(registry, context_.signer.address,
                                                            RegistryKind::dataset, digest));
    if (entry == 0) {
      CAIRN_TRY_ASSIGN(auto tx,
                       registry.transact(context_.signer, "register",
                                         {Value(static_cast<std::uint64_t>(RegistryKind::dataset)),
                                          Value(digest), Value::text(manifest_cid->to_string())}));
      CAIRN_TRY_ASSIGN(auto event, registry.event_in(tx.receipt, "Registered"));
      CAIRN_TRY_ASSIGN(entry, event.at(0).as_u64());
      say(fmt::format("{}: offer {} registered (entry {})", context_.name,
                      manifest_cid->to_string(), entry));
      acted = true;
    }
    std::lock_guard lock(mutex_);
    manifest_cid_ = manifest_cid;
    registry_entry_ = entry;
    return acted;
  }

  Result<store::Cid> write_manifest(json compute) {
    const learn::Dataset& data = *data_;
    CAIRN_TRY_ASSIGN(Bytes images, learn::encode_idx_images(data));
    CAIRN_TRY_ASSIGN(Bytes labels, learn::encode_idx_labels(data));
    const chain::Address& me = context_.signer.address;
    const Bytes sealed_images =
        crypto::aead_seal(key_, images, as_bytes(shard_binding(me, "images")));
    const Bytes sealed_labels =
        crypto::aead_seal(key_, labels, as_bytes(shard_binding(me, "labels")));
    CAIRN_TRY_ASSIGN(store::Cid images_cid,
                     put_artifact(context_, sealed_images, "shard images (encrypted)"));
    CAIRN_TRY_ASSIGN(store::Cid labels_cid,
                     put_artifact(context_, sealed_labels, "shard labels (encrypted)"));
    json features = json::array();
    for (auto dim : data.feature_shape)
      features.push_back(dim);
    const json manifest = {
        {"type", "cairn.dataset.v1"},
        {"owner", me.to_checksum()},
        {"dataset", config_.dataset},
        {"schema", {{"format", "idx"}, {"features", features}, {"classes", data.num_classes}}},
        {"shards", json::array({{{"images", images_cid.to_string()},
                                 {"labels", labels_cid.to_string()},
                                 {"rows", data.rows()},
                                 {"encryption", "xchacha20-poly1305"}}})},
        {"quality", learn::quality_report(data).to_json()},
        {"price_wei", config_.price.to_decimal()},
        {"compute", std::move(compute)}};
    return put_artifact(context_, canonical_json_bytes(manifest), "dataset manifest");
  }

  // ---- delegation (data provider side) ----

  // Opens (or finds, after a restart) the deal with the compute provider; the manifest's
  // "compute" object.
  Result<json> open_delegation() {
    const chain::Address provider = *config_.delegate_to;
    CAIRN_TRY_ASSIGN(auto offer, current_compute_offer(context_, provider));
    if (!offer) {
      return fail(Errc::not_found,
                  fmt::format("{} has registered no compute offer", provider.to_checksum()));
    }
    if (offer->price == chain::U256{}) {
      return fail(Errc::invalid_argument,
                  "the compute offer's price is 0 (a deal escrows a price)");
    }
    CAIRN_TRY_ASSIGN(auto saved, read_state(context_, kDelegationFile));
    json state = json::object();
    if (saved) {
      CAIRN_TRY_ASSIGN(DelegationState read, parse_delegation_state(*saved));
      state = delegation_state_to_json(read);
    }
    if (state.value("compute_provider", "") != provider.to_checksum()) {
      // The wrapped key is kept before the deal is opened: a restart finds the deal by it.
      CAIRN_TRY_ASSIGN(Bytes wrapped, crypto::wrap_key(offer->x25519_public_key, key_));
      CAIRN_TRY_ASSIGN(store::Cid wrapped_cid,
                       put_raw_block(context_, wrapped, "shard key wrapped to compute provider"));
      state = {{"compute_provider", provider.to_checksum()},
               {"wrapped_key", wrapped_cid.to_string()}};
      CAIRN_TRY(write_state(context_, kDelegationFile, as_bytes(state.dump())));
    }
    CAIRN_TRY_ASSIGN(store::Cid wrapped_cid,
                     store::Cid::parse(state["wrapped_key"].get<std::string>()));
    CAIRN_TRY_ASSIGN(ByteArray<32> wrapped_digest, multihash_digest(wrapped_cid));
    CAIRN_TRY_ASSIGN(chain::DataTransfer transfer,
                     chain::DataTransfer::at(context_.sender, context_.deployment.data_transfer));
    if (!state.contains("deal")) {
      CAIRN_TRY_ASSIGN(
          auto opened,
          find_events(context_, "DataTransfer", context_.deployment.data_transfer, "DealInitiated",
                      {std::nullopt, topic_word(context_.signer.address), topic_word(provider)}));
      for (const auto& event : opened) {
        CAIRN_TRY_ASSIGN(ByteArray<32> pub, event.values.at(4).as_bytes32());
        if (pub != wrapped_digest) continue;
        CAIRN_TRY_ASSIGN(chain::U256 id, event.values.at(0).as_uint());
        state["deal"] = id.to_decimal();
      }
    }
    if (!state.contains("deal")) {
      CAIRN_TRY_ASSIGN(json schema_features, [&]() -> Result<json> {
        json features = json::array();
        for (auto dim : data_->feature_shape)
          features.push_back(dim);
        return features;
      }());
      const json schema = {
          {"format", "idx"}, {"features", schema_features}, {"classes", data_->num_classes}};
      const auto schema_digest = crypto::sha256(canonical_json_bytes(schema));
      CAIRN_TRY_ASSIGN(auto initiated,
                       transfer.init_transaction(context_.signer, provider, schema_digest,
                                                 wrapped_digest, offer->price));
      state["deal"] = initiated.deal_id.to_decimal();
      say(fmt::format("{}: deal {} opened with compute provider {} ({} wei escrowed)",
                      context_.name, initiated.deal_id.to_decimal(), provider.to_checksum(),
                      offer->price.to_decimal()));
    }
    CAIRN_TRY(write_state(context_, kDelegationFile, as_bytes(state.dump())));
    return json{{"provider", provider.to_checksum()},
                {"deal", state["deal"].get<std::string>()},
                {"key", wrapped_cid.to_string()}};
  }

  // Confirms the deal once the compute provider delivered and every task is done.
  Result<bool> settle_deal() {
    if (!deal_id_) return false;
    CAIRN_TRY_ASSIGN(chain::DataTransfer transfer,
                     chain::DataTransfer::at(context_.sender, context_.deployment.data_transfer));
    CAIRN_TRY_ASSIGN(chain::Deal deal, transfer.deal(chain::U256(*deal_id_)));
    if (!deal.exists()) {
      std::lock_guard lock(mutex_);
      deal_settled_ = true;
      return false;
    }
    if (!deal.data_provided || tasks_.empty()) return false;
    for (const auto& [id, task] : tasks_)
      if (!task.done) return false;
    CAIRN_TRY(transfer.verified_data(context_.signer, chain::U256(*deal_id_)));
    say(fmt::format("{}: deal {} confirmed; the compute provider is paid", context_.name,
                    *deal_id_));
    std::lock_guard lock(mutex_);
    deal_settled_ = true;
    return true;
  }

  // ---- tasks ----

  // One task's failure (its spec cannot be fetched now, its owner's gateway is gone) is
  // recorded against it and retried after a backoff; the role's other tasks go on.
  Result<bool> discover_tasks() {
    CAIRN_TRY_ASSIGN(auto ids, task_ids(context_));
    CAIRN_TRY_ASSIGN(chain::Contract tasks, training_task_contract(context_));
    for (std::uint64_t id : ids) {
      if (tasks_.contains(id) || ignored_.contains(id) || !task_errors_.due(id)) continue;
      auto joined = discover(tasks, id);
      if (!joined) {
        if (task_errors_.failed(id, joined.error())) {
          say(fmt::format("{}: task {}: {} (retried later; other tasks go on)", context_.name, id,
                          joined.error().to_string()));
        }
        continue;
      }
      task_errors_.succeeded(id);
      if (*joined) return true;
    }
    return false;
  }

  // Looks at task `id`: ignores it for good, joins it, or tracks it (joined before a
  // restart). True when it joined now.
  Result<bool> discover(const chain::Contract& tasks, std::uint64_t id) {
    CAIRN_TRY_ASSIGN(auto membership,
                     tasks.call("participants", {Value(id), Value(context_.signer.address)}));
    CAIRN_TRY_ASSIGN(bool joined, membership.at(0).as_bool());
    auto task = read_task(context_, id);
    auto spec = task ? fetch_spec(context_, *task) : Result<json>(std::unexpected(task.error()));
    if (!spec) {
      // A task whose spec CID does not parse, or whose spec is not what the chain committed
      // to or not a spec, is never joined; an owner's gateway that cannot be reached now is
      // tried again later.
      const Errc code = spec.error().code;
      if (joined || (code != Errc::integrity && code != Errc::parse)) {
        return std::unexpected(std::move(spec).error());
      }
      say(fmt::format("{}: task {} ignored: {}", context_.name, id, spec.error().to_string()));
      ignored_.insert(id);
      return false;
    }
    if (!joined) {
      const json wanted = spec->contains("schema") ? (*spec)["schema"] : json::object();
      if (!schema_fits(manifest_["schema"], wanted)) {
        say(fmt::format("{}: task {} ignored: its schema does not fit this dataset", context_.name,
                        id));
        ignored_.insert(id);
        return false;
      }
      CAIRN_TRY_ASSIGN(chain::BlockHeader head, context_.sender->rpc().block(std::nullopt));
      if (task->started || task->state != TaskState::open ||
          task->participant_count >= task->max_participants || head.timestamp >= task->deadline) {
        say(fmt::format("{}: task {} ignored: started, closed, full or past its deadline",
                        context_.name, id));
        ignored_.insert(id);
        return false;
      }
      if (auto refused = admission_refused(*task, *spec)) {
        say(fmt::format("{}: task {} ignored: {}", context_.name, id, *refused));
        ignored_.insert(id);
        return false;
      }
      chain::abi::ValueList proof;
      if (task->terms.allowlist != ByteArray<32>{}) {
        CAIRN_TRY_ASSIGN(auto admitted, spec_allowlist(*spec));
        for (const auto& sibling : allowlist_proof(admitted, context_.signer.address))
          proof.push_back(Value(sibling));
      }
      CAIRN_TRY_ASSIGN(ByteArray<32> digest, cid_commitment(*manifest_cid_));
      CAIRN_TRY(tasks.transact(context_.signer, "join",
                               {Value(id), Value(digest), Value::text(manifest_cid_->to_string()),
                                Value(std::move(proof))},
                               task->terms.stake));
      say(fmt::format("{}: joined task {} with manifest {} (stake {} wei)", context_.name, id,
                      manifest_cid_->to_string(), task->terms.stake.to_decimal()));
    }
    TrackedTask tracked;
    tracked.info = std::move(*task);
    tracked.spec = std::move(*spec);
    std::lock_guard lock(mutex_);
    tasks_.emplace(id, std::move(tracked));
    return !joined;
  }

  // Why this node does not join `task` under its terms, or nullopt when it may.
  std::optional<std::string> admission_refused(const TaskInfo& task, const json& spec) const {
    const TaskTerms& terms = task.terms;
    if (terms.stake > config_.max_stake) {
      return fmt::format("its stake of {} wei is above this node's max_stake_wei ({})",
                         terms.stake.to_decimal(), config_.max_stake.to_decimal());
    }
    // The rule on chain must be the one the spec names: the payout is judged against it.
    const std::string rule = spec.value("reward_rule", std::string());
    if (rule.empty() || reward_rule_id(rule) != terms.rule) {
      return "its reward rule on chain is not the one its spec names";
    }
    if (terms.allowlist != ByteArray<32>{}) {
      auto admitted = spec_allowlist(spec);
      if (!admitted || allowlist_root(*admitted) != terms.allowlist) {
        return "its spec's allowlist is not the one committed on chain";
      }
      if (std::find(admitted->begin(), admitted->end(), context_.signer.address) ==
          admitted->end()) {
        return "this node is not on its allowlist";
      }
    }
    return std::nullopt;
  }

  Result<bool> advance(TrackedTask& task) {
    TaskInfo view = task.info;
    CAIRN_TRY(refresh_task(context_, view));
    if (view.state == TaskState::reported || view.state == TaskState::defaulted ||
        view.state == TaskState::expired) {
      return claim(task, view);
    }
    if (view.state != TaskState::open || !view.started || view.current_round >= view.rounds)
      return false;
    const std::uint64_t round = view.current_round;
    CAIRN_TRY_ASSIGN(ByteArray<32> committed,
                     update_commitment(context_, task.info.id, round, context_.signer.address));
    if (committed != ByteArray<32>{}) return false;  // done for this round (maybe before a restart)
    const auto now = unix_time_s();
    CAIRN_TRY_ASSIGN(ByteArray<32> sealed,
                     sealed_update(context_, task.info.id, round, context_.signer.address));
    if (sealed != ByteArray<32>{}) return reveal(task, view, round, sealed, now);
    if (view.revealing(now)) {
      // Sealing closed before this node had an update: the round goes on without it.
      if (!task.notes.contains(round)) note(task, round, "too late: the round stopped sealing");
      return false;
    }
    const auto& behaviour = config_.behaviour;
    if (behaviour.kind == DataProviderBehaviour::Kind::dropout && round >= behaviour.from_round) {
      if (!task.notes.contains(round)) {
        std::lock_guard lock(mutex_);
        task.notes[round] = "dropped out (behaviour)";
      }
      return false;
    }
    const auto making = std::chrono::steady_clock::now();
    CAIRN_TRY_ASSIGN(std::optional<store::Cid> update, make_update(task, view, round));
    const double made_in =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - making).count();
    if (!update) return false;  // waiting (for the compute provider)
    if (context_.should_stop()) return false;
    // Checked again right before the transaction: nothing is ever sealed twice.
    CAIRN_TRY_ASSIGN(sealed, sealed_update(context_, task.info.id, round, context_.signer.address));
    if (sealed != ByteArray<32>{}) return false;
    CAIRN_TRY_ASSIGN(ByteArray<32> commitment, cid_commitment(*update));
    // The CID is kept before the seal goes out: after a restart the node still reveals
    // what it sealed (nobody else can: the seal hides it).
    const std::string text = update->to_string();
    CAIRN_TRY(write_state(context_, pending_reveal_file(task.info.id, round), as_bytes(text)));
    CAIRN_TRY_ASSIGN(chain::Contract tasks, training_task_contract(context_));
    CAIRN_TRY(tasks.transact(
        context_.signer, "sealUpdate",
        {Value(task.info.id), Value(round),
         Value(update_seal(context_.signer.address, task.info.id, round, commitment))}));
    say(fmt::format("{}: task {} round {}: update {} sealed ({:.2f} s to make)", context_.name,
                    task.info.id, round, text, made_in));
    return true;
  }

  static std::string pending_reveal_file(std::uint64_t task_id, std::uint64_t round) {
    return fmt::format("data_provider/task-{}-round-{}.sealed", task_id, round);
  }

  // Reveals the update sealed for `round` once the round reveals.
  Result<bool> reveal(TrackedTask& task, const TaskInfo& view, std::uint64_t round,
                      const ByteArray<32>& sealed, std::uint64_t now) {
    if (!view.revealing(now)) return false;  // the others are still sealing
    CAIRN_TRY_ASSIGN(auto kept, read_state(context_, pending_reveal_file(task.info.id, round)));
    std::optional<store::Cid> update;
    if (kept) {
      auto parsed =
          store::Cid::parse(std::string(reinterpret_cast<const char*>(kept->data()), kept->size()));
      if (parsed) update = *parsed;
    }
    ByteArray<32> commitment{};
    if (update) {
      CAIRN_TRY_ASSIGN(commitment, cid_commitment(*update));
    }
    if (!update ||
        update_seal(context_.signer.address, task.info.id, round, commitment) != sealed) {
      if (!task.notes.contains(round))
        note(task, round, "sealed an update this node no longer has");
      return false;
    }
    if (context_.should_stop()) return false;
    CAIRN_TRY_ASSIGN(chain::Contract tasks, training_task_contract(context_));
    CAIRN_TRY(tasks.transact(
        context_.signer, "submitUpdate",
        {Value(task.info.id), Value(round), Value(commitment), Value::text(update->to_string())}));
    if (context_.metrics) context_.metrics->add("updates_submitted_total");
    say(fmt::format("{}: task {} round {}: update {} revealed", context_.name, task.info.id, round,
                    update->to_string()));
    std::lock_guard lock(mutex_);
    task.submitted[round] = update->to_string();
    return true;
  }

  // The update to commit for `round` (nullopt: not available yet).
  Result<std::optional<store::Cid>> make_update(TrackedTask& task, const TaskInfo& view,
                                                std::uint64_t round) {
    using Kind = DataProviderBehaviour::Kind;
    const auto& behaviour = config_.behaviour;
    const std::uint64_t task_id = task.info.id;
    if (behaviour.kind == Kind::garbage) {
      CAIRN_TRY_ASSIGN(store::Cid cid, put_artifact(context_, crypto::random_bytes(4096),
                                                    fmt::format("garbage round {}", round)));
      note(task, round, "garbage (behaviour)");
      return std::optional<store::Cid>(cid);
    }
    if (behaviour.kind == Kind::replay && round >= 1) {
      CAIRN_TRY_ASSIGN(auto first,
                       committed_update_cid(context_, task_id, 0, context_.signer.address));
      if (first) {
        CAIRN_TRY_ASSIGN(store::Cid cid, store::Cid::parse(*first));
        note(task, round, "replay of round 0's update (behaviour)");
        return std::optional<store::Cid>(cid);
      }
    }
    if (task.participants.empty()) {
      CAIRN_TRY_ASSIGN(auto participants, task_participants(context_, task_id));
      std::lock_guard lock(mutex_);
      task.participants = std::move(participants);
    }
    std::uint64_t total_rows = 0;
    for (const auto& participant : task.participants)
      total_rows += participant.rows;
    const std::uint64_t own_rows = manifest_rows(manifest_);
    if (total_rows == 0 || own_rows == 0) {
      return fail(Errc::invalid_argument,
                  fmt::format("task {}: no rows in the manifests", task_id));
    }
    const double weight = static_cast<double>(own_rows) / static_cast<double>(total_rows);
    if (!task.key) {
      CAIRN_TRY_ASSIGN(TaskKey parsed, task_key(task.spec));
      task.key = std::move(parsed);
    }
    const TaskKey& key = *task.key;
    CAIRN_TRY_ASSIGN(GlobalModel global, fetch_global_model(context_, view, task.spec, round));
    if (config_.delegate_to) {
      CAIRN_TRY_ASSIGN(auto delegated, delegated_update(task, key, global, round));
      if (delegated) return delegated;
      if (!task.notes.contains(round) || !task.notes[round].starts_with("compute provider's"))
        return std::optional<store::Cid>{};  // not delivered yet
      // The provider's update was refused: the data provider trains itself.
    }
    const auto started = std::chrono::steady_clock::now();
    // The encryption's randomisers are made while the model trains.
    std::future<void> randomisers =
        precompute_randomisers(key, global.parameters.values.size() + 1);
    auto trained = weighted_delta(task.spec, global.parameters, *data_, round,
                                  context_.signer.address, weight);
    randomisers.wait();
    if (!trained) return std::unexpected(std::move(trained).error());
    std::vector<double> values = std::move(*trained);
    if (context_.metrics) {
      context_.metrics->add(
          "training_seconds_total",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    const auto encrypting = std::chrono::steady_clock::now();
    if (behaviour.kind == Kind::poison) {
      scale_delta(values, behaviour.scale, key.packing);
      note(task, round, fmt::format("delta scaled by {} (behaviour)", behaviour.scale));
    }
    if (context_.should_stop()) return std::optional<store::Cid>{};
    CAIRN_TRY_ASSIGN(Bytes bytes, encrypt_update(key, values, round));
    if (context_.metrics) {
      context_.metrics->add(
          "encryption_seconds_total",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - encrypting).count());
    }
    CAIRN_TRY_ASSIGN(
        store::Cid cid,
        put_artifact(context_, bytes, fmt::format("task {} update round {}", task_id, round)));
    return std::optional<store::Cid>(cid);
  }

  // The compute provider's update for `round`, fetched and checked; nullopt when it has not
  // delivered yet, or when what it delivered was refused (noted).
  Result<std::optional<store::Cid>> delegated_update(TrackedTask& task, const TaskKey& key,
                                                     const GlobalModel& global,
                                                     std::uint64_t round) {
    CAIRN_TRY_ASSIGN(auto offer, current_compute_offer(context_, *config_.delegate_to));
    if (!offer || !deal_id_) return std::optional<store::Cid>{};
    const auto delivered = delivered_update(*offer, *deal_id_, task.info.id, round);
    if (!delivered) return std::optional<store::Cid>{};
    CAIRN_TRY_ASSIGN(store::Cid cid, store::Cid::parse(*delivered));
    auto bytes = fetch_artifact(
        context_, *config_.delegate_to, cid,
        learn::encrypted_vector_bytes(key.key, global.parameters.values.size() + 1, key.packing));
    Status checked = bytes ? check_update(key, *bytes, global.parameters.values.size() + 1, round)
                           : Status(std::unexpected(bytes.error()));
    if (!checked) {
      note(task, round, "compute provider's update refused: " + checked.error().to_string());
      say(fmt::format("{}: task {} round {}: {}", context_.name, task.info.id, round,
                      task.notes[round]));
      return std::optional<store::Cid>{};
    }
    note(task, round, "trained by compute provider " + config_.delegate_to->to_checksum());
    return std::optional<store::Cid>(cid);
  }

  void note(TrackedTask& task, std::uint64_t round, std::string text) {
    std::lock_guard lock(mutex_);
    task.notes[round] = std::move(text);
  }

  // Claims the reward and stake once claims are open (after the challenge window of a
  // report; at once under the default payout or an expiry).
  Result<bool> claim(TrackedTask& task, const TaskInfo& view) {
    CAIRN_TRY_ASSIGN(chain::Contract tasks, training_task_contract(context_));
    CAIRN_TRY_ASSIGN(auto membership, tasks.call("participants", {Value(task.info.id),
                                                                  Value(context_.signer.address)}));
    CAIRN_TRY_ASSIGN(bool claimed, membership.at(1).as_bool());
    CAIRN_TRY_ASSIGN(auto owed_now, tasks.call("claimable", {Value(task.info.id),
                                                             Value(context_.signer.address)}));
    CAIRN_TRY_ASSIGN(chain::U256 owed, owed_now.at(0).as_uint());
    if (claimed || owed == chain::U256{}) {
      std::lock_guard lock(mutex_);
      task.done = true;
      task.outcome = claimed ? "claimed" : "nothing owed";
      return false;
    }
    if (view.state == TaskState::reported) {
      const auto now = unix_time_s();
      if (now < view.progress.phase_at + view.terms.challenge_window_s) {
        if (!task.report_judged) return judge_report(task, view);
        return false;
      }
    }
    CAIRN_TRY(tasks.transact(context_.signer, "claim", {Value(task.info.id)}));
    say(fmt::format("{}: task {}: claimed {} wei ({})", context_.name, task.info.id,
                    owed.to_decimal(), to_string(view.state)));
    std::lock_guard lock(mutex_);
    task.done = true;
    task.outcome = "claimed";
    return true;
  }

  // Replays the report with the rule the task committed to (market/reward_rule) on the
  // report's own Shapley totals and the chain's contributors, pool and floor; a report whose
  // amounts on chain are not the rule's is challenged (a majority of contributors replaces
  // it with the default payout). The Shapley totals themselves are the model provider's
  // word: only the arithmetic of the rule is checked here.
  Result<bool> judge_report(TrackedTask& task, const TaskInfo& view) {
    const std::uint64_t id = task.info.id;
    CAIRN_TRY_ASSIGN(chain::Contract tasks, training_task_contract(context_));
    CAIRN_TRY_ASSIGN(auto me,
                     tasks.call("participants", {Value(id), Value(context_.signer.address)}));
    CAIRN_TRY_ASSIGN(bool challenged, me.at(2).as_bool());
    CAIRN_TRY_ASSIGN(std::uint64_t accepted, me.at(3).as_u64());
    std::string verdict;
    if (accepted > 0 && !challenged) {
      CAIRN_TRY_ASSIGN(auto reported, contributions_reported(context_, id));
      if (!reported) return false;  // the event is not visible yet
      auto judged = report_verdict(tasks, view, *reported);
      if (!judged) {
        // A report nobody can read is not the rule's; one that cannot be fetched right now
        // is tried again.
        const Errc code = judged.error().code;
        if (code != Errc::parse && code != Errc::integrity) {
          return std::unexpected(std::move(judged).error());
        }
        verdict = "it cannot be read: " + judged.error().to_string();
      } else {
        verdict = std::move(*judged);
      }
      if (!verdict.empty()) {
        auto sent = tasks.transact(context_.signer, "challenge", {Value(id)});
        if (!sent) {
          // The other contributors may have overturned the report in the meantime.
          TaskInfo now = view;
          if (!refresh_task(context_, now) || now.state == TaskState::reported) {
            return std::unexpected(std::move(sent).error());
          }
          verdict = "overturned by the others first";
        }
        if (context_.metrics && sent) context_.metrics->add("reports_challenged_total");
        say(fmt::format("{}: task {}: {} the report: {}", context_.name, id,
                        sent ? "challenged" : "did not need to challenge", verdict));
      }
    }
    std::lock_guard lock(mutex_);
    task.report_judged = true;
    return !verdict.empty();
  }

  // Why the report is not the rule's, or "" when it is.
  Result<std::string> report_verdict(const chain::Contract& tasks, const TaskInfo& view,
                                     const CommitInfo& reported) {
    const std::uint64_t id = view.id;
    if (!reported.cid) return fail(Errc::parse, "its CID does not parse");
    CAIRN_TRY_ASSIGN(Bytes bytes,
                     fetch_artifact(context_, view.owner, *reported.cid, kDocumentCap));
    CAIRN_TRY_ASSIGN(json report, parse_contribution_report(bytes));
    const std::string rule = report.value("reward_rule", std::string());
    if (rule != kRewardRule || reward_rule_id(rule) != view.terms.rule) {
      return std::string("its rule is not the one the task committed to");
    }
    CAIRN_TRY_ASSIGN(auto totals, shapley_totals(report.value("rounds", json::array())));
    std::map<chain::Address, chain::U256> owed;  // the contributors, in ascending order
    CAIRN_TRY_ASSIGN(auto joins, task_joins(context_, id));
    for (const auto& join : joins) {
      CAIRN_TRY_ASSIGN(auto member,
                       tasks.call("participants", {Value(id), Value(join.participant)}));
      CAIRN_TRY_ASSIGN(std::uint64_t their_accepted, member.at(3).as_u64());
      if (their_accepted == 0) continue;
      CAIRN_TRY_ASSIGN(owed[join.participant], member.at(4).as_uint());
    }
    std::vector<chain::Address> contributors;
    for (const auto& [who, amount] : owed)
      contributors.push_back(who);
    CAIRN_TRY_ASSIGN(auto pool_value, tasks.call("pool", {Value(id)}));
    CAIRN_TRY_ASSIGN(chain::U256 pool, pool_value.at(0).as_uint());
    CAIRN_TRY_ASSIGN(auto expected, reward_amounts(contributors, totals, pool, view.terms.floor));
    for (std::size_t i = 0; i < contributors.size(); ++i) {
      if (owed[contributors[i]] != expected[i]) {
        return fmt::format("{} is owed {} wei on chain; the rule gives {} wei",
                           contributors[i].to_checksum(), owed[contributors[i]].to_decimal(),
                           expected[i].to_decimal());
      }
    }
    return std::string();
  }

  Config config_;
  NodeContext& context_;
  mutable std::mutex mutex_;
  bool announced_ = false;
  ByteArray<32> key_{};
  std::optional<learn::Dataset> data_;
  std::string data_sha256_;  // of the IDX files as read (images, then labels)
  json manifest_;
  std::optional<store::Cid> manifest_cid_;
  std::string signature_cid_;
  std::optional<std::uint64_t> registry_entry_;
  std::optional<std::uint64_t> deal_id_;
  bool deal_settled_ = false;
  std::map<std::uint64_t, TrackedTask> tasks_;
  std::set<std::uint64_t> ignored_;
  TaskErrors task_errors_;
  std::string last_error_;
};

}  // namespace

Result<std::unique_ptr<Role>> make_data_provider(const json& config, NodeContext& context) {
  CAIRN_TRY_ASSIGN(Config parsed, parse_config(config));
  if (context.repo == nullptr || !context.sender) {
    return fail(Errc::invalid_argument, "data_provider: the node has no store or no chain");
  }
  return std::unique_ptr<Role>(std::make_unique<DataProvider>(std::move(parsed), context));
}

}  // namespace cairn::market

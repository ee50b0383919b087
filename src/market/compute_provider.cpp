#include "market/compute_provider.hpp"

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <set>

#include "base/encoding.hpp"
#include "base/json.hpp"
#include "chain/data_transfer.hpp"
#include "crypto/sodium.hpp"
#include "market/directory.hpp"
#include "market/passport.hpp"
#include "market/trainer_common.hpp"

namespace cairn::market {

using chain::abi::Value;
using nlohmann::json;

namespace {

constexpr const char* kX25519File = "compute_provider/x25519.key";

// An entry's metadata CID now: its Registered event's, or the last Updated event's after it
// (checked against the digest the entry holds).
Result<std::optional<std::pair<store::Cid, ByteArray<32>>>> entry_metadata(
    const NodeContext& context, std::uint64_t entry_id, const std::string& registered_cid) {
  CAIRN_TRY_ASSIGN(chain::Contract registry, registry_contract(context));
  CAIRN_TRY_ASSIGN(auto current, registry.call("getEntry", {Value(entry_id)}));
  CAIRN_TRY_ASSIGN(bool active, current.at(2).as_bool());
  CAIRN_TRY_ASSIGN(ByteArray<32> digest, current.at(3).as_bytes32());
  if (!active) return std::optional<std::pair<store::Cid, ByteArray<32>>>{};
  std::string text = registered_cid;
  CAIRN_TRY_ASSIGN(auto updates, find_events(context, "Registry", context.deployment.registry,
                                             "Updated", {topic_word(entry_id)}));
  if (!updates.empty()) {
    CAIRN_TRY_ASSIGN(text, updates.back().values.at(2).as_string());
  }
  CAIRN_TRY_ASSIGN(store::Cid cid, store::Cid::parse(text));
  CAIRN_TRY_ASSIGN(ByteArray<32> expected, cid_commitment(cid));
  if (expected != digest) {
    return fail(Errc::integrity, fmt::format("Registry entry {}: metadata {} does not match "
                                             "the entry's digest",
                                             entry_id, text));
  }
  return std::optional<std::pair<store::Cid, ByteArray<32>>>(std::pair(cid, digest));
}

// `bytes` are read with the strict reader (market/artifacts.hpp): the document's fields are
// then known to be there with their types.
Result<ComputeOffer> parse_offer(const chain::Address& provider, std::uint64_t entry_id,
                                 const store::Cid& cid, ByteView bytes) {
  ComputeOffer offer;
  offer.entry_id = entry_id;
  offer.owner = provider;
  offer.cid = cid;
  CAIRN_TRY_ASSIGN(json document,
                   parse_compute_offer(bytes, fmt::format("compute offer {}", cid.to_string())));
  CAIRN_TRY_ASSIGN(offer.price, chain::U256::parse(document["price_wei"].get<std::string>()));
  CAIRN_TRY_ASSIGN(Bytes key, from_hex(document["x25519_public_key"].get<std::string>()));
  if (key.size() != 32) return fail(Errc::parse, "compute offer: bad X25519 key");
  std::copy(key.begin(), key.end(), offer.x25519_public_key.begin());
  offer.document = std::move(document);
  return offer;
}

}  // namespace

Result<std::optional<ComputeOffer>> current_compute_offer(NodeContext& context,
                                                          const chain::Address& provider) {
  CAIRN_TRY_ASSIGN(
      auto registered,
      find_events(context, "Registry", context.deployment.registry, "Registered",
                  {std::nullopt, topic_word(provider),
                   topic_word(static_cast<std::uint64_t>(RegistryKind::compute_offer))}));
  for (auto it = registered.rbegin(); it != registered.rend(); ++it) {
    CAIRN_TRY_ASSIGN(std::uint64_t id, it->values.at(0).as_u64());
    CAIRN_TRY_ASSIGN(std::string text, it->values.at(4).as_string());
    CAIRN_TRY_ASSIGN(auto metadata, entry_metadata(context, id, text));
    if (!metadata) continue;
    CAIRN_TRY_ASSIGN(Bytes bytes, fetch_artifact(context, provider, metadata->first, kDocumentCap));
    CAIRN_TRY_ASSIGN(ComputeOffer offer, parse_offer(provider, id, metadata->first, bytes));
    return std::optional<ComputeOffer>(std::move(offer));
  }
  return std::optional<ComputeOffer>{};
}

std::optional<std::string> delivered_update(const ComputeOffer& offer, std::uint64_t deal,
                                            std::uint64_t task, std::uint64_t round) {
  const json& deliveries =
      offer.document.contains("deliveries") ? offer.document["deliveries"] : json::array();
  if (!deliveries.is_array()) return std::nullopt;
  for (const auto& delivery : deliveries) {
    if (!delivery.is_object()) continue;
    if (delivery.value("deal", "") == std::to_string(deal) &&
        delivery.value("task", std::uint64_t{0}) == task &&
        delivery.value("round", std::uint64_t{~0ULL}) == round && delivery.contains("update") &&
        delivery["update"].is_string()) {
      return delivery["update"].get<std::string>();
    }
  }
  return std::nullopt;
}

namespace {

struct Job {
  std::uint64_t deal = 0;
  chain::Address consumer;
  ByteArray<32> wrapped_key_digest{};
  std::optional<ByteArray<32>> shard_key;
  std::optional<TaskInfo> task;  // as read when it was found (its id, owner, spec CID)
  json spec;
  std::optional<TaskMember> participant;  // the consumer's manifest
  std::optional<learn::Dataset> data;
  std::vector<TaskMember> participants;
  std::optional<TaskKey> key;  // the task's Paillier key and encryptor
  bool provided = false;       // provideData sent (or seen on chain)
  bool closed = false;         // the deal is settled or refunded
};

class ComputeProvider final : public Role {
 public:
  ComputeProvider(chain::U256 price, NodeContext& context) : price_(price), context_(context) {}

  std::string_view kind() const override { return "compute_provider"; }

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
    json jobs = json::array();
    for (const auto& [id, job] : jobs_) {
      jobs.push_back({{"deal", id},
                      {"consumer", job.consumer.to_checksum()},
                      {"task", job.task ? json(job.task->id) : json(nullptr)},
                      {"provided", job.provided},
                      {"closed", job.closed}});
    }
    json out = {{"kind", "compute_provider"},
                {"price_wei", price_.to_decimal()},
                {"offer", offer_ ? offer_->cid.to_string() : ""},
                {"registry_entry", offer_ ? json(offer_->entry_id) : json(nullptr)},
                {"deliveries",
                 offer_ ? offer_->document.value("deliveries", json::array()) : json::array()},
                {"jobs", jobs},
                {"finished", finished_locked()}};
    if (!last_error_.empty()) out["last_error"] = last_error_;
    return out;
  }

  bool finished() const override {
    std::lock_guard lock(mutex_);
    return finished_locked();
  }

 private:
  bool finished_locked() const {
    if (jobs_.empty()) return false;
    for (const auto& [id, job] : jobs_)
      if (!job.closed) return false;
    return true;
  }

  void say(const std::string& line) const {
    if (context_.log) context_.log(line);
  }

  Result<bool> step_inner() {
    // A phase returns true only when it sent or stored something new.
    if (!announced_) {
      CAIRN_TRY(announce_endpoint(context_));
      announced_ = true;
    }
    if (!offer_) {
      CAIRN_TRY_ASSIGN(bool published, publish_offer());
      if (published) return true;
    }
    // Finding deals and tasks only reads; the jobs then act in the same step.
    CAIRN_TRY(discover_deals());
    for (auto& [id, job] : jobs_) {
      if (job.closed) continue;
      if (context_.should_stop()) return false;
      CAIRN_TRY_ASSIGN(bool acted, advance(job));
      if (acted) return true;
    }
    return false;
  }

  Result<bool> publish_offer() {
    CAIRN_TRY_ASSIGN(ByteArray<32> secret, load_or_create_key(context_, kX25519File));
    keys_ = crypto::x25519_from_secret(secret);
    CAIRN_TRY_ASSIGN(auto existing, current_compute_offer(context_, context_.signer.address));
    if (existing && existing->x25519_public_key == keys_.public_key && existing->price == price_) {
      std::lock_guard lock(mutex_);
      offer_ = std::move(existing);
      return false;
    }
    json document = {{"type", "cairn.compute.v1"},
                     {"owner", context_.signer.address.to_checksum()},
                     {"price_wei", price_.to_decimal()},
                     {"x25519_public_key", to_hex(keys_.public_key)},
                     {"deliveries", existing ? existing->document.value("deliveries", json::array())
                                             : json::array()}};
    const Bytes document_bytes = canonical_json_bytes(document);
    CAIRN_TRY_ASSIGN(store::Cid cid, put_artifact(context_, document_bytes, "compute offer"));
    CAIRN_TRY_ASSIGN(ByteArray<32> digest, cid_commitment(cid));
    CAIRN_TRY_ASSIGN(chain::Contract registry, registry_contract(context_));
    std::uint64_t entry = 0;
    if (existing) {
      CAIRN_TRY(registry.transact(
          context_.signer, "update",
          {Value(existing->entry_id), Value(digest), Value::text(cid.to_string())}));
      entry = existing->entry_id;
    } else {
      CAIRN_TRY_ASSIGN(auto tx, registry.transact(
                                    context_.signer, "register",
                                    {Value(static_cast<std::uint64_t>(RegistryKind::compute_offer)),
                                     Value(digest), Value::text(cid.to_string())}));
      CAIRN_TRY_ASSIGN(auto event, registry.event_in(tx.receipt, "Registered"));
      CAIRN_TRY_ASSIGN(entry, event.at(0).as_u64());
    }
    CAIRN_TRY_ASSIGN(ComputeOffer offer,
                     parse_offer(context_.signer.address, entry, cid, document_bytes));
    say(fmt::format("{}: compute offer {} registered (entry {}, {} wei)", context_.name,
                    cid.to_string(), entry, price_.to_decimal()));
    std::lock_guard lock(mutex_);
    offer_ = std::move(offer);
    return true;
  }

  Status discover_deals() {
    CAIRN_TRY_ASSIGN(
        auto initiated,
        find_events(context_, "DataTransfer", context_.deployment.data_transfer, "DealInitiated",
                    {std::nullopt, std::nullopt, topic_word(context_.signer.address)}));
    CAIRN_TRY_ASSIGN(chain::DataTransfer transfer,
                     chain::DataTransfer::at(context_.sender, context_.deployment.data_transfer));
    for (const auto& event : initiated) {
      CAIRN_TRY_ASSIGN(std::uint64_t deal_id, event.values.at(0).as_u64());
      const chain::U256 id(deal_id);
      if (jobs_.contains(deal_id) || ignored_.contains(deal_id)) continue;
      CAIRN_TRY_ASSIGN(chain::Deal deal, transfer.deal(id));
      if (!deal.exists()) {
        // Closed before this node looked: a job it finished before a restart, or not its.
        bool delivered = false;
        for (const auto& delivery : offer_->document.value("deliveries", json::array()))
          delivered = delivered || delivery.value("deal", "") == std::to_string(deal_id);
        if (delivered) {
          Job job;
          job.deal = deal_id;
          job.provided = true;
          job.closed = true;
          std::lock_guard lock(mutex_);
          jobs_.emplace(deal_id, std::move(job));
        } else {
          ignored_.insert(deal_id);
        }
        continue;
      }
      if (deal.price < price_) {
        say(fmt::format("{}: deal {} ignored: {} wei is below the offer's price", context_.name,
                        deal_id, deal.price.to_decimal()));
        ignored_.insert(deal_id);
        continue;
      }
      Job job;
      job.deal = deal_id;
      job.consumer = deal.consumer;
      job.provided = deal.data_provided;
      CAIRN_TRY_ASSIGN(job.wrapped_key_digest, event.values.at(4).as_bytes32());
      say(fmt::format("{}: deal {} from {} accepted", context_.name, deal_id,
                      deal.consumer.to_checksum()));
      std::lock_guard lock(mutex_);
      jobs_.emplace(deal_id, std::move(job));
    }
    return {};
  }

  Result<bool> advance(Job& job) {
    CAIRN_TRY_ASSIGN(chain::DataTransfer transfer,
                     chain::DataTransfer::at(context_.sender, context_.deployment.data_transfer));
    CAIRN_TRY_ASSIGN(chain::Deal deal, transfer.deal(chain::U256(job.deal)));
    if (!deal.exists()) {
      std::lock_guard lock(mutex_);
      job.closed = true;
      say(fmt::format("{}: deal {} closed", context_.name, job.deal));
      return false;
    }
    job.provided = deal.data_provided;
    if (!job.shard_key) {
      // The data key, wrapped to this provider: the only key it ever receives.
      const store::Cid key_cid = raw_cid_of_digest(job.wrapped_key_digest);
      CAIRN_TRY_ASSIGN(Bytes wrapped,
                       fetch_artifact(context_, job.consumer, key_cid, kDocumentCap));
      CAIRN_TRY_ASSIGN(Bytes key, crypto::unwrap_key(keys_, wrapped));
      if (key.size() != 32) return fail(Errc::integrity, "the wrapped shard key is not 32 bytes");
      ByteArray<32> shard_key{};
      std::copy(key.begin(), key.end(), shard_key.begin());
      job.shard_key = shard_key;
    }
    if (!job.task) {
      CAIRN_TRY_ASSIGN(bool found, find_task(job));
      if (!found) return false;
    }
    TaskInfo view = *job.task;
    CAIRN_TRY(refresh_task(context_, view));
    const bool training_over =
        view.state != TaskState::open || (view.started && view.current_round >= view.rounds);
    if (!training_over && view.started) {
      const std::uint64_t round = view.current_round;
      if (!delivered_update(*offer_, job.deal, job.task->id, round)) {
        // The consumer seals what it was delivered: once sealed, the round needs nothing more.
        CAIRN_TRY_ASSIGN(ByteArray<32> sealed,
                         sealed_update(context_, job.task->id, round, job.consumer));
        if (sealed == ByteArray<32>{}) {
          CAIRN_TRY(train_and_deliver(job, view, round));
          return true;
        }
      }
    }
    // Delivered: the task's last round has an update, or training is over.
    const bool last_delivered =
        view.rounds > 0 && delivered_update(*offer_, job.deal, job.task->id, view.rounds - 1);
    if (!job.provided && (last_delivered || training_over)) {
      CAIRN_TRY_ASSIGN(ByteArray<32> offer_digest, multihash_digest(offer_->cid));
      CAIRN_TRY(transfer.provide_data(context_.signer, chain::U256(job.deal),
                                      job.wrapped_key_digest, offer_digest));
      say(fmt::format("{}: deal {}: delivery recorded on chain (offer {})", context_.name, job.deal,
                      offer_->cid.to_string()));
      std::lock_guard lock(mutex_);
      job.provided = true;
      return true;
    }
    return false;
  }

  // The task the consumer joined with a manifest that names this deal.
  Result<bool> find_task(Job& job) {
    CAIRN_TRY_ASSIGN(auto joined,
                     find_events(context_, "TrainingTask", context_.deployment.training_task,
                                 "ParticipantJoined", {std::nullopt, topic_word(job.consumer)}));
    for (auto it = joined.rbegin(); it != joined.rend(); ++it) {
      CAIRN_TRY_ASSIGN(std::uint64_t task_id, it->values.at(0).as_u64());
      CAIRN_TRY_ASSIGN(std::string text, it->values.at(3).as_string());
      CAIRN_TRY_ASSIGN(store::Cid manifest_cid, store::Cid::parse(text));
      CAIRN_TRY_ASSIGN(Bytes bytes,
                       fetch_artifact(context_, job.consumer, manifest_cid, kDocumentCap));
      auto parsed = parse_dataset_manifest(bytes, "dataset manifest " + manifest_cid.to_string());
      if (!parsed || !(*parsed)["compute"].is_object()) continue;
      const json manifest = std::move(*parsed);
      const json& compute = manifest["compute"];
      if (compute.value("deal", "") != std::to_string(job.deal) ||
          compute.value("provider", "") != context_.signer.address.to_checksum())
        continue;
      CAIRN_TRY_ASSIGN(TaskInfo task, read_task(context_, task_id));
      CAIRN_TRY_ASSIGN(job.spec, fetch_spec(context_, task));
      CAIRN_TRY_ASSIGN(job.data,
                       load_encrypted_shards(context_, job.consumer, manifest, *job.shard_key));
      TaskMember participant;
      participant.address = job.consumer;
      participant.manifest_cid = manifest_cid;
      participant.rows = manifest_rows(manifest);
      participant.manifest = std::move(manifest);
      std::lock_guard lock(mutex_);
      job.participant = std::move(participant);
      say(fmt::format("{}: deal {}: training for {} in task {}", context_.name, job.deal,
                      job.consumer.to_checksum(), task.id));
      job.task = std::move(task);
      return true;
    }
    return false;
  }

  Status train_and_deliver(Job& job, const TaskInfo& view, std::uint64_t round) {
    if (job.participants.empty()) {
      CAIRN_TRY_ASSIGN(job.participants, task_participants(context_, job.task->id));
    }
    std::uint64_t total_rows = 0;
    for (const auto& participant : job.participants)
      total_rows += participant.rows;
    if (total_rows == 0 || job.participant->rows == 0) {
      return fail(Errc::invalid_argument, "no rows in the task's manifests");
    }
    const double weight =
        static_cast<double>(job.participant->rows) / static_cast<double>(total_rows);
    if (!job.key) {
      CAIRN_TRY_ASSIGN(TaskKey parsed, task_key(job.spec));
      job.key = std::move(parsed);
    }
    const TaskKey& key = *job.key;
    CAIRN_TRY_ASSIGN(GlobalModel global, fetch_global_model(context_, view, job.spec, round));
    const auto started = std::chrono::steady_clock::now();
    std::future<void> randomisers =
        precompute_randomisers(key, global.parameters.values.size() + 1);
    auto trained =
        weighted_delta(job.spec, global.parameters, *job.data, round, job.consumer, weight);
    randomisers.wait();
    if (!trained) return std::unexpected(std::move(trained).error());
    std::vector<double> values = std::move(*trained);
    if (context_.metrics) {
      context_.metrics->add(
          "training_seconds_total",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    CAIRN_TRY_ASSIGN(Bytes bytes, encrypt_update(key, values, round));
    CAIRN_TRY_ASSIGN(store::Cid update, put_artifact(context_, bytes,
                                                     fmt::format("deal {} task {} round {}",
                                                                 job.deal, job.task->id, round)));
    // A new version of the offer lists the delivery (an Updated event in the Registry).
    json document = offer_->document;
    if (!document.contains("deliveries") || !document["deliveries"].is_array())
      document["deliveries"] = json::array();
    document["deliveries"].push_back({{"deal", std::to_string(job.deal)},
                                      {"task", job.task->id},
                                      {"round", round},
                                      {"participant", job.consumer.to_checksum()},
                                      {"update", update.to_string()}});
    const Bytes document_bytes = canonical_json_bytes(document);
    CAIRN_TRY_ASSIGN(store::Cid cid, put_artifact(context_, document_bytes, "compute offer"));
    CAIRN_TRY_ASSIGN(ByteArray<32> digest, cid_commitment(cid));
    CAIRN_TRY_ASSIGN(chain::Contract registry, registry_contract(context_));
    CAIRN_TRY(
        registry.transact(context_.signer, "update",
                          {Value(offer_->entry_id), Value(digest), Value::text(cid.to_string())}));
    CAIRN_TRY_ASSIGN(ComputeOffer offer,
                     parse_offer(context_.signer.address, offer_->entry_id, cid, document_bytes));
    if (context_.metrics) context_.metrics->add("updates_delivered_total");
    say(fmt::format("{}: deal {} task {} round {}: update {} delivered", context_.name, job.deal,
                    job.task->id, round, update.to_string()));
    std::lock_guard lock(mutex_);
    offer_ = std::move(offer);
    return {};
  }

  chain::U256 price_;
  NodeContext& context_;
  mutable std::mutex mutex_;
  bool announced_ = false;
  crypto::X25519KeyPair keys_{};
  std::optional<ComputeOffer> offer_;
  std::map<std::uint64_t, Job> jobs_;
  std::set<std::uint64_t> ignored_;
  std::string last_error_;
};

}  // namespace

Result<std::unique_ptr<Role>> make_compute_provider(const json& config, NodeContext& context) {
  CAIRN_TRY_ASSIGN(JsonObject object, JsonObject::of(config, "roles.compute_provider"));
  CAIRN_TRY_ASSIGN(auto price_node, object.required("price_wei"));
  CAIRN_TRY(object.close());
  CAIRN_TRY_ASSIGN(auto price_text, price_node.string());
  auto price = chain::U256::parse(price_text);
  if (!price) return std::unexpected(price_node.error("must be a decimal amount of wei"));
  if (*price == chain::U256{}) {
    return std::unexpected(
        price_node.error("must be above 0 (DataTransfer escrows the compute price)"));
  }
  if (context.repo == nullptr || !context.sender) {
    return fail(Errc::invalid_argument, "compute_provider: the node has no store or no chain");
  }
  return std::unique_ptr<Role>(std::make_unique<ComputeProvider>(*price, context));
}

}  // namespace cairn::market

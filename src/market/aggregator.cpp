#include "market/aggregator.hpp"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <set>

#include "base/json.hpp"
#include "learn/params.hpp"
#include "market/directory.hpp"
#include "market/protocol.hpp"

namespace cairn::market {

using chain::abi::Value;
using nlohmann::json;

namespace {

class Aggregator final : public Role {
 public:
  Aggregator(NodeContext& context, std::optional<std::uint64_t> wrong_round)
      : context_(context), wrong_round_(wrong_round) {}

  std::string_view kind() const override { return "aggregator"; }

  Result<bool> step() override {
    if (!announced_) {
      CAIRN_TRY(announce_endpoint(context_));
      announced_ = true;
      return true;
    }
    CAIRN_TRY_ASSIGN(auto tasks, all_tasks(context_));
    bool did = false;
    std::size_t open = 0, mine = 0;
    for (const auto& task : tasks) {
      if (task.aggregator != context_.signer.address) continue;
      ++mine;
      if (task.state != TaskState::open || task.current_round >= task.rounds) continue;
      ++open;
      if (!task.started || !task_errors_.due(task.id)) continue;
      // One task's failure is recorded against it and retried after a backoff; the
      // aggregator's other tasks go on.
      auto posted = serve_round(task);
      if (!posted) {
        if (task_errors_.failed(task.id, posted.error()) && context_.log) {
          context_.log(fmt::format("aggregator: task {}: {} (retried later; other tasks go on)",
                                   task.id, posted.error().to_string()));
        }
        continue;
      }
      task_errors_.succeeded(task.id);
      did = did || *posted;
      if (context_.stopping && context_.stopping->load()) break;
    }
    {
      std::lock_guard lock(mutex_);
      tasks_seen_ = mine;
      tasks_open_ = open;
    }
    return did;
  }

  json status() const override {
    std::lock_guard lock(mutex_);
    return {
        {"kind", "aggregator"},
        {"behaviour", wrong_round_ ? fmt::format("wrong-aggregate:{}", *wrong_round_) : "honest"},
        {"tasks", tasks_seen_},
        {"open_tasks", tasks_open_},
        {"aggregates_posted", posted_},
        {"task_errors", task_errors_.to_json()}};
  }

  bool finished() const override {
    std::lock_guard lock(mutex_);
    return tasks_seen_ > 0 && tasks_open_ == 0;
  }

 private:
  // Aggregates the task's current round when it is due; true when it posted.
  Result<bool> serve_round(const TaskInfo& task) {
    const std::uint64_t round = task.current_round;
    CAIRN_TRY_ASSIGN(auto posted, aggregate_posted(context_, task.id, round));
    if (posted) return false;  // done already (before a restart, perhaps)
    CAIRN_TRY_ASSIGN(json spec, fetch_spec(context_, task));
    CAIRN_TRY_ASSIGN(auto joins, task_joins(context_, task.id));
    CAIRN_TRY_ASSIGN(auto all_updates, task_updates(context_, task.id));
    std::vector<CommitInfo> this_round;
    std::set<chain::Address> committed;
    for (const auto& commit : all_updates) {
      if (commit.round != round) continue;
      this_round.push_back(commit);
      committed.insert(commit.participant);
    }
    const std::uint64_t timeout = spec.value("round_timeout_s", std::uint64_t{120});
    CAIRN_TRY_ASSIGN(auto opened, round_opened_at(context_, task.id, round));
    const auto now = unix_time_s();
    const bool timed_out = opened && now >= *opened + timeout;
    if (committed.size() < joins.size() && !timed_out) return false;  // still waiting
    CAIRN_TRY_ASSIGN(crypto::PaillierPublicKey key, spec_public_key(spec));
    CAIRN_TRY_ASSIGN(learn::PackingParams packing, spec_packing(spec));
    CAIRN_TRY_ASSIGN(store::Cid initial_cid,
                     store::Cid::parse(spec.value("initial_parameters", std::string())));
    CAIRN_TRY_ASSIGN(Bytes initial_bytes,
                     fetch_artifact(context_, task.owner, initial_cid, kModelCap));
    CAIRN_TRY_ASSIGN(learn::ParameterSet initial, learn::decode_parameters(initial_bytes));
    const std::uint64_t value_count = initial.values.size() + 1;

    std::vector<std::string> earlier;  // CIDs committed before, in chain order
    for (const auto& commit : all_updates) {
      if (commit.round < round) earlier.push_back(commit.cid_text);
    }
    json included = json::array(), excluded = json::array();
    std::vector<learn::EncryptedVector> summed;
    for (const auto& commit : this_round) {
      UpdateVerdict verdict =
          check_update(context_, commit, key, packing, value_count, round, earlier);
      earlier.push_back(commit.cid_text);
      // A committed update whose holder cannot be reached (a node restarting) is waited
      // for until the round times out, then left out.
      if (verdict.unavailable && !timed_out) return false;
      if (!verdict.update) {
        excluded.push_back({{"participant", commit.participant.to_checksum()},
                            {"cid", commit.cid ? json(commit.cid_text) : json(nullptr)},
                            {"reason", verdict.reason}});
        log(fmt::format("task {} round {}: excluded {}'s update: {}", task.id, round,
                        commit.participant.to_checksum(), verdict.reason));
        continue;
      }
      included.push_back(
          {{"participant", commit.participant.to_checksum()}, {"cid", commit.cid_text}});
      summed.push_back(std::move(*verdict.update));
    }
    for (const auto& join : joins) {
      if (committed.count(join.participant) == 0) {
        excluded.push_back({{"participant", join.participant.to_checksum()},
                            {"cid", nullptr},
                            {"reason", "no update committed before the round timed out"}});
      }
    }
    json manifest = {{"type", kAggregateType}, {"task", task.id},      {"round", round},
                     {"included", included},   {"excluded", excluded}, {"sum", nullptr}};
    if (!summed.empty()) {
      std::vector<const learn::EncryptedVector*> parts;
      for (const auto& update : summed)
        parts.push_back(&update);
      if (wrong_round_ && *wrong_round_ == round) {
        // The faulty behaviour: the first update counted twice, the count left as it was.
        parts.push_back(&summed.front());
      }
      CAIRN_TRY_ASSIGN(learn::EncryptedVector sum, learn::sum_encrypted(key, parts));
      sum.summands = static_cast<std::uint32_t>(summed.size());
      CAIRN_TRY_ASSIGN(store::Cid sum_cid,
                       put_artifact(context_, learn::encode_encrypted_vector(key, sum),
                                    fmt::format("task {} round {} sum", task.id, round)));
      manifest["sum"] = sum_cid.to_string();
    }
    CAIRN_TRY_ASSIGN(store::Cid manifest_cid,
                     put_artifact(context_, canonical_json_bytes(manifest),
                                  fmt::format("task {} round {} aggregate", task.id, round)));
    CAIRN_TRY_ASSIGN(ByteArray<32> commitment, cid_commitment(manifest_cid));
    CAIRN_TRY_ASSIGN(chain::Contract contract, training_task_contract(context_));
    // Checked again right before sending: the chain is the only memory of what was posted.
    CAIRN_TRY_ASSIGN(auto on_chain,
                     contract.call("aggregateCommitments", {Value(task.id), Value(round)}));
    CAIRN_TRY_ASSIGN(ByteArray<32> existing, on_chain.at(0).as_bytes32());
    if (existing != ByteArray<32>{}) return false;
    CAIRN_TRY(contract.transact(
        context_.signer, "postAggregate",
        {Value(task.id), Value(round), Value(commitment), Value::text(manifest_cid.to_string())}));
    {
      std::lock_guard lock(mutex_);
      ++posted_;
    }
    if (context_.metrics) context_.metrics->add("aggregates_posted_total");
    log(fmt::format("task {} round {}: posted aggregate {} ({} included, {} excluded)", task.id,
                    round, manifest_cid.to_string(), included.size(), excluded.size()));
    return true;
  }

  void log(const std::string& line) const {
    if (context_.log) context_.log(line);
  }

  NodeContext& context_;
  std::optional<std::uint64_t> wrong_round_;
  TaskErrors task_errors_;
  bool announced_ = false;
  mutable std::mutex mutex_;
  std::size_t tasks_seen_ = 0, tasks_open_ = 0, posted_ = 0;
};

}  // namespace

Result<std::unique_ptr<Role>> make_aggregator(const nlohmann::json& config, NodeContext& context) {
  if (!config.is_object() && !config.is_null()) {
    return fail(Errc::invalid_argument, "roles.aggregator must be an object");
  }
  std::string behaviour = "honest";
  if (config.is_object()) {
    CAIRN_TRY_ASSIGN(JsonObject object, JsonObject::of(config, "roles.aggregator"));
    CAIRN_TRY_ASSIGN(auto text, object.optional_string("behaviour"));
    if (text) behaviour = *text;
    CAIRN_TRY(object.close());
  }
  std::optional<std::uint64_t> wrong_round;
  if (behaviour.starts_with("wrong-aggregate:")) {
    const std::string_view number = std::string_view(behaviour).substr(16);
    std::uint64_t round = 0;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), round);
    if (number.empty() || error != std::errc{} || end != number.data() + number.size() ||
        round > 255) {
      return fail(
          Errc::invalid_argument,
          "roles.aggregator.behaviour: wrong-aggregate:ROUND needs a round number (1 to 255)");
    }
    wrong_round = round;
  } else if (behaviour != "honest") {
    return fail(
        Errc::invalid_argument,
        "roles.aggregator.behaviour must be honest or wrong-aggregate:ROUND, not " + behaviour);
  }
  return std::unique_ptr<Role>(new Aggregator(context, wrong_round));
}

}  // namespace cairn::market

#include "market/auditor.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "base/file.hpp"
#include "base/json.hpp"
#include "market/directory.hpp"
#include "market/passport.hpp"
#include "market/protocol.hpp"
#include "store/repo.hpp"

namespace cairn::market {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Followed {
  std::uint64_t rounds_pulled = 0;
  bool joins_pulled = false;
  bool verified = false;
  bool ok = false;
  std::size_t failures = 0;  // artifacts that could not be fetched
};

class Auditor final : public Role {
 public:
  Auditor(NodeContext& context, fs::path out, std::optional<std::uint64_t> only)
      : context_(context), out_(std::move(out)), only_(only) {}

  std::string_view kind() const override { return "auditor"; }

  Result<bool> step() override {
    CAIRN_TRY_ASSIGN(auto tasks, all_tasks(context_));
    bool did = false;
    for (const auto& task : tasks) {
      if (only_ && task.id != *only_) continue;
      if (context_.stopping && context_.stopping->load()) break;
      CAIRN_TRY_ASSIGN(bool progressed, follow(task));
      did = did || progressed;
    }
    return did;
  }

  json status() const override {
    std::lock_guard lock(mutex_);
    json tasks = json::object();
    for (const auto& [id, followed] : followed_) {
      tasks[std::to_string(id)] = {{"rounds_pulled", followed.rounds_pulled},
                                   {"verified", followed.verified},
                                   {"ok", followed.ok},
                                   {"fetch_failures", followed.failures}};
    }
    return {{"kind", "auditor"}, {"out", out_.string()}, {"tasks", tasks}};
  }

  bool finished() const override {
    std::lock_guard lock(mutex_);
    if (followed_.empty()) return false;
    for (const auto& [id, followed] : followed_) {
      if (!followed.verified) return false;
    }
    return true;
  }

 private:
  void log(const std::string& line) const {
    if (context_.log) context_.log(line);
  }

  // A fetch that fails is noted, not fatal: what a party does not serve is what the
  // verification will report as missing.
  // Updates, sums and models are pulled under kModelCap, everything else under kDocumentCap:
  // the auditor checks exact sizes when it verifies, not before it has the spec.
  bool pull(Followed& followed, const chain::Address& from, const store::Cid& cid,
            std::uint64_t max_bytes = kDocumentCap) {
    auto fetched = fetch_artifact(context_, from, cid, max_bytes);
    if (!fetched) {
      ++followed.failures;
      log(fmt::format("auditor: {} unavailable: {}", cid.to_string(), fetched.error().message));
      return false;
    }
    return true;
  }

  Result<bool> follow(const TaskInfo& task) {
    Followed snapshot;
    {
      std::lock_guard lock(mutex_);
      snapshot = followed_[task.id];
    }
    if (snapshot.verified) return false;
    bool did = false;
    if (!snapshot.joins_pulled) {
      pull(snapshot, task.owner, task.spec_cid);
      CAIRN_TRY_ASSIGN(auto joins, task_joins(context_, task.id));
      if (task.started) {
        for (const auto& join : joins)
          pull(snapshot, join.participant, join.manifest_cid);
        snapshot.joins_pulled = true;
        did = true;
      }
    }
    while (snapshot.rounds_pulled < task.current_round) {
      const std::uint64_t round = snapshot.rounds_pulled;
      CAIRN_TRY_ASSIGN(auto updates, task_updates(context_, task.id, round));
      for (const auto& update : updates) {
        if (update.cid) pull(snapshot, update.participant, *update.cid, kModelCap);
      }
      CAIRN_TRY_ASSIGN(auto posted, aggregate_posted(context_, task.id, round));
      if (posted && posted->cid && pull(snapshot, task.aggregator, *posted->cid)) {
        CAIRN_TRY_ASSIGN(Bytes bytes, read_artifact(context_, *posted->cid, kDocumentCap));
        const auto manifest = parse_aggregate_manifest(bytes);
        if (manifest && (*manifest)["sum"].is_string()) {
          if (auto sum = store::Cid::parse((*manifest)["sum"].get<std::string>())) {
            pull(snapshot, task.aggregator, *sum, kModelCap);
          }
        }
      }
      CAIRN_TRY_ASSIGN(auto closed, round_closed(context_, task.id, round));
      if (closed && closed->cid && pull(snapshot, task.owner, *closed->cid)) {
        CAIRN_TRY_ASSIGN(Bytes bytes, read_artifact(context_, *closed->cid, kDocumentCap));
        const auto parsed = parse_round_record(bytes);
        if (parsed) {
          const json& record = *parsed;
          for (const char* key : {"global_model", "result_model"}) {
            if (!record.contains(key) || !record[key].is_string()) continue;
            if (auto cid = store::Cid::parse(record[key].get<std::string>())) {
              pull(snapshot, task.owner, *cid, kModelCap);
            }
          }
          const json aggregate = record.value("aggregate", json::object());
          if (aggregate.is_object() && aggregate.contains("used") &&
              aggregate["used"].is_string()) {
            if (auto cid = store::Cid::parse(aggregate["used"].get<std::string>())) {
              pull(snapshot, task.owner, *cid, kModelCap);
            }
          }
        }
      }
      ++snapshot.rounds_pulled;
      did = true;
      log(fmt::format("auditor: task {} round {} pulled", task.id, round));
    }
    // A report overturned by the contributors is verified too: its passport must say so.
    std::optional<CommitInfo> reported;
    if (task.state == TaskState::defaulted) {
      CAIRN_TRY_ASSIGN(reported, contributions_reported(context_, task.id));
    }
    if (task.state == TaskState::reported || reported) {
      CAIRN_TRY_ASSIGN(bool verified, verify(task, snapshot));
      did = did || verified;
    } else if (task.state == TaskState::expired || task.state == TaskState::defaulted) {
      snapshot.verified = true;  // no report to verify: nothing the owner claims
    }
    std::lock_guard lock(mutex_);
    followed_[task.id] = snapshot;
    return did;
  }

  // Finds the passport of the task's model, pulls it and the model, and verifies.
  Result<bool> verify(const TaskInfo& task, Followed& followed) {
    CAIRN_TRY_ASSIGN(auto reported, contributions_reported(context_, task.id));
    if (reported && reported->cid) pull(followed, task.owner, *reported->cid);
    CAIRN_TRY_ASSIGN(auto models,
                     find_events(context_, "Registry", context_.deployment.registry, "Registered",
                                 {std::nullopt, topic_word(task.owner),
                                  topic_word(static_cast<std::uint64_t>(RegistryKind::model))}));
    for (const auto& event : models) {
      CAIRN_TRY_ASSIGN(std::string passport_text, event.values.at(4).as_string());
      auto passport_cid = store::Cid::parse(passport_text);
      if (!passport_cid) continue;
      auto bytes = fetch_artifact(context_, task.owner, *passport_cid, kDocumentCap);
      if (!bytes) continue;
      auto passport = parse_passport(*bytes);
      if (!passport || passport->body.task.task_id != task.id ||
          passport->body.task.training_task != context_.deployment.training_task) {
        continue;
      }
      // The registered digest is the model's.
      CAIRN_TRY_ASSIGN(ByteArray<32> registered, event.values.at(3).as_bytes32());
      CAIRN_TRY_ASSIGN(ByteArray<32> model_digest, cid_commitment(passport->body.model.sealed.cid));
      if (registered != model_digest) continue;
      const fs::path dir = out_ / fmt::format("task-{}", task.id);
      CAIRN_TRY_ASSIGN(Bytes model, fetch_artifact(context_, task.owner,
                                                   passport->body.model.sealed.cid, kModelCap));
      CAIRN_TRY(file::write_atomic(dir / "model.pt", ByteView(model)));
      CAIRN_TRY(file::write_atomic(dir / "passport.json", ByteView(*bytes)));
      VerifyOptions options;
      options.store = &context_.repo->blocks();
      options.rpc_url = context_.sender->rpc().url();
      const VerifyReport report = verify_passport(dir / "model.pt", *passport, options);
      CAIRN_TRY(file::write_atomic(dir / "verify.json", report.to_json().dump(2) + "\n"));
      followed.verified = true;
      followed.ok = report.ok();
      if (context_.metrics) context_.metrics->set("passport_verified_ok", report.ok() ? 1 : 0);
      log(fmt::format("auditor: task {} passport {}: {}", task.id, passport_text,
                      report.ok() ? "every link holds" : "FAILED\n" + report.failures()));
      return true;
    }
    return false;  // not registered yet
  }

  NodeContext& context_;
  fs::path out_;
  std::optional<std::uint64_t> only_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, Followed> followed_;
};

}  // namespace

Result<std::unique_ptr<Role>> make_auditor(const nlohmann::json& config, NodeContext& context) {
  if (!config.is_object() && !config.is_null()) {
    return fail(Errc::invalid_argument, "roles.auditor must be an object");
  }
  fs::path out = "audit";
  std::optional<std::uint64_t> only;
  if (config.is_object()) {
    CAIRN_TRY_ASSIGN(JsonObject object, JsonObject::of(config, "roles.auditor"));
    CAIRN_TRY_ASSIGN(auto out_dir, object.optional_string("out"));
    if (out_dir) out = *out_dir;
    CAIRN_TRY_ASSIGN(only, object.optional_u64("task"));
    CAIRN_TRY(object.close());
  }
  if (context.repo == nullptr || !context.sender) {
    return fail(Errc::invalid_argument, "the auditor needs a store and a chain");
  }
  return std::unique_ptr<Role>(new Auditor(context, std::move(out), only));
}

}  // namespace cairn::market

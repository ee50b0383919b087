#include "market/protocol.hpp"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "base/encoding.hpp"
#include "crypto/hash.hpp"
#include "crypto/keccak.hpp"
#include "seal/http/client.hpp"
#include "seal/publication.hpp"

namespace cairn::market {

using chain::abi::Value;
using nlohmann::json;

std::uint64_t unix_time_s() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::string word_hex(const ByteArray<32>& word) {
  return "0x" + to_hex(word);
}

namespace {

Result<std::uint64_t> small_uint(const Value& value, std::string_view what) {
  auto number = value.as_u64();
  if (!number) return fail(Errc::parse, fmt::format("{}: {}", what, number.error().message));
  return *number;
}

std::optional<store::Cid> parse_cid(const std::string& text) {
  auto cid = store::Cid::parse(text);
  if (!cid || cid->to_string() != text) return std::nullopt;
  return *cid;
}

}  // namespace

std::string_view to_string(TaskState state) {
  switch (state) {
    case TaskState::none:
      return "none";
    case TaskState::open:
      return "open";
    case TaskState::reported:
      return "reported";
    case TaskState::defaulted:
      return "defaulted";
    case TaskState::expired:
      return "expired";
  }
  return "unknown";
}

namespace {

ByteArray<32> allowlist_leaf(const chain::Address& who) {
  ByteArray<32> word{};
  std::copy(who.bytes.begin(), who.bytes.end(), word.begin() + 12);
  return crypto::keccak256(ByteView(crypto::keccak256(ByteView(word))));
}

ByteArray<32> hash_pair(const ByteArray<32>& a, const ByteArray<32>& b) {
  std::array<std::byte, 64> both{};
  const auto& [low, high] = a < b ? std::tie(a, b) : std::tie(b, a);
  std::copy(low.begin(), low.end(), both.begin());
  std::copy(high.begin(), high.end(), both.begin() + 32);
  return crypto::keccak256(ByteView(both));
}

// Builds the tree level by level; `path` collects the siblings of the leaf at `index`.
ByteArray<32> allowlist_tree(const std::vector<chain::Address>& admitted,
                             std::optional<std::size_t> index, std::vector<ByteArray<32>>* path) {
  std::vector<ByteArray<32>> level;
  for (const auto& who : admitted)
    level.push_back(allowlist_leaf(who));
  if (level.empty()) return {};
  std::sort(level.begin(), level.end());
  while (level.size() > 1) {
    std::vector<ByteArray<32>> next;
    for (std::size_t i = 0; i < level.size(); i += 2) {
      if (i + 1 == level.size()) {
        next.push_back(level[i]);
        continue;
      }
      if (index && path && (*index == i || *index == i + 1)) {
        path->push_back(level[*index == i ? i + 1 : i]);
      }
      next.push_back(hash_pair(level[i], level[i + 1]));
    }
    if (index) *index /= 2;
    level = std::move(next);
  }
  return level.front();
}

}  // namespace

ByteArray<32> allowlist_root(const std::vector<chain::Address>& admitted) {
  return allowlist_tree(admitted, std::nullopt, nullptr);
}

std::vector<ByteArray<32>> allowlist_proof(const std::vector<chain::Address>& admitted,
                                           const chain::Address& who) {
  std::vector<ByteArray<32>> leaves;
  for (const auto& each : admitted)
    leaves.push_back(allowlist_leaf(each));
  std::sort(leaves.begin(), leaves.end());
  const auto found = std::find(leaves.begin(), leaves.end(), allowlist_leaf(who));
  if (found == leaves.end()) return {};
  std::vector<ByteArray<32>> path;
  allowlist_tree(admitted, static_cast<std::size_t>(found - leaves.begin()), &path);
  return path;
}

Result<std::vector<chain::Address>> spec_allowlist(const json& spec) {
  std::vector<chain::Address> admitted;
  if (!spec.contains("admission")) return admitted;
  const json& list = spec["admission"].value("allowlist", json::array());
  if (!list.is_array()) return fail(Errc::parse, "admission.allowlist: not a list");
  for (const auto& item : list) {
    if (!item.is_string()) return fail(Errc::parse, "admission.allowlist: not an address");
    CAIRN_TRY_ASSIGN(chain::Address who, chain::Address::parse(item.get<std::string>()));
    admitted.push_back(who);
  }
  return admitted;
}

ByteArray<32> update_seal(const chain::Address& participant, std::uint64_t task_id,
                          std::uint64_t round, const ByteArray<32>& digest) {
  using chain::abi::Type;
  // Four static words: the encoding cannot fail.
  const auto encoded =
      chain::abi::encode({Type::address(), Type::uint(), Type::uint(), Type::fixed_bytes(32)},
                         {Value(participant), Value(task_id), Value(round), Value(digest)});
  return crypto::keccak256(ByteView(*encoded));
}

Result<std::vector<std::uint64_t>> task_ids(const NodeContext& context) {
  CAIRN_TRY_ASSIGN(auto created, find_events(context, "TrainingTask",
                                             context.deployment.training_task, "TaskCreated"));
  std::vector<std::uint64_t> ids;
  for (const auto& event : created) {
    CAIRN_TRY_ASSIGN(std::uint64_t id, small_uint(event.values.at(0), "taskId"));
    ids.push_back(id);
  }
  return ids;
}

Status refresh_task(const NodeContext& context, TaskInfo& task) {
  CAIRN_TRY_ASSIGN(chain::Contract tasks, training_task_contract(context));
  CAIRN_TRY_ASSIGN(auto values, tasks.call("getTask", {Value(task.id)}));
  CAIRN_TRY_ASSIGN(task.owner, values.at(0).as_address());
  CAIRN_TRY_ASSIGN(task.spec, values.at(1).as_bytes32());
  CAIRN_TRY_ASSIGN(task.rounds, small_uint(values.at(3), "rounds"));
  CAIRN_TRY_ASSIGN(task.current_round, small_uint(values.at(4), "currentRound"));
  CAIRN_TRY_ASSIGN(task.participant_count, small_uint(values.at(5), "participantCount"));
  CAIRN_TRY_ASSIGN(task.max_participants, small_uint(values.at(6), "maxParticipants"));
  CAIRN_TRY_ASSIGN(task.deadline, small_uint(values.at(7), "deadline"));
  CAIRN_TRY_ASSIGN(std::uint64_t state, small_uint(values.at(8), "state"));
  if (state > static_cast<std::uint64_t>(TaskState::expired)) {
    return fail(Errc::parse, fmt::format("task {}: unknown state {}", task.id, state));
  }
  task.state = static_cast<TaskState>(state);
  CAIRN_TRY_ASSIGN(auto roles, tasks.call("getTaskRoles", {Value(task.id)}));
  CAIRN_TRY_ASSIGN(task.min_participants, small_uint(roles.at(1), "minParticipants"));
  CAIRN_TRY_ASSIGN(task.started, roles.at(2).as_bool());
  CAIRN_TRY_ASSIGN(auto progress, tasks.call("getTaskProgress", {Value(task.id)}));
  if (progress.size() != 8) return fail(Errc::parse, "getTaskProgress: unexpected answer");
  TaskProgress& into = task.progress;
  CAIRN_TRY_ASSIGN(into.contributors, small_uint(progress[0], "contributors"));
  CAIRN_TRY_ASSIGN(into.accepted_total, small_uint(progress[1], "acceptedTotal"));
  CAIRN_TRY_ASSIGN(into.sealed_count, small_uint(progress[2], "sealedCount"));
  CAIRN_TRY_ASSIGN(into.revealed_count, small_uint(progress[3], "revealedCount"));
  CAIRN_TRY_ASSIGN(into.round_opened_at, small_uint(progress[4], "roundOpenedAt"));
  CAIRN_TRY_ASSIGN(into.phase_at, small_uint(progress[5], "phaseAt"));
  CAIRN_TRY_ASSIGN(into.challenges, small_uint(progress[6], "challenges"));
  CAIRN_TRY_ASSIGN(into.owner_credit, progress[7].as_uint());
  return {};
}

Result<TaskInfo> read_task(const NodeContext& context, std::uint64_t task_id) {
  CAIRN_TRY_ASSIGN(auto created,
                   find_events(context, "TrainingTask", context.deployment.training_task,
                               "TaskCreated", {topic_word(task_id)}));
  if (created.empty()) return fail(Errc::not_found, fmt::format("no task {} on chain", task_id));
  TaskInfo task;
  task.id = task_id;
  const auto& event = created.front();
  CAIRN_TRY_ASSIGN(std::string spec_cid, event.values.at(3).as_string());
  auto cid = parse_cid(spec_cid);
  if (!cid)
    return fail(Errc::parse,
                fmt::format("task {}: spec CID \"{}\" does not parse", task_id, spec_cid));
  task.spec_cid = *cid;
  CAIRN_TRY_ASSIGN(task.aggregator, event.values.at(4).as_address());
  task.create_tx = event.log.transaction_hash;
  CAIRN_TRY_ASSIGN(chain::Contract tasks, training_task_contract(context));
  CAIRN_TRY_ASSIGN(auto terms, tasks.call("getTaskTerms", {Value(task_id)}));
  if (terms.size() != 1) return fail(Errc::parse, "getTaskTerms: unexpected answer");
  CAIRN_TRY_ASSIGN(task.terms, TaskTerms::from_abi(terms[0]));
  CAIRN_TRY(refresh_task(context, task));
  return task;
}

Result<std::vector<TaskInfo>> all_tasks(const NodeContext& context) {
  CAIRN_TRY_ASSIGN(auto ids, task_ids(context));
  std::vector<TaskInfo> tasks;
  for (std::uint64_t id : ids) {
    auto task = read_task(context, id);
    if (!task) {
      // A task whose spec CID is malformed is nobody's task to work on.
      if (task.error().code == Errc::parse) continue;
      return std::unexpected(std::move(task).error());
    }
    tasks.push_back(std::move(*task));
  }
  return tasks;
}

Result<std::vector<JoinInfo>> task_joins(const NodeContext& context, std::uint64_t task_id) {
  CAIRN_TRY_ASSIGN(auto events,
                   find_events(context, "TrainingTask", context.deployment.training_task,
                               "ParticipantJoined", {topic_word(task_id)}));
  std::vector<JoinInfo> joins;
  for (const auto& event : events) {
    JoinInfo join;
    CAIRN_TRY_ASSIGN(join.participant, event.values.at(1).as_address());
    CAIRN_TRY_ASSIGN(join.manifest, event.values.at(2).as_bytes32());
    CAIRN_TRY_ASSIGN(std::string text, event.values.at(3).as_string());
    if (auto cid = parse_cid(text)) join.manifest_cid = *cid;
    join.tx = event.log.transaction_hash;
    joins.push_back(std::move(join));
  }
  return joins;
}

namespace {

// Decodes (commitment, cid) at `at` of a commit-like event.
Status read_commit(const ContractEvent& event, std::size_t at, CommitInfo& commit) {
  CAIRN_TRY_ASSIGN(commit.commitment, event.values.at(at).as_bytes32());
  CAIRN_TRY_ASSIGN(commit.cid_text, event.values.at(at + 1).as_string());
  commit.cid = parse_cid(commit.cid_text);
  commit.tx = event.log.transaction_hash;
  commit.block = event.log.block_number;
  return {};
}

}  // namespace

Result<std::vector<CommitInfo>> task_updates(const NodeContext& context, std::uint64_t task_id,
                                             std::optional<std::uint64_t> round) {
  std::vector<std::optional<ByteArray<32>>> indexed = {topic_word(task_id)};
  if (round) indexed.push_back(topic_word(*round));
  CAIRN_TRY_ASSIGN(auto events,
                   find_events(context, "TrainingTask", context.deployment.training_task,
                               "UpdateCommitted", indexed));
  std::vector<CommitInfo> commits;
  for (const auto& event : events) {
    CommitInfo commit;
    CAIRN_TRY_ASSIGN(commit.round, small_uint(event.values.at(1), "round"));
    CAIRN_TRY_ASSIGN(commit.participant, event.values.at(2).as_address());
    CAIRN_TRY(read_commit(event, 3, commit));
    commits.push_back(std::move(commit));
  }
  return commits;
}

namespace {

Result<std::optional<CommitInfo>> round_event(const NodeContext& context, std::uint64_t task_id,
                                              std::uint64_t round, std::string_view name) {
  CAIRN_TRY_ASSIGN(auto events,
                   find_events(context, "TrainingTask", context.deployment.training_task, name,
                               {topic_word(task_id), topic_word(round)}));
  if (events.empty()) return std::optional<CommitInfo>{};
  CommitInfo commit;
  commit.round = round;
  CAIRN_TRY(read_commit(events.front(), 2, commit));
  return std::optional<CommitInfo>(std::move(commit));
}

}  // namespace

Result<std::optional<CommitInfo>> aggregate_posted(const NodeContext& context,
                                                   std::uint64_t task_id, std::uint64_t round) {
  return round_event(context, task_id, round, "AggregatePosted");
}

Result<std::optional<CommitInfo>> round_closed(const NodeContext& context, std::uint64_t task_id,
                                               std::uint64_t round) {
  return round_event(context, task_id, round, "RoundClosed");
}

Result<std::optional<CommitInfo>> contributions_reported(const NodeContext& context,
                                                         std::uint64_t task_id) {
  CAIRN_TRY_ASSIGN(auto events,
                   find_events(context, "TrainingTask", context.deployment.training_task,
                               "ContributionsReported", {topic_word(task_id)}));
  if (events.empty()) return std::optional<CommitInfo>{};
  CommitInfo commit;
  CAIRN_TRY(read_commit(events.front(), 1, commit));
  return std::optional<CommitInfo>(std::move(commit));
}

Result<std::optional<std::uint64_t>> round_opened_at(const NodeContext& context,
                                                     std::uint64_t task_id, std::uint64_t round) {
  std::uint64_t block = 0;
  if (round == 0) {
    CAIRN_TRY_ASSIGN(auto started,
                     find_events(context, "TrainingTask", context.deployment.training_task,
                                 "TaskStarted", {topic_word(task_id)}));
    if (started.empty()) return std::optional<std::uint64_t>{};
    block = started.front().log.block_number;
  } else {
    CAIRN_TRY_ASSIGN(auto closed, round_closed(context, task_id, round - 1));
    if (!closed) return std::optional<std::uint64_t>{};
    block = closed->block;
  }
  CAIRN_TRY_ASSIGN(chain::BlockHeader header, context.sender->rpc().block(block));
  return std::optional<std::uint64_t>(header.timestamp);
}

Result<nlohmann::json> fetch_spec(NodeContext& context, const TaskInfo& task) {
  CAIRN_TRY_ASSIGN(ByteArray<32> commitment, cid_commitment(task.spec_cid));
  if (commitment != task.spec) {
    return fail(
        Errc::integrity,
        fmt::format("task {}: the spec CID in TaskCreated is not the committed spec", task.id));
  }
  CAIRN_TRY_ASSIGN(Bytes bytes, fetch_artifact(context, task.owner, task.spec_cid, kDocumentCap));
  return parse_task_spec(bytes, fmt::format("task {} spec", task.id));
}

Result<crypto::PaillierPublicKey> spec_public_key(const nlohmann::json& spec) {
  if (!spec.contains("paillier_public_key") || !spec["paillier_public_key"].is_string()) {
    return fail(Errc::parse, "the spec has no paillier_public_key");
  }
  auto bytes = from_hex(spec["paillier_public_key"].get<std::string>());
  if (!bytes) return fail(Errc::parse, "the spec's paillier_public_key is not hex");
  return crypto::decode_public_key(*bytes);
}

Result<learn::PackingParams> spec_packing(const nlohmann::json& spec) {
  const auto packing = spec.find("packing");
  if (packing == spec.end() || !packing->is_object()) {
    return fail(Errc::parse, "the spec has no packing");
  }
  learn::PackingParams params;
  for (auto [name, field] :
       {std::pair{"frac_bits", &params.frac_bits}, std::pair{"value_bits", &params.value_bits},
        std::pair{"headroom_bits", &params.headroom_bits}}) {
    const auto it = packing->find(name);
    if (it == packing->end() || !it->is_number_unsigned() || it->get<std::uint64_t>() > 255) {
      return fail(Errc::parse, fmt::format("the spec's packing has no {} in 0..255", name));
    }
    *field = it->get<std::uint8_t>();
  }
  if (const auto packed = packing->find("packed"); packed != packing->end()) {
    if (!packed->is_boolean())
      return fail(Errc::parse, "the spec's packing.packed is not a boolean");
    params.packed = packed->get<bool>();
  }
  return params;
}

UpdateVerdict check_update(NodeContext& context, const CommitInfo& commit,
                           const crypto::PaillierPublicKey& key,
                           const learn::PackingParams& packing, std::uint64_t value_count,
                           std::uint64_t round, const std::vector<std::string>& earlier,
                           const chain::Address* also_held_by) {
  UpdateVerdict verdict;
  if (!commit.cid) {
    verdict.reason = fmt::format("the committed CID \"{}\" does not parse", commit.cid_text);
    return verdict;
  }
  auto commitment = cid_commitment(*commit.cid);
  if (!commitment || *commitment != commit.commitment) {
    verdict.reason = "the CID in the event is not the committed digest";
    return verdict;
  }
  for (const auto& other : earlier) {
    if (other == commit.cid_text) {
      verdict.reason = "replay: a copy of an update committed earlier in this task";
      return verdict;
    }
  }
  // The task fixes an update's size exactly; nothing larger is fetched.
  const std::uint64_t size = learn::encrypted_vector_bytes(key, value_count, packing);
  auto bytes = fetch_artifact(context, commit.participant, *commit.cid, size);
  if (!bytes && also_held_by != nullptr) {
    auto held = fetch_artifact(context, *also_held_by, *commit.cid, size);
    if (held) bytes = std::move(held);
  }
  if (!bytes && bytes.error().code == Errc::rejected) {
    verdict.reason = "wrong size: " + bytes.error().message;
    return verdict;
  }
  if (!bytes) {
    verdict.unavailable = true;
    verdict.reason = "unavailable: " + bytes.error().message;
    return verdict;
  }
  if (bytes->size() != size) {
    verdict.reason =
        fmt::format("wrong size: {} bytes, the task's updates are {} bytes", bytes->size(), size);
    return verdict;
  }
  auto update = learn::decode_encrypted_vector(*bytes);
  if (!update) {
    verdict.reason = "malformed: " + update.error().message;
    return verdict;
  }
  if (Status under_key = learn::check_encrypted_vector(key, *update); !under_key) {
    verdict.reason = "not under the task's key: " + under_key.error().message;
    return verdict;
  }
  if (update->params != packing) {
    verdict.reason = "packed with other parameters than the task's";
    return verdict;
  }
  if (update->value_count != value_count) {
    verdict.reason =
        fmt::format("wrong size: {} values, the model needs {}", update->value_count, value_count);
    return verdict;
  }
  if (update->summands != 1) {
    verdict.reason = fmt::format("claims to be a sum of {} updates", update->summands);
    return verdict;
  }
  if (update->model_version != round) {
    verdict.reason = fmt::format("replay: encrypted for round {}, this is round {}",
                                 update->model_version, round);
    return verdict;
  }
  verdict.update = std::move(*update);
  return verdict;
}

Result<SealedBatch> seal_and_anchor(NodeContext& context,
                                    const std::vector<seal::Imprint>& imprints,
                                    const std::string& client_id) {
  if (context.seal_url.empty())
    return fail(Errc::invalid_argument, "no signing service configured");
  seal::SealClient client(context.seal_url);
  // The publication made right after the round must be the one the signatures' calendar
  // chains end at; another client's round in between moves the head, and then the batch is
  // signed again (the signatures are free, the anchors few).
  for (int attempt = 0; attempt < 5; ++attempt) {
    CAIRN_TRY_ASSIGN(auto signatures, client.sign_batch(imprints, client_id));
    CAIRN_TRY_ASSIGN(seal::PublishResult published, client.publish());
    bool same_publication = !signatures.empty();
    for (const auto& signature : signatures) {
      same_publication = same_publication && signature.calendar_chain &&
                         signature.calendar_chain->publication_time == published.publication_time;
    }
    if (!same_publication) continue;
    CAIRN_TRY_ASSIGN(seal::Imprint root,
                     seal::compute_calendar_chain(*signatures.front().calendar_chain));
    CAIRN_TRY_ASSIGN(ByteArray<32> root_word, anchor_word(root));
    SealedBatch batch;
    // The signing service anchors before /publish answers; the log may lag a block.
    for (int poll = 0; poll < 50 && batch.anchor.block == 0; ++poll) {
      CAIRN_TRY_ASSIGN(auto anchored,
                       find_events(context, "Anchor", context.deployment.anchor, "Published",
                                   {std::nullopt, topic_word(published.publication_time)}));
      for (const auto& event : anchored) {
        CAIRN_TRY_ASSIGN(ByteArray<32> word, event.values.at(2).as_bytes32());
        if (word != root_word) continue;
        batch.anchor.publication_time = published.publication_time;
        batch.anchor.root = root;
        batch.anchor.contract = context.deployment.anchor;
        CAIRN_TRY_ASSIGN(batch.anchor.signer, event.values.at(0).as_address());
        batch.anchor.tx = event.log.transaction_hash;
        batch.anchor.block = event.log.block_number;
      }
      if (batch.anchor.block == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (batch.anchor.block == 0) {
      return fail(Errc::not_found,
                  fmt::format("the calendar publication at {} was not anchored on chain",
                              published.publication_time));
    }
    const auto& auth = signatures.front().calendar_auth;
    if (!auth)
      return fail(Errc::integrity,
                  "the signing service's signature has no calendar authentication");
    CAIRN_TRY_ASSIGN(Bytes file_bytes, client.publications_file());
    CAIRN_TRY_ASSIGN(seal::PublicationsFile file, seal::PublicationsFile::parse(file_bytes));
    const seal::CertificateRecord* certificate = file.certificate(auth->signature.certificate_id);
    if (certificate == nullptr) {
      return fail(Errc::not_found, "the publications file lacks the calendar's certificate");
    }
    batch.calendar_certificate = certificate->der;
    for (const auto& signature : signatures)
      batch.signatures.push_back(signature.serialize());
    if (context.metrics) context.metrics->add("seal_batches_total");
    return batch;
  }
  return fail(Errc::unavailable,
              "the signing service's calendar moved on before every publication (5 tries)");
}

Result<SealedBatch> seal_cids(NodeContext& context, const std::vector<store::Cid>& cids,
                              const std::string& client) {
  std::vector<seal::Imprint> imprints;
  for (const auto& cid : cids) {
    CAIRN_TRY_ASSIGN(seal::Imprint imprint, cid_imprint(cid));
    imprints.push_back(std::move(imprint));
  }
  return seal_and_anchor(context, imprints, client);
}

}  // namespace cairn::market

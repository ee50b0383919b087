#pragma once
// What every platform role reads and checks the same way: a task's state on chain (from
// TrainingTask's storage and events), the checks an encrypted update must pass before it
// is summed, and sealing a batch of artifacts through the signing service with the anchor
// of its calendar publication. The artifact formats are in docs/platform.md.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "chain/address.hpp"
#include "crypto/paillier.hpp"
#include "learn/secure_paillier.hpp"
#include "market/artifacts.hpp"
#include "market/directory.hpp"
#include "market/passport.hpp"
#include "market/role.hpp"
#include "seal/imprint.hpp"
#include "store/cid.hpp"

namespace cairn::market {

// TrainingTask.State
enum class TaskState : std::uint8_t { none = 0, open = 1, reported = 2, refunded = 3 };

struct TaskInfo {
  std::uint64_t id = 0;
  chain::Address owner;
  ByteArray<32> spec{};
  store::Cid spec_cid;
  chain::Address aggregator;
  std::uint64_t rounds = 0;
  std::uint64_t current_round = 0;  // rounds closed so far
  std::uint64_t participant_count = 0;
  std::uint64_t max_participants = 0;
  std::uint64_t min_participants = 0;
  std::uint64_t deadline = 0;
  TaskState state = TaskState::none;
  bool started = false;
  ByteArray<32> create_tx{};
};

struct JoinInfo {
  chain::Address participant;
  ByteArray<32> manifest{};
  store::Cid manifest_cid;
  ByteArray<32> tx{};
};

struct CommitInfo {  // UpdateCommitted, AggregatePosted, RoundClosed, ContributionsReported
  std::uint64_t round = 0;
  chain::Address participant;  // UpdateCommitted only
  ByteArray<32> commitment{};
  std::optional<store::Cid> cid;  // nullopt: the event's CID text does not parse
  std::string cid_text;
  ByteArray<32> tx{};
  std::uint64_t block = 0;
};

// The ids of every task created on the deployment, in chain order (one log query: what a
// node polls to discover new tasks).
[[nodiscard]] Result<std::vector<std::uint64_t>> task_ids(const NodeContext& context);
// Every task created on the deployment, in chain order (with their current state).
[[nodiscard]] Result<std::vector<TaskInfo>> all_tasks(const NodeContext& context);
// The task's TaskCreated event and its state in storage. Errc::parse when the event's spec
// CID does not parse (a task nobody can work on).
[[nodiscard]] Result<TaskInfo> read_task(const NodeContext& context, std::uint64_t task_id);
// Re-reads what changes of a task (getTask, getTaskRoles) into `task`: what a node polls
// while it follows a task.
[[nodiscard]] Status refresh_task(const NodeContext& context, TaskInfo& task);
[[nodiscard]] Result<std::vector<JoinInfo>> task_joins(const NodeContext& context,
                                                       std::uint64_t task_id);
// UpdateCommitted events of the task (of one round, or of all rounds), in chain order.
[[nodiscard]] Result<std::vector<CommitInfo>> task_updates(const NodeContext& context,
                                                           std::uint64_t task_id,
                                                           std::optional<std::uint64_t> round = {});
[[nodiscard]] Result<std::optional<CommitInfo>> aggregate_posted(const NodeContext& context,
                                                                 std::uint64_t task_id,
                                                                 std::uint64_t round);
[[nodiscard]] Result<std::optional<CommitInfo>> round_closed(const NodeContext& context,
                                                             std::uint64_t task_id,
                                                             std::uint64_t round);
[[nodiscard]] Result<std::optional<CommitInfo>> contributions_reported(const NodeContext& context,
                                                                       std::uint64_t task_id);
// When round `round` opened: the block time of TaskStarted (round 0) or of the previous
// round's RoundClosed; nullopt before that.
[[nodiscard]] Result<std::optional<std::uint64_t>> round_opened_at(const NodeContext& context,
                                                                   std::uint64_t task_id,
                                                                   std::uint64_t round);

// The task spec as the model provider published it (fetched from its gateway, checked
// against the commitment on chain). Errc::integrity when the CID is not the committed
// digest, Errc::parse when the bytes are not a cairn.task.v1 object.
[[nodiscard]] Result<nlohmann::json> fetch_spec(NodeContext& context, const TaskInfo& task);
[[nodiscard]] Result<crypto::PaillierPublicKey> spec_public_key(const nlohmann::json& spec);
// The packed plaintext layout of a task's updates ([w·delta…, w]): frac_bits, value_bits
// and headroom_bits are required, packed is optional (default true).
[[nodiscard]] Result<learn::PackingParams> spec_packing(const nlohmann::json& spec);

// ---- Updates ----

// Why an update committed on chain is left out of a round's sum, or nullopt when it is
// summed. `earlier` holds the CIDs of the task's updates committed before this one (a
// resubmitted copy of any of them is a replay). A CID is the same bytes wherever they are
// held, so when the participant's gateway cannot be reached (a node restarting) the bytes
// are fetched from `also_held_by` (the aggregator, which fetched and pinned them) if given.
struct UpdateVerdict {
  std::optional<learn::EncryptedVector> update;  // set when it is to be summed
  std::string reason;                            // set when it is excluded
  bool unavailable = false;  // the bytes could not be fetched: may change on a later try
};
[[nodiscard]] UpdateVerdict check_update(NodeContext& context, const CommitInfo& commit,
                                         const crypto::PaillierPublicKey& key,
                                         const learn::PackingParams& packing,
                                         std::uint64_t value_count, std::uint64_t round,
                                         const std::vector<std::string>& earlier,
                                         const chain::Address* also_held_by = nullptr);

// ---- Sealing ----

struct SealedBatch {
  std::vector<Bytes> signatures;  // in the order of the imprints
  AnchorRecord anchor;            // the anchored calendar publication they verify against
  Bytes calendar_certificate;     // DER of the key that authenticates their calendar chain
};
// Seals the imprints in one aggregation round of the signing service at context.seal_url,
// publishes the calendar head and finds its anchor on chain (the node that runs the signing
// service anchors its publications with its own account, so a publication's anchor is
// looked up by time and root, whoever sent it).
[[nodiscard]] Result<SealedBatch> seal_and_anchor(NodeContext& context,
                                                  const std::vector<seal::Imprint>& imprints,
                                                  const std::string& client);
[[nodiscard]] Result<SealedBatch> seal_cids(NodeContext& context,
                                            const std::vector<store::Cid>& cids,
                                            const std::string& client);

// "0x…" of a 32-byte word.
[[nodiscard]] std::string word_hex(const ByteArray<32>& word);

}  // namespace cairn::market

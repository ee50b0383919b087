#pragma once
// What every platform role reads and checks the same way: a task's state on chain (from
// TrainingTask's storage and events), the checks an encrypted update must pass before it
// is summed, and sealing a batch of artifacts through the signing service with the anchor
// of its calendar publication. The artifact formats are in docs/platform.md.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "chain/abi.hpp"
#include "chain/address.hpp"
#include "chain/u256.hpp"
#include "crypto/paillier.hpp"
#include "learn/secure_paillier.hpp"
#include "market/artifacts.hpp"
#include "market/directory.hpp"
#include "market/passport.hpp"
#include "market/reward_rule.hpp"
#include "market/role.hpp"
#include "seal/imprint.hpp"
#include "store/cid.hpp"

namespace cairn::market {

// TrainingTask.State
enum class TaskState : std::uint8_t {
  none = 0,
  open = 1,
  reported = 2,
  defaulted = 3,
  expired = 4
};
[[nodiscard]] std::string_view to_string(TaskState state);

// ---- Admission: the allowlist a task commits as a Merkle root ----
// Leaves are keccak256(keccak256(abi.encode(address))), pairs are hashed in sorted order
// (as TrainingTask._admitted checks); the leaves are sorted, an odd node moves up as is.
[[nodiscard]] ByteArray<32> allowlist_root(const std::vector<chain::Address>& admitted);
// The siblings from `who`'s leaf to the root (empty when `who` is not admitted).
[[nodiscard]] std::vector<ByteArray<32>> allowlist_proof(
    const std::vector<chain::Address>& admitted, const chain::Address& who);
// The addresses a spec's "admission": {"allowlist": [...]} names (empty: anyone).
[[nodiscard]] Result<std::vector<chain::Address>> spec_allowlist(const nlohmann::json& spec);

// TrainingTask.getTaskProgress: where a task's rounds and payout stand.
struct TaskProgress {
  std::uint64_t contributors = 0;    // participants with an accepted update
  std::uint64_t accepted_total = 0;  // accepted updates
  std::uint64_t sealed_count = 0;    // seals in the current round
  std::uint64_t revealed_count = 0;  // reveals in the current round
  std::uint64_t round_opened_at = 0;
  std::uint64_t phase_at = 0;  // the last round's close, then the report's time
  std::uint64_t challenges = 0;
  chain::U256 owner_credit;
};

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
  TaskTerms terms;
  TaskProgress progress;
  ByteArray<32> create_tx{};

  // Whether the current round takes reveals (submitUpdate) at `now`: every participant
  // sealed, or the commit window passed (as TrainingTask._revealing).
  [[nodiscard]] bool revealing(std::uint64_t now) const {
    return progress.sealed_count == participant_count ||
           now >= progress.round_opened_at + terms.commit_window_s;
  }
  // Whether the owner may close the current round at `now`: it reveals, and every seal is
  // revealed or a second commit window has passed (as TrainingTask.closeRound).
  [[nodiscard]] bool closable(std::uint64_t now) const {
    return revealing(now) && (progress.revealed_count == progress.sealed_count ||
                              now >= progress.round_opened_at + 2 * terms.commit_window_s);
  }
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
// Re-reads what changes of a task (getTask, getTaskRoles, getTaskProgress) into `task`:
// what a node polls while it follows a task.
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

// What a participant seals for an update before the round reveals (TrainingTask.updateSeal):
// keccak256(abi.encode(participant, task, round, digest)). It names its sender, so another
// participant cannot seal the same update as its own.
[[nodiscard]] ByteArray<32> update_seal(const chain::Address& participant, std::uint64_t task_id,
                                        std::uint64_t round, const ByteArray<32>& digest);

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

// Seconds since the epoch by this machine's clock (what a node compares with the chain's
// block times: windows and timeouts).
[[nodiscard]] std::uint64_t unix_time_s();

// "0x…" of a 32-byte word.
[[nodiscard]] std::string word_hex(const ByteArray<32>& word);

}  // namespace cairn::market

#pragma once
// The model passport: one JSON document that ties a trained model to everything behind it —
// the task on chain, the participants, the datasets, every round's commitments, the keyless
// signatures over each round's artifacts, the chain anchors of the calendar, the
// contribution evaluation and the software that produced it — so that an auditor can check
// the whole lineage offline (hashes and signatures) and against the chain.
//
// Schema "cairn-passport" version 2 (docs/platform.md): version 1 plus, per round, the
// aggregate posted vs. the sum used (accepted, or replaced and why), the exclusions with
// their reasons and the round record the task was closed with on chain. Parsing is strict: unknown
// or missing fields, wrong types and malformed values fail with the field's path
// ("body.rounds[1].aggregate.cid: not a CID").
//
// Every artifact is named by its CID. An artifact's on-chain commitment is the SHA-256
// digest inside its CID (the bytes32 the contracts hold), and its keyless signature is made
// for the imprint 0x01 ‖ that digest. The body as a whole is sealed and anchored once more
// at the end ("closing"), so that fields nothing else covers (names, accuracies, versions)
// are protected too.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "chain/address.hpp"
#include "chain/u256.hpp"
#include "market/anchor_chain.hpp"
#include "market/trust_root.hpp"
#include "seal/signature.hpp"
#include "store/block.hpp"
#include "store/cid.hpp"

namespace cairn::market {

// A passport lists every round's artifacts: tens of megabytes for a long task at most.
inline constexpr std::uint64_t kPassportCap = 256ull << 20;

inline constexpr std::string_view kPassportFormat = "cairn-passport";
inline constexpr std::uint64_t kPassportVersion = 2;

// An artifact sealed with a keyless signature (hex of the KSI signature bytes).
struct SealedArtifact {
  store::Cid cid;
  Bytes signature;
};

struct TaskRecord {
  std::uint64_t chain_id = 0;
  chain::Address training_task;  // TrainingTask contract
  chain::Address registry;       // Registry contract
  std::uint64_t task_id = 0;
  chain::Address owner;  // the model provider
  chain::Address aggregator;
  nlohmann::json spec;  // the task specification; its CID is spec_cid
  store::Cid spec_cid;  // CID of spec.dump() bytes; its digest is the task's spec on chain
  std::uint64_t rounds = 0;
  ByteArray<32> create_tx{};
};

struct Participant {
  std::string name;
  chain::Address address;
  std::vector<std::string> roles;  // "model_provider", "data_provider", "aggregator", ...
  std::optional<ByteArray<32>> join_tx;
};

struct DatasetRecord {
  chain::Address owner;
  nlohmann::json manifest;  // shard CIDs, schema, quality report; its CID is manifest.cid
  SealedArtifact sealed;    // the manifest's CID and seal
  // Where the owner registered the manifest (kind Dataset), when it did.
  std::optional<std::uint64_t> registry_entry;
  std::optional<ByteArray<32>> register_tx;
};

struct UpdateRecord {
  chain::Address participant;
  SealedArtifact sealed;  // the encrypted update
  ByteArray<32> commit_tx{};
};

// An update (or a participant's missing update) left out of a round's sum.
struct ExclusionRecord {
  chain::Address participant;
  std::optional<std::string> cid;  // as committed on chain; none when nothing was
  std::string reason;
};

struct RoundRecord {
  std::uint64_t round = 0;
  store::Cid global_model;            // the parameters the trainers started from
  std::vector<UpdateRecord> updates;  // every update committed on chain (with a CID)
  SealedArtifact aggregate;           // the aggregator's manifest, as posted
  ByteArray<32> aggregate_tx{};
  std::optional<SealedArtifact> sum_used;  // the encrypted sum applied (none: no update)
  bool accepted = true;                    // the posted sum was the one used
  std::string reason;                      // why it was not
  std::vector<ExclusionRecord> excluded;
  SealedArtifact result_model;  // the global parameters after this round
  double accuracy = 0;          // of result_model on the model provider's test set
  nlohmann::json record;        // the round record (cairn.round.v1) the round closed with
  store::Cid record_cid;
  ByteArray<32> close_tx{};
};

struct AnchorRecord {
  std::uint64_t publication_time = 0;
  seal::Imprint root;
  chain::Address contract;
  chain::Address signer;
  ByteArray<32> tx{};
  std::uint64_t block = 0;
};

struct RewardRecord {
  chain::Address participant;
  chain::U256 amount;  // wei
};

struct EvaluationRecord {
  nlohmann::json report;  // contributions with their inputs; its CID is sealed.cid
  SealedArtifact sealed;
  ByteArray<32> report_tx{};
  std::vector<RewardRecord> rewards;
  double final_accuracy = 0;
};

struct SoftwareRecord {
  std::string cairn_version;
  std::string git_commit;
  std::string libtorch_version;
  std::string binary_sha256;  // hex
};

struct PassportBody {
  struct Model {
    SealedArtifact sealed;  // the final model file (TorchScript .pt), as `cairn add` names it
    std::uint64_t size = 0;
    std::string format;  // "torchscript"
  } model;
  TaskRecord task;
  std::vector<Participant> participants;
  std::vector<DatasetRecord> datasets;
  std::vector<RoundRecord> rounds;
  std::vector<AnchorRecord> anchors;
  EvaluationRecord evaluation;
  SoftwareRecord software;
  Bytes calendar_certificate;  // DER X.509 of the calendar's Ed25519 key
};

struct Passport {
  PassportBody body;
  // The seal over sha2-256 of the body's canonical JSON, and the anchor of its calendar
  // publication (not in the body: it is made after the body is final).
  Bytes closing_signature;
  AnchorRecord closing_anchor;
};

[[nodiscard]] nlohmann::json body_to_json(const PassportBody& body);
[[nodiscard]] nlohmann::json passport_to_json(const Passport& passport);
// Pretty JSON text (2-space indent, sorted keys).
[[nodiscard]] std::string serialize_passport(const Passport& passport);
// Strict: errors name the field path.
[[nodiscard]] Result<Passport> parse_passport(ByteView text);
[[nodiscard]] Result<Passport> passport_from_json(const nlohmann::json& json);

// The bytes whose CID an inline JSON artifact (task spec, dataset manifest, evaluation
// report) has: compact dump with sorted keys.
[[nodiscard]] Bytes canonical_json_bytes(const nlohmann::json& value);
// A transaction or block hash as the passport writes it: "0x" and 64 hex digits.
[[nodiscard]] std::string hash_hex(const ByteArray<32>& hash);
// The CID `cairn add` gives these bytes (UnixFS, CIDv1, raw leaves).
[[nodiscard]] Result<store::Cid> unixfs_cid(ByteView bytes);
[[nodiscard]] Result<store::Cid> unixfs_cid_of_file(const std::filesystem::path& path);
// The bytes32 commitment of a CID (its SHA-256 digest) and the imprint that is sealed.
[[nodiscard]] Result<ByteArray<32>> cid_commitment(const store::Cid& cid);
[[nodiscard]] Result<seal::Imprint> cid_imprint(const store::Cid& cid);
// The imprint the closing seal signs: 0x01 ‖ sha2-256(canonical body JSON).
[[nodiscard]] seal::Imprint body_imprint(const PassportBody& body);

// ---- Verification ----

struct LinkResult {
  std::string link;  // "model", "round 1 aggregate", "anchor 2", "chain: task", ...
  bool ok = false;
  bool skipped = false;  // could not be checked here (artifact not in the store)
  std::string message;
};

struct VerifyOptions {
  store::BlockSource* store = nullptr;  // fetch artifacts from here to re-hash them
  std::optional<std::string> rpc_url;   // check the chain too
  // What the verifier pins: the chain, the contracts, the calendar keys the seals are checked
  // against and the accounts allowed to anchor. Without one, the passport's own certificate
  // and names are used and the "trust: ..." links say so (skipped).
  const TrustRoot* trust = nullptr;
  bool strict = false;  // a skipped link fails the verification
};

struct VerifyReport {
  std::vector<LinkResult> links;
  bool strict = false;
  // Every link held; a skipped one counts against only when strict.
  bool ok() const;
  // The links that count against, one "link: message" per line.
  std::string failures() const;
  nlohmann::json to_json() const;
};

// Checks every link of the passport: the model file's bytes against its CID; every inline
// artifact and every artifact the store holds against its CID; every keyless signature
// against its artifact (internal policy and the calendar certificate: the trust root's when
// given, else the passport's own) and its calendar root against the anchor of its
// publication time; the closing seal against the body; the passport's chain, contracts,
// certificate and anchor signers against the trust root; and, with an RPC URL, the anchors
// (each in a block whose time agrees with its publication time), the task, the
// participants, the datasets, every commitment and the contribution report against the
// chain.
[[nodiscard]] VerifyReport verify_passport(const std::filesystem::path& model_path,
                                           const Passport& passport,
                                           const VerifyOptions& options = {});

}  // namespace cairn::market

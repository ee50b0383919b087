#pragma once
// What the data provider and the compute provider share: reading a task from the chain and
// the owner's gateway, the participants' manifests (for the update weights), the global
// model of a round, and the update itself (local training, the weighted delta, packed
// Paillier encryption under the task's key with the round number as its tag).
#include <cstdint>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "chain/address.hpp"
#include "chain/u256.hpp"
#include "crypto/paillier.hpp"
#include "learn/dataset.hpp"
#include "learn/params.hpp"
#include "learn/secure_paillier.hpp"
#include "market/protocol.hpp"
#include "market/role.hpp"
#include "store/cid.hpp"

namespace cairn::market {

// The schema a manifest offers fits the one a spec asks for (same format, features, classes).
[[nodiscard]] bool schema_fits(const nlohmann::json& offered, const nlohmann::json& wanted);

// A participant of a task and its manifest (fetched from its gateway, checked against the
// commitment it joined with).
struct TaskMember {
  chain::Address address;
  store::Cid manifest_cid;
  nlohmann::json manifest;
  std::uint64_t rows = 0;  // the sum of its shards' rows
};
[[nodiscard]] Result<std::vector<TaskMember>> task_participants(NodeContext& context,
                                                                std::uint64_t task_id);
[[nodiscard]] std::uint64_t manifest_rows(const nlohmann::json& manifest);

// The global model of `round`: the spec's initial parameters for round 0, else the
// result_model of the previous round's record (RoundClosed, checked against its digest).
// Fails unless its model_version is `round`.
struct GlobalModel {
  store::Cid cid;
  learn::ParameterSet parameters;
};
[[nodiscard]] Result<GlobalModel> fetch_global_model(NodeContext& context, const TaskInfo& task,
                                                     const nlohmann::json& spec,
                                                     std::uint64_t round);

// The commitment `participant` made for `round` (zero when none) and the CID it named.
[[nodiscard]] Result<ByteArray<32>> update_commitment(const NodeContext& context,
                                                      std::uint64_t task_id, std::uint64_t round,
                                                      const chain::Address& participant);
// The seal `participant` put on chain for `round` (zero when none).
[[nodiscard]] Result<ByteArray<32>> sealed_update(const NodeContext& context, std::uint64_t task_id,
                                                  std::uint64_t round,
                                                  const chain::Address& participant);
[[nodiscard]] Result<std::optional<std::string>> committed_update_cid(
    const NodeContext& context, std::uint64_t task_id, std::uint64_t round,
    const chain::Address& participant);

// The task's Paillier public key and packing parameters, from its spec (spec_public_key,
// spec_packing), with an encryptor.
struct TaskKey {
  crypto::PaillierPublicKey key;
  learn::PackingParams packing;
  // Shared by copies: its precomputed table and its pool of randomisers.
  std::shared_ptr<const crypto::PaillierEncryptor> encryptor;
};
[[nodiscard]] Result<TaskKey> task_key(const nlohmann::json& spec);

// The training seed of `participant` in `round` (spec.training.seed, round, address).
[[nodiscard]] std::uint64_t training_seed(const nlohmann::json& spec, std::uint64_t round,
                                          const chain::Address& participant);

// Trains the spec's model locally from `global` on `data` and returns the weighted values
// [w (trained - global)..., w] an update encrypts (w = rows / total_rows).
[[nodiscard]] Result<std::vector<double>> weighted_delta(
    const nlohmann::json& spec, const learn::ParameterSet& global, const learn::Dataset& data,
    std::uint64_t round, const chain::Address& participant, double weight);

// Multiplies the delta part (not the weight) by `scale`, clamped to what the packing can
// carry so that the result is still a well-formed update.
void scale_delta(std::vector<double>& values, double scale, const learn::PackingParams& packing);

// Makes the randomisers an update of `value_count` values needs on a background thread (the
// offline phase of the encryption, while local training runs); the future is ready when they
// are in the encryptor's pool.
[[nodiscard]] std::future<void> precompute_randomisers(const TaskKey& key,
                                                       std::uint64_t value_count);

// The bytes of an update: encode_encrypted_vector of the packed encryption of `values`
// under the task's key, tagged with `round`.
[[nodiscard]] Result<Bytes> encrypt_update(const TaskKey& key, const std::vector<double>& values,
                                           std::uint64_t round);

// Checks that `bytes` is an update for this task's key with `values` values and round tag
// `round` (what a data provider checks before committing an update its compute provider
// made).
[[nodiscard]] Status check_update(const TaskKey& key, ByteView bytes, std::uint64_t value_count,
                                  std::uint64_t round);

// ---- shards encrypted at rest ----

// Associated data binding an encrypted shard file to its owner and part.
[[nodiscard]] std::string shard_binding(const chain::Address& owner, std::string_view part);
// Fetches a manifest's shards from `owner`'s gateway, decrypts them with `key` and reads
// them as one dataset (IDX).
[[nodiscard]] Result<learn::Dataset> load_encrypted_shards(NodeContext& context,
                                                           const chain::Address& owner,
                                                           const nlohmann::json& manifest,
                                                           const ByteArray<32>& key);

// ---- small private state files (state_dir) ----
[[nodiscard]] Result<std::optional<Bytes>> read_state(const NodeContext& context,
                                                      const std::string& name);
// Written to a temporary file, synced and renamed, mode 0600.
[[nodiscard]] Status write_state(const NodeContext& context, const std::string& name,
                                 ByteView bytes);
[[nodiscard]] Result<ByteArray<32>> load_or_create_key(const NodeContext& context,
                                                       const std::string& name);

// A raw-codec CID of a stored block (for bytes whose digest travels in a bytes32 on chain).
[[nodiscard]] Result<store::Cid> put_raw_block(NodeContext& context, ByteView bytes,
                                               std::string_view label);
[[nodiscard]] store::Cid raw_cid_of_digest(const ByteArray<32>& digest);
[[nodiscard]] Result<ByteArray<32>> multihash_digest(const store::Cid& cid);

}  // namespace cairn::market

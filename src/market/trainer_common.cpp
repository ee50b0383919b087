#include "market/trainer_common.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "base/encoding.hpp"
#include "base/file.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "crypto/sodium.hpp"
#include "learn/rng.hpp"
#include "learn/torch/model.hpp"
#include "learn/torch/train.hpp"
#include "market/data_exchange.hpp"
#include "market/directory.hpp"
#include "market/passport.hpp"
#include "store/repo.hpp"

namespace cairn::market {

using chain::abi::Value;
using nlohmann::json;

namespace {

constexpr std::uint64_t kTrainPurpose = 0x545241494e;  // "TRAIN"

Result<std::string> json_string(const json& object, const char* key, std::string_view what) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) {
    return fail(Errc::invalid_argument, fmt::format("{} has no string \"{}\"", what, key));
  }
  return object[key].get<std::string>();
}

template <typename T>
T json_number_or(const json& object, const char* key, T fallback) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number()) return fallback;
  return object[key].get<T>();
}

// The spec's input_standardisation ({mean, std}; absent: none) into `input`.
Status spec_input_standardisation(const json& spec, learn::InputSpec& input) {
  const auto it = spec.find("input_standardisation");
  if (it == spec.end()) return {};
  if (!it->is_object() || !it->contains("mean") || !it->contains("std") ||
      !(*it)["mean"].is_number() || !(*it)["std"].is_number()) {
    return fail(Errc::invalid_argument,
                "the spec's input_standardisation is not {\"mean\": number, \"std\": number}");
  }
  input.input_mean = (*it)["mean"].get<float>();
  input.input_std = (*it)["std"].get<float>();
  return {};
}

}  // namespace

bool schema_fits(const json& offered, const json& wanted) {
  if (!offered.is_object() || !wanted.is_object()) return false;
  for (const char* key : {"format", "features"}) {
    if (!wanted.contains(key)) continue;
    if (!offered.contains(key) || offered[key] != wanted[key]) return false;
  }
  // A non-IID shard may lack the highest labels (a Dirichlet split often leaves a provider
  // without class 9), so it declares fewer classes; it fits any task with at least as many.
  if (wanted.contains("classes")) {
    if (!offered.contains("classes") || !offered["classes"].is_number_integer() ||
        !wanted["classes"].is_number_integer() || offered["classes"].get<std::int64_t>() < 1 ||
        offered["classes"].get<std::int64_t>() > wanted["classes"].get<std::int64_t>()) {
      return false;
    }
  }
  return true;
}

std::uint64_t manifest_rows(const json& manifest) {
  std::uint64_t rows = 0;
  if (!manifest.contains("shards") || !manifest["shards"].is_array()) return 0;
  for (const auto& shard : manifest["shards"]) {
    if (shard.is_object() && shard.contains("rows") && shard["rows"].is_number_unsigned())
      rows += shard["rows"].get<std::uint64_t>();
  }
  return rows;
}

Result<std::vector<TaskMember>> task_participants(NodeContext& context, std::uint64_t task_id) {
  CAIRN_TRY_ASSIGN(auto joins, task_joins(context, task_id));
  std::vector<TaskMember> participants;
  for (const auto& join : joins) {
    TaskMember participant;
    participant.address = join.participant;
    participant.manifest_cid = join.manifest_cid;
    auto expected = cid_commitment(participant.manifest_cid);
    if (!expected || *expected != join.manifest) {
      return fail(Errc::integrity,
                  fmt::format("task {}: {}'s manifest CID does not match its commitment", task_id,
                              participant.address.to_checksum()));
    }
    CAIRN_TRY_ASSIGN(Bytes bytes, fetch_artifact(context, participant.address,
                                                 participant.manifest_cid, kDocumentCap));
    CAIRN_TRY_ASSIGN(participant.manifest,
                     parse_dataset_manifest(bytes, fmt::format("task {}: {}'s manifest", task_id,
                                                               participant.address.to_checksum())));
    participant.rows = manifest_rows(participant.manifest);
    participants.push_back(std::move(participant));
  }
  return participants;
}

Result<GlobalModel> fetch_global_model(NodeContext& context, const TaskInfo& task, const json& spec,
                                       std::uint64_t round) {
  GlobalModel global;
  if (round == 0) {
    CAIRN_TRY_ASSIGN(std::string text, json_string(spec, "initial_parameters", "the spec"));
    CAIRN_TRY_ASSIGN(global.cid, store::Cid::parse(text));
  } else {
    CAIRN_TRY_ASSIGN(auto closed, round_closed(context, task.id, round - 1));
    if (!closed) {
      return fail(Errc::not_found,
                  fmt::format("task {}: round {} is not closed", task.id, round - 1));
    }
    const bool matches = closed->cid && [&] {
      auto expected = cid_commitment(*closed->cid);
      return expected && *expected == closed->commitment;
    }();
    if (!matches) {
      return fail(
          Errc::integrity,
          fmt::format("task {}: round {}'s record does not match its digest", task.id, round - 1));
    }
    CAIRN_TRY_ASSIGN(Bytes record_bytes,
                     fetch_artifact(context, task.owner, *closed->cid, kDocumentCap));
    CAIRN_TRY_ASSIGN(const json record,
                     parse_round_record(
                         record_bytes, fmt::format("task {} round {} record", task.id, round - 1)));
    CAIRN_TRY_ASSIGN(std::string model_text,
                     json_string(record, "result_model", "the round record"));
    CAIRN_TRY_ASSIGN(global.cid, store::Cid::parse(model_text));
  }
  CAIRN_TRY_ASSIGN(Bytes blob, fetch_artifact(context, task.owner, global.cid, kModelCap));
  CAIRN_TRY_ASSIGN(global.parameters, learn::decode_parameters(blob));
  if (global.parameters.model_version != round) {
    return fail(Errc::integrity,
                fmt::format("task {}: the global model of round {} has model_version {}", task.id,
                            round, global.parameters.model_version));
  }
  return global;
}

Result<ByteArray<32>> update_commitment(const NodeContext& context, std::uint64_t task_id,
                                        std::uint64_t round, const chain::Address& participant) {
  CAIRN_TRY_ASSIGN(chain::Contract tasks, training_task_contract(context));
  CAIRN_TRY_ASSIGN(auto values, tasks.call("updateCommitments",
                                           {Value(task_id), Value(round), Value(participant)}));
  return values.at(0).as_bytes32();
}

Result<ByteArray<32>> sealed_update(const NodeContext& context, std::uint64_t task_id,
                                    std::uint64_t round, const chain::Address& participant) {
  CAIRN_TRY_ASSIGN(chain::Contract tasks, training_task_contract(context));
  CAIRN_TRY_ASSIGN(auto values,
                   tasks.call("sealedUpdates", {Value(task_id), Value(round), Value(participant)}));
  return values.at(0).as_bytes32();
}

Result<std::optional<std::string>> committed_update_cid(const NodeContext& context,
                                                        std::uint64_t task_id, std::uint64_t round,
                                                        const chain::Address& participant) {
  CAIRN_TRY_ASSIGN(
      auto events,
      find_events(context, "TrainingTask", context.deployment.training_task, "UpdateCommitted",
                  {topic_word(task_id), topic_word(round), topic_word(participant)}));
  if (events.empty()) return std::optional<std::string>{};
  CAIRN_TRY_ASSIGN(std::string cid, events.back().values.at(4).as_string());
  return std::optional<std::string>(std::move(cid));
}

Result<TaskKey> task_key(const json& spec) {
  TaskKey key;
  CAIRN_TRY_ASSIGN(key.key, spec_public_key(spec));
  CAIRN_TRY_ASSIGN(key.packing, spec_packing(spec));
  CAIRN_TRY(key.packing.validate(key.key.bits));
  key.encryptor = std::make_shared<const crypto::PaillierEncryptor>(key.key);
  return key;
}

std::uint64_t training_seed(const json& spec, std::uint64_t round,
                            const chain::Address& participant) {
  const json training = spec.contains("training") ? spec["training"] : json::object();
  const auto seed = json_number_or<std::uint64_t>(training, "seed", 1);
  std::uint64_t who = 0;
  for (std::size_t i = 12; i < 20; ++i)
    who = (who << 8) | std::to_integer<std::uint64_t>(participant.bytes[i]);
  return learn::derive_seed(learn::derive_seed(seed, kTrainPurpose, round), who);
}

Result<std::vector<double>> weighted_delta(const json& spec, const learn::ParameterSet& global,
                                           const learn::Dataset& data, std::uint64_t round,
                                           const chain::Address& participant, double weight) {
  CAIRN_TRY_ASSIGN(std::string model_name, json_string(spec, "model", "the spec"));
  learn::InputSpec input;
  input.feature_shape = data.feature_shape;
  input.num_classes = data.num_classes;
  if (spec.contains("schema") && spec["schema"].is_object() && spec["schema"].contains("classes") &&
      spec["schema"]["classes"].is_number_integer()) {
    input.num_classes = spec["schema"]["classes"].get<std::int64_t>();
  }
  CAIRN_TRY(spec_input_standardisation(spec, input));
  CAIRN_TRY_ASSIGN(learn::Model model, learn::Model::builtin(model_name, input, 0));
  CAIRN_TRY(model.set_parameters(global));
  const json training = spec.contains("training") ? spec["training"] : json::object();
  learn::TrainConfig config;
  config.epochs = json_number_or<int>(training, "epochs", 1);
  config.lr = json_number_or<double>(training, "lr", 0.05);
  config.batch_size = json_number_or<int>(training, "batch_size", 64);
  config.seed = training_seed(spec, round, participant);
  CAIRN_TRY(learn::train_local(model, learn::to_tensors(data), config));
  const learn::ParameterSet trained = model.parameters(round);
  if (trained.values.size() != global.values.size()) {
    return fail(Errc::internal, "the trained model's layout differs from the global model's");
  }
  const std::size_t n = global.values.size();
  std::vector<double> values(n + 1);
  for (std::size_t i = 0; i < n; ++i)
    values[i] = weight * (static_cast<double>(trained.values[i]) - global.values[i]);
  values[n] = weight;
  return values;
}

void scale_delta(std::vector<double>& values, double scale, const learn::PackingParams& packing) {
  if (values.empty()) return;
  const double limit = packing.max_magnitude() * 0.99;
  for (std::size_t i = 0; i + 1 < values.size(); ++i)
    values[i] = std::clamp(values[i] * scale, -limit, limit);
}

std::future<void> precompute_randomisers(const TaskKey& key, std::uint64_t value_count) {
  const std::size_t needed = learn::ciphertexts_needed(value_count, key.packing, key.key.bits);
  const std::size_t have = key.encryptor->precomputed();
  if (have >= needed) return std::async(std::launch::deferred, [] {});
  return std::async(std::launch::async, [encryptor = key.encryptor, count = needed - have] {
    encryptor->precompute(count);
  });
}

Result<Bytes> encrypt_update(const TaskKey& key, const std::vector<double>& values,
                             std::uint64_t round) {
  CAIRN_TRY_ASSIGN(learn::EncryptedVector encrypted,
                   learn::encrypt_vector(*key.encryptor, values, key.packing, round));
  return learn::encode_encrypted_vector(key.key, encrypted);
}

Status check_update(const TaskKey& key, ByteView bytes, std::uint64_t value_count,
                    std::uint64_t round) {
  CAIRN_TRY_ASSIGN(learn::EncryptedVector update, learn::decode_encrypted_vector(bytes));
  CAIRN_TRY(learn::check_encrypted_vector(key.key, update));
  if (update.model_version != round) {
    return fail(Errc::integrity, fmt::format("the update is tagged for round {}, not {}",
                                             update.model_version, round));
  }
  if (update.value_count != value_count) {
    return fail(Errc::integrity, fmt::format("the update has {} values, the model needs {}",
                                             update.value_count, value_count));
  }
  if (update.summands != 1) return fail(Errc::integrity, "the update is a sum of several");
  if (update.params != key.packing) {
    return fail(Errc::integrity, "the update's packing differs from the task's");
  }
  return {};
}

std::string shard_binding(const chain::Address& owner, std::string_view part) {
  return fmt::format("cairn dataset shard {} {}", owner.to_checksum(), part);
}

Result<learn::Dataset> load_encrypted_shards(NodeContext& context, const chain::Address& owner,
                                             const json& manifest, const ByteArray<32>& key) {
  if (!manifest.contains("shards") || !manifest["shards"].is_array() ||
      manifest["shards"].empty()) {
    return fail(Errc::invalid_argument, "the manifest names no shards");
  }
  learn::Dataset all;
  for (const auto& shard : manifest["shards"]) {
    learn::IdxArray parts[2];
    for (int i = 0; i < 2; ++i) {
      const char* part = i == 0 ? "images" : "labels";
      CAIRN_TRY_ASSIGN(std::string text, json_string(shard, part, "a shard"));
      CAIRN_TRY_ASSIGN(store::Cid cid, store::Cid::parse(text));
      CAIRN_TRY_ASSIGN(Bytes sealed, fetch_artifact(context, owner, cid, kShardCap));
      auto plain = crypto::aead_open(key, sealed, as_bytes(shard_binding(owner, part)));
      if (!plain) {
        return std::unexpected(std::move(plain).error().context(
            fmt::format("decrypting shard {} {}", part, cid.to_string())));
      }
      CAIRN_TRY_ASSIGN(parts[i], learn::parse_idx(*plain));
    }
    CAIRN_TRY_ASSIGN(learn::Dataset data, learn::dataset_from_idx(parts[0], parts[1]));
    if (all.labels.empty()) {
      all = std::move(data);
    } else {
      if (data.feature_shape != all.feature_shape) {
        return fail(Errc::invalid_argument, "the manifest's shards have different shapes");
      }
      all.features.insert(all.features.end(), data.features.begin(), data.features.end());
      all.labels.insert(all.labels.end(), data.labels.begin(), data.labels.end());
      all.num_classes = std::max(all.num_classes, data.num_classes);
    }
  }
  if (manifest.contains("schema") && manifest["schema"].contains("classes") &&
      manifest["schema"]["classes"].is_number_integer()) {
    all.num_classes = std::max(all.num_classes, manifest["schema"]["classes"].get<std::int64_t>());
  }
  return all;
}

Result<std::optional<Bytes>> read_state(const NodeContext& context, const std::string& name) {
  const auto path = context.state_dir / name;
  auto bytes = file::read(path, file::kLargeFileCap);
  if (!bytes && bytes.error().code == Errc::not_found) return std::optional<Bytes>{};
  if (!bytes) return std::unexpected(std::move(bytes).error());
  return std::optional<Bytes>(*std::move(bytes));
}

Status write_state(const NodeContext& context, const std::string& name, ByteView bytes) {
  // A role's state holds keys (shard keys, X25519 secrets): created 0600.
  return file::write_atomic(context.state_dir / name, bytes, {.mode = file::kSecret});
}

Result<ByteArray<32>> load_or_create_key(const NodeContext& context, const std::string& name) {
  CAIRN_TRY_ASSIGN(auto existing, read_state(context, name));
  ByteArray<32> key{};
  if (existing) {
    if (existing->size() != key.size()) {
      return fail(Errc::integrity, fmt::format("{} is not a 32-byte key", name));
    }
    std::copy(existing->begin(), existing->end(), key.begin());
    return key;
  }
  crypto::random_fill(key);
  CAIRN_TRY(write_state(context, name, key));
  return key;
}

Result<store::Cid> put_raw_block(NodeContext& context, ByteView bytes, std::string_view label) {
  if (context.repo == nullptr) return fail(Errc::invalid_argument, "the node has no store");
  return put_pinned_raw_block(context.repo->blocks(), bytes, label);
}

store::Cid raw_cid_of_digest(const ByteArray<32>& digest) {
  return cid_of_digest(store::codec::kRaw, digest);
}

Result<ByteArray<32>> multihash_digest(const store::Cid& cid) {
  const auto& digest = cid.hash().digest;
  if (cid.hash().code != store::multihash_code::kSha2_256 || digest.size() != 32) {
    return fail(Errc::invalid_argument, cid.to_string() + " does not carry a sha2-256 digest");
  }
  ByteArray<32> out{};
  std::copy(digest.begin(), digest.end(), out.begin());
  return out;
}

}  // namespace cairn::market

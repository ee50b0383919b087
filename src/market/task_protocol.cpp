#include "market/task_protocol.hpp"

#include <fmt/format.h>
#include <torch/version.h>

#include <cmath>
#include <fstream>
#include <map>

#include "base/encoding.hpp"
#include "cairn/version.hpp"
#include "chain/contract.hpp"
#include "crypto/hash.hpp"
#include "crypto/paillier.hpp"
#include "learn/contribution.hpp"
#include "learn/dataset.hpp"
#include "learn/params.hpp"
#include "learn/partition.hpp"
#include "learn/quality.hpp"
#include "learn/rng.hpp"
#include "learn/secure_paillier.hpp"
#include "learn/torch/model.hpp"
#include "learn/torch/train.hpp"
#include "market/anchor_chain.hpp"
#include "seal/keys.hpp"
#include "seal/service.hpp"
#include "store/exporter.hpp"
#include "store/gateway.hpp"
#include "store/gateway_client.hpp"
#include "store/importer.hpp"
#include "store/repo.hpp"

namespace cairn::market {

using chain::abi::Value;
using nlohmann::json;

std::string accuracy_svg(double initial, const std::vector<double>& accuracy) {
  const double width = 480, height = 300, left = 50, right = 20, top = 30, bottom = 40;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  const std::size_t points = accuracy.size() + 1;
  auto x_at = [&](std::size_t i) {
    return left +
           (points <= 1 ? 0.0 : plot_w * static_cast<double>(i) / static_cast<double>(points - 1));
  };
  auto y_at = [&](double value) { return top + plot_h * (1.0 - std::clamp(value, 0.0, 1.0)); };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"18\" font-family=\"sans-serif\" font-size=\"14\">Test accuracy per "
      "round</text>\n",
      width, height, left);
  for (int tick = 0; tick <= 10; tick += 2) {
    const double y = y_at(tick / 10.0);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{3}\" y=\"{4:.1f}\" font-family=\"sans-serif\" font-size=\"10\" "
        "text-anchor=\"end\">{5:.1f}</text>\n",
        left, y, left + plot_w, left - 6, y + 3, tick / 10.0);
  }
  std::string path;
  for (std::size_t i = 0; i < points; ++i) {
    const double value = i == 0 ? initial : accuracy[i - 1];
    path += fmt::format("{}{:.1f},{:.1f}", i == 0 ? "M" : " L", x_at(i), y_at(value));
    svg += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"#1f77b4\"/>"
        "<text x=\"{:.1f}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"10\" "
        "text-anchor=\"middle\">{}</text>\n",
        x_at(i), y_at(value), x_at(i), height - bottom + 14, i);
  }
  svg +=
      fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n", path);
  svg += fmt::format(
      "<text x=\"{:.1f}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"11\" "
      "text-anchor=\"middle\">round (0 = initial model)</text>\n</svg>\n",
      left + plot_w / 2, height - 8);
  return svg;
}

namespace {

constexpr std::uint64_t kTrainPurpose = 0x545241494e;  // "TRAIN"

// One organisation: its own store behind its own gateway, and its chain account.
struct Party {
  std::string name;
  chain::Signer signer;
  std::unique_ptr<store::Repo> repo;
  std::unique_ptr<store::Gateway> gateway;

  static Result<std::unique_ptr<Party>> open(std::string name, const chain::Signer& signer,
                                             const std::filesystem::path& dir) {
    auto party = std::make_unique<Party>();
    party->name = std::move(name);
    party->signer = signer;
    CAIRN_TRY_ASSIGN(party->repo, store::Repo::open(dir, store::RepoAccess::write));
    party->gateway =
        std::make_unique<store::Gateway>(party->repo->blocks(), store::GatewayOptions{});
    if (Status started = party->gateway->start(); !started) {
      return std::unexpected(
          std::move(started).error().context("starting " + party->name + "'s gateway"));
    }
    return party;
  }
  ~Party() {
    if (gateway) gateway->stop();
  }

  Result<store::Cid> put(ByteView bytes, std::string_view label) {
    CAIRN_TRY_ASSIGN(store::ImportedFile imported, store::import_bytes(bytes, repo->blocks()));
    CAIRN_TRY(repo->blocks().pin(imported.cid, label));
    return imported.cid;
  }
  Result<Bytes> read(const store::Cid& cid) {
    Bytes out;
    CAIRN_TRY(store::export_file(cid, repo->blocks(), [&](ByteView chunk) -> Status {
      append(out, chunk);
      return {};
    }));
    return out;
  }
  // Pulls `cid` from another party's gateway (checked block by block) into this store.
  Result<Bytes> fetch_from(const Party& source, const store::Cid& cid) {
    CAIRN_TRY_ASSIGN(bool have, repo->blocks().has(cid));
    if (!have) {
      store::FetchOptions options;
      CAIRN_TRY_ASSIGN(options.temp_dir, repo->temp_dir());
      options.existing = &repo->blocks();
      auto fetched = store::fetch(source.gateway->url(), cid, repo->blocks(), options);
      if (!fetched) {
        return std::unexpected(std::move(fetched).error().context(
            fmt::format("{} fetching {} from {}", name, cid.to_string(), source.name)));
      }
      CAIRN_TRY(repo->blocks().pin(cid));
    }
    return read(cid);
  }
};

Result<std::string> sha256_file_hex(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::io, "cannot read " + path.string());
  crypto::Hasher hasher(crypto::HashAlgorithm::sha2_256);
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got > 0) hasher.update(ByteView(reinterpret_cast<const std::byte*>(buffer.data()), got));
  }
  return to_hex(hasher.finish());
}

class TaskRun {
 public:
  explicit TaskRun(const TaskConfig& config) : config_(config) {}

  Result<TaskOutcome> run() {
    CAIRN_TRY(start_chain());
    CAIRN_TRY(start_parties());
    CAIRN_TRY(publish_datasets());
    CAIRN_TRY(publish_task());
    CAIRN_TRY(join());
    for (std::uint64_t round = 0; round < config_.rounds; ++round)
      CAIRN_TRY(run_round(round));
    CAIRN_TRY(close_task());
    CAIRN_TRY(write_passport());
    CAIRN_TRY(audit_copy());
    outcome_.accuracy = accuracy_;
    outcome_.initial_accuracy = initial_accuracy_;
    parties_.clear();
    model_provider_.reset();
    aggregator_.reset();
    return std::move(outcome_);
  }

 private:
  void say(const std::string& message) const {
    if (config_.progress) config_.progress(message);
  }

  Status start_chain() {
    if (config_.rpc_url) {
      outcome_.rpc_url = *config_.rpc_url;
    } else {
      CAIRN_TRY_ASSIGN(outcome_.anvil, chain::Anvil::start());
      outcome_.rpc_url = outcome_.anvil->url();
    }
    CAIRN_TRY_ASSIGN(chain::RpcClient rpc, chain::RpcClient::create(outcome_.rpc_url));
    chain::SenderOptions options;
    options.poll_interval = std::chrono::milliseconds(20);
    CAIRN_TRY_ASSIGN(sender_, chain::TransactionSender::create(rpc, options));
    say(fmt::format("chain {} (id {})", outcome_.rpc_url, sender_->chain_id()));
    const chain::Signer deployer = chain::Signer::from_key(chain::dev_account_key(0));
    CAIRN_TRY_ASSIGN(auto registry, chain::Contract::deploy(sender_, deployer, "Registry"));
    CAIRN_TRY_ASSIGN(auto tasks, chain::Contract::deploy(sender_, deployer, "TrainingTask"));
    registry_.emplace(std::move(registry));
    tasks_.emplace(std::move(tasks));
    // The signing service's operator anchors its calendar publications.
    const chain::Signer operator_signer =
        chain::Signer::from_key(chain::dev_account_key(config_.providers + 2));
    CAIRN_TRY_ASSIGN(anchor_, ChainAnchor::deploy(sender_, operator_signer));
    CAIRN_TRY_ASSIGN(seal::ServiceKeys keys, seal::ServiceKeys::generate());
    seal::ServiceOptions seal_options;
    // Rounds are closed explicitly (tick), one per protocol step, never by the timer.
    seal_options.round = std::chrono::hours(1);
    CAIRN_TRY_ASSIGN(signing_, seal::SigningService::in_memory(seal_options, std::move(keys)));
    signing_->set_anchor(anchor_.get());
    say(fmt::format("contracts: Registry {}, TrainingTask {}, Anchor {}",
                    registry_->address().to_checksum(), tasks_->address().to_checksum(),
                    anchor_->address().to_checksum()));
    return {};
  }

  Status start_parties() {
    if (config_.providers < 2 || config_.providers + 3 > chain::kDevAccountCount) {
      return fail(Errc::invalid_argument,
                  fmt::format("between 2 and {} data providers", chain::kDevAccountCount - 3));
    }
    std::filesystem::create_directories(config_.work_dir);
    CAIRN_TRY_ASSIGN(
        model_provider_,
        Party::open("model-provider", chain::Signer::from_key(chain::dev_account_key(0)),
                    config_.work_dir / "model-provider"));
    for (std::size_t k = 0; k < config_.providers; ++k) {
      const std::string name = fmt::format("data-provider-{}", k + 1);
      CAIRN_TRY_ASSIGN(auto party,
                       Party::open(name, chain::Signer::from_key(chain::dev_account_key(k + 1)),
                                   config_.work_dir / name));
      parties_.push_back(std::move(party));
    }
    CAIRN_TRY_ASSIGN(
        aggregator_,
        Party::open("aggregator",
                    chain::Signer::from_key(chain::dev_account_key(config_.providers + 1)),
                    config_.work_dir / "aggregator"));
    return {};
  }

  // Seals every imprint in one aggregation round, publishes the calendar root and anchors
  // it on chain; returns the signatures in order.
  Result<std::vector<Bytes>> seal_batch(const std::vector<seal::Imprint>& imprints,
                                        const std::string& client) {
    std::vector<std::future<Result<seal::Signature>>> pending;
    for (const auto& imprint : imprints)
      pending.push_back(signing_->submit(imprint, 0, client));
    signing_->tick(true);
    std::vector<Bytes> signatures;
    for (auto& future : pending) {
      CAIRN_TRY_ASSIGN(seal::Signature signature, future.get());
      signatures.push_back(signature.serialize());
    }
    CAIRN_TRY_ASSIGN(seal::PublicationRecord publication, signing_->publish());
    say(fmt::format("sealed {} item(s) for {}; calendar root at {} anchored on chain",
                    imprints.size(), client, publication.data.publication_time));
    return signatures;
  }

  Result<std::vector<Bytes>> seal_cids(const std::vector<store::Cid>& cids,
                                       const std::string& client) {
    std::vector<seal::Imprint> imprints;
    for (const auto& cid : cids) {
      CAIRN_TRY_ASSIGN(seal::Imprint imprint, cid_imprint(cid));
      imprints.push_back(std::move(imprint));
    }
    return seal_batch(imprints, client);
  }

  Status publish_datasets() {
    CAIRN_TRY_ASSIGN(learn::TrainTest data, learn::load_fashion_mnist(config_.fashion_mnist_dir));
    const std::size_t rows = config_.providers * config_.rows_per_provider;
    if (rows > data.train.rows() || config_.test_rows > data.test.rows()) {
      return fail(Errc::invalid_argument, "not that many Fashion-MNIST rows");
    }
    learn::Dataset pool = data.train.head(rows);
    test_ = learn::to_tensors(data.test.head(config_.test_rows));
    input_.feature_shape = pool.feature_shape;
    input_.num_classes = pool.num_classes;
    CAIRN_TRY_ASSIGN(learn::PartitionSpec spec, learn::parse_partition(config_.partition));
    CAIRN_TRY_ASSIGN(auto parts, learn::partition_rows(pool.labels, pool.num_classes,
                                                       config_.providers, spec, config_.seed));
    std::vector<store::Cid> manifest_cids;
    for (std::size_t k = 0; k < config_.providers; ++k) {
      Party& provider = *parties_[k];
      learn::Dataset shard = pool.subset(parts[k]);
      CAIRN_TRY_ASSIGN(Bytes images, learn::encode_idx_images(shard));
      CAIRN_TRY_ASSIGN(store::Cid images_cid, provider.put(images, "shard images"));
      CAIRN_TRY_ASSIGN(Bytes labels, learn::encode_idx_labels(shard));
      CAIRN_TRY_ASSIGN(store::Cid labels_cid, provider.put(labels, "shard labels"));
      json manifest = {{"owner", provider.signer.address.to_checksum()},
                       {"dataset", "fashion-mnist"},
                       {"schema", {{"format", "idx"}, {"features", {1, 28, 28}}, {"classes", 10}}},
                       {"shards", json::array({{{"images", images_cid.to_string()},
                                                {"labels", labels_cid.to_string()},
                                                {"rows", shard.rows()}}})},
                       {"quality", learn::quality_report(shard).to_json()}};
      CAIRN_TRY_ASSIGN(store::Cid manifest_cid,
                       provider.put(canonical_json_bytes(manifest), "manifest"));
      rows_.push_back(shard.rows());
      shards_.push_back(learn::to_tensors(shard));
      manifests_.push_back(std::move(manifest));
      manifest_cids.push_back(manifest_cid);
    }
    CAIRN_TRY_ASSIGN(auto signatures, seal_cids(manifest_cids, "data-providers"));
    for (std::size_t k = 0; k < config_.providers; ++k) {
      Party& provider = *parties_[k];
      CAIRN_TRY_ASSIGN(ByteArray<32> digest, cid_commitment(manifest_cids[k]));
      CAIRN_TRY_ASSIGN(auto tx, registry_->transact(provider.signer, "register",
                                                    {Value(0), Value(digest),
                                                     Value::text(manifest_cids[k].to_string())}));
      CAIRN_TRY_ASSIGN(auto event, registry_->event_in(tx.receipt, "Registered"));
      CAIRN_TRY_ASSIGN(chain::U256 entry, event.at(0).as_uint());
      DatasetRecord record;
      record.owner = provider.signer.address;
      record.manifest = manifests_[k];
      record.sealed = {manifest_cids[k], signatures[k]};
      record.registry_entry = std::stoull(entry.to_decimal());
      record.register_tx = tx.receipt.transaction_hash;
      body_.datasets.push_back(std::move(record));
      say(fmt::format("{} registered dataset manifest {} ({} rows)", provider.name,
                      manifest_cids[k].to_string(), rows_[k]));
    }
    return {};
  }

  Status publish_task() {
    CAIRN_TRY_ASSIGN(crypto::PaillierKeyPair keys,
                     crypto::paillier_generate(config_.paillier_bits,
                                               config_.paillier_bits < crypto::kMinPaillierBits));
    paillier_.emplace(std::move(keys));
    encryptor_.emplace(paillier_->public_key);
    packing_ = learn::PackingParams::for_summands(config_.providers);
    CAIRN_TRY_ASSIGN(learn::Model model,
                     learn::Model::builtin(config_.model, input_, config_.seed));
    model_.emplace(std::move(model));
    global_ = model_->parameters(0);
    initial_accuracy_ = learn::evaluate(*model_, test_).accuracy;
    CAIRN_TRY_ASSIGN(global_cid_,
                     model_provider_->put(learn::encode_parameters(global_), "model v0"));
    // The test set stays with the model provider; the spec commits to it.
    json spec = {{"model", config_.model},
                 {"initial_parameters", global_cid_.to_string()},
                 {"rounds", config_.rounds},
                 {"aggregation", "fedavg (sample-weighted, Paillier sum)"},
                 {"privacy", "paillier"},
                 {"paillier_public_key", to_hex(crypto::encode_public_key(paillier_->public_key))},
                 {"packing",
                  {{"frac_bits", packing_.frac_bits},
                   {"value_bits", packing_.value_bits},
                   {"headroom_bits", packing_.headroom_bits}}},
                 {"schema", {{"format", "idx"}, {"features", {1, 28, 28}}, {"classes", 10}}},
                 {"test_set", {{"dataset", "fashion-mnist t10k"}, {"rows", config_.test_rows}}},
                 {"training", {{"epochs", config_.local_epochs}, {"lr", config_.learning_rate}}},
                 {"reward_wei", config_.reward.to_decimal()}};
    CAIRN_TRY_ASSIGN(store::Cid spec_cid,
                     model_provider_->put(canonical_json_bytes(spec), "task spec"));
    CAIRN_TRY_ASSIGN(ByteArray<32> spec_digest, cid_commitment(spec_cid));
    CAIRN_TRY_ASSIGN(chain::BlockHeader head, sender_->rpc().block(std::nullopt));
    CAIRN_TRY_ASSIGN(
        auto tx,
        tasks_->transact(model_provider_->signer, "createTask",
                         {Value(spec_digest), Value::text(spec_cid.to_string()),
                          Value(config_.rounds), Value(config_.providers), Value(config_.providers),
                          Value(head.timestamp + 86400), Value(aggregator_->signer.address)},
                         config_.reward));
    CAIRN_TRY_ASSIGN(auto event, tasks_->event_in(tx.receipt, "TaskCreated"));
    CAIRN_TRY_ASSIGN(chain::U256 task_id, event.at(0).as_uint());
    task_id_ = std::stoull(task_id.to_decimal());
    body_.task.chain_id = sender_->chain_id();
    body_.task.training_task = tasks_->address();
    body_.task.registry = registry_->address();
    body_.task.task_id = task_id_;
    body_.task.owner = model_provider_->signer.address;
    body_.task.spec = spec;
    body_.task.spec_cid = spec_cid;
    body_.task.rounds = config_.rounds;
    body_.task.create_tx = tx.receipt.transaction_hash;
    say(fmt::format("task {} published: spec {}, reward {} wei escrowed", task_id_,
                    spec_cid.to_string(), config_.reward.to_decimal()));
    return {};
  }

  Status join() {
    body_.participants.push_back(
        {model_provider_->name, model_provider_->signer.address, {"model_provider"}, std::nullopt});
    for (std::size_t k = 0; k < parties_.size(); ++k) {
      auto& provider = parties_[k];
      const store::Cid& manifest_cid = body_.datasets[k].sealed.cid;
      CAIRN_TRY_ASSIGN(ByteArray<32> manifest_digest, cid_commitment(manifest_cid));
      CAIRN_TRY_ASSIGN(auto tx, tasks_->transact(provider->signer, "join",
                                                 {Value(task_id_), Value(manifest_digest),
                                                  Value::text(manifest_cid.to_string())}));
      body_.participants.push_back({provider->name,
                                    provider->signer.address,
                                    {"data_provider", "trainer"},
                                    tx.receipt.transaction_hash});
    }
    body_.participants.push_back(
        {aggregator_->name, aggregator_->signer.address, {"aggregator"}, std::nullopt});
    body_.participants.push_back({"seal-service",
                                  anchor_->signer().address,
                                  {"keyless_signing", "anchoring"},
                                  std::nullopt});
    CAIRN_TRY(tasks_->transact(model_provider_->signer, "start", {Value(task_id_)}));
    say(fmt::format("{} data providers joined task {}", parties_.size(), task_id_));
    return {};
  }

  Status run_round(std::uint64_t round) {
    RoundRecord record;
    record.round = round;
    record.global_model = global_cid_;
    const std::size_t n_params = global_.values.size();
    double total_rows = 0;
    for (auto rows : rows_)
      total_rows += static_cast<double>(rows);
    // ---- trainers ----
    std::vector<store::Cid> update_cids;
    for (std::size_t k = 0; k < parties_.size(); ++k) {
      Party& provider = *parties_[k];
      CAIRN_TRY_ASSIGN(Bytes blob, provider.fetch_from(*model_provider_, global_cid_));
      CAIRN_TRY_ASSIGN(learn::ParameterSet start, learn::decode_parameters(blob));
      if (start.model_version != round) {
        return fail(Errc::integrity, fmt::format("{} fetched model version {} in round {}",
                                                 provider.name, start.model_version, round));
      }
      learn::Model local = model_->clone();
      CAIRN_TRY(local.set_parameters(start));
      learn::TrainConfig train;
      train.epochs = config_.local_epochs;
      train.lr = config_.learning_rate;
      train.seed = learn::derive_seed(config_.seed, kTrainPurpose, round * 1000 + k);
      CAIRN_TRY(learn::train_local(local, shards_[k], train));
      const learn::ParameterSet trained = local.parameters(round);
      // Weighted by the provider's share of all rows (public in the manifests); the weight
      // rides along as the last value so the aggregate carries its own denominator.
      const double weight = static_cast<double>(rows_[k]) / total_rows;
      std::vector<double> values(n_params + 1);
      for (std::size_t i = 0; i < n_params; ++i)
        values[i] = weight * (trained.values[i] - start.values[i]);
      values[n_params] = weight;
      CAIRN_TRY_ASSIGN(learn::EncryptedVector encrypted,
                       learn::encrypt_vector(*encryptor_, values, packing_, round));
      const Bytes update = learn::encode_encrypted_vector(paillier_->public_key, encrypted);
      CAIRN_TRY_ASSIGN(store::Cid cid, provider.put(update, fmt::format("update round {}", round)));
      CAIRN_TRY_ASSIGN(ByteArray<32> commitment, cid_commitment(cid));
      CAIRN_TRY_ASSIGN(auto tx, tasks_->transact(provider.signer, "submitUpdate",
                                                 {Value(task_id_), Value(round), Value(commitment),
                                                  Value::text(cid.to_string())}));
      UpdateRecord update_record;
      update_record.participant = provider.signer.address;
      update_record.sealed.cid = cid;
      update_record.commit_tx = tx.receipt.transaction_hash;
      record.updates.push_back(std::move(update_record));
      update_cids.push_back(cid);
    }
    say(fmt::format("round {}: {} encrypted updates stored and committed", round,
                    update_cids.size()));
    // ---- aggregator: every update against its on-chain commitment, then the sum ----
    std::vector<learn::EncryptedVector> updates;
    for (std::size_t k = 0; k < parties_.size(); ++k) {
      CAIRN_TRY_ASSIGN(auto committed,
                       tasks_->call("updateCommitments", {Value(task_id_), Value(round),
                                                          Value(parties_[k]->signer.address)}));
      CAIRN_TRY_ASSIGN(ByteArray<32> on_chain, committed.at(0).as_bytes32());
      CAIRN_TRY_ASSIGN(ByteArray<32> expected, cid_commitment(update_cids[k]));
      if (on_chain != expected) {
        return fail(Errc::integrity,
                    fmt::format("round {}: {}'s update differs from its commitment", round,
                                parties_[k]->name));
      }
      CAIRN_TRY_ASSIGN(Bytes bytes, aggregator_->fetch_from(*parties_[k], update_cids[k]));
      CAIRN_TRY_ASSIGN(learn::EncryptedVector update, learn::decode_encrypted_vector(bytes));
      CAIRN_TRY(learn::check_encrypted_vector(paillier_->public_key, update));
      updates.push_back(std::move(update));
    }
    std::vector<const learn::EncryptedVector*> all;
    for (const auto& update : updates)
      all.push_back(&update);
    CAIRN_TRY_ASSIGN(learn::EncryptedVector sum, learn::sum_encrypted(paillier_->public_key, all));
    const Bytes aggregate_bytes = learn::encode_encrypted_vector(paillier_->public_key, sum);
    CAIRN_TRY_ASSIGN(store::Cid aggregate_cid,
                     aggregator_->put(aggregate_bytes, fmt::format("aggregate round {}", round)));
    // ---- model provider: the aggregate must be the sum of the committed updates ----
    CAIRN_TRY_ASSIGN(Bytes fetched_aggregate,
                     model_provider_->fetch_from(*aggregator_, aggregate_cid));
    {
      std::vector<learn::EncryptedVector> own;
      for (std::size_t k = 0; k < parties_.size(); ++k) {
        CAIRN_TRY_ASSIGN(Bytes bytes, model_provider_->fetch_from(*parties_[k], update_cids[k]));
        CAIRN_TRY_ASSIGN(learn::EncryptedVector update, learn::decode_encrypted_vector(bytes));
        own.push_back(std::move(update));
      }
      std::vector<const learn::EncryptedVector*> own_all;
      for (const auto& update : own)
        own_all.push_back(&update);
      CAIRN_TRY_ASSIGN(learn::EncryptedVector own_sum,
                       learn::sum_encrypted(paillier_->public_key, own_all));
      if (!equal(learn::encode_encrypted_vector(paillier_->public_key, own_sum),
                 fetched_aggregate)) {
        return fail(
            Errc::integrity,
            fmt::format("round {}: the aggregator's sum is not the sum of the committed updates",
                        round));
      }
    }
    CAIRN_TRY_ASSIGN(learn::EncryptedVector aggregate,
                     learn::decode_encrypted_vector(fetched_aggregate));
    CAIRN_TRY_ASSIGN(std::vector<double> decrypted,
                     learn::decrypt_vector(paillier_->private_key, aggregate));
    if (decrypted.size() != n_params + 1 || decrypted[n_params] <= 0) {
      return fail(Errc::integrity, "the decrypted aggregate has the wrong shape");
    }
    const std::vector<float> previous = global_.values;
    learn::ParameterSet next = global_;
    next.model_version = round + 1;
    for (std::size_t i = 0; i < n_params; ++i)
      next.values[i] += static_cast<float>(decrypted[i] / decrypted[n_params]);
    CAIRN_TRY(model_->set_parameters(next));
    const double accuracy = learn::evaluate(*model_, test_).accuracy;
    CAIRN_TRY_ASSIGN(
        store::Cid result_cid,
        model_provider_->put(learn::encode_parameters(next), fmt::format("model v{}", round + 1)));
    CAIRN_TRY_ASSIGN(ByteArray<32> aggregate_commitment, cid_commitment(aggregate_cid));
    CAIRN_TRY_ASSIGN(auto aggregate_tx,
                     tasks_->transact(aggregator_->signer, "postAggregate",
                                      {Value(task_id_), Value(round), Value(aggregate_commitment),
                                       Value::text(aggregate_cid.to_string())}));
    CAIRN_TRY_ASSIGN(ByteArray<32> result_commitment, cid_commitment(result_cid));
    CAIRN_TRY(tasks_->transact(model_provider_->signer, "closeRound",
                               {Value(task_id_), Value(round), Value(result_commitment),
                                Value::text(result_cid.to_string())}));
    // ---- contributions from aggregates of subsets (never a lone update) ----
    learn::ContributionConfig contribution_config;
    contribution_config.seed = learn::derive_seed(config_.seed, 0x434f4e54);
    contribution_config.min_subset = 2;
    learn::SubsetAggregator subset_aggregate =
        [&](const std::vector<std::size_t>& members) -> Result<std::vector<float>> {
      std::vector<const learn::EncryptedVector*> subset;
      for (auto m : members)
        subset.push_back(&updates.at(m));
      CAIRN_TRY_ASSIGN(auto encrypted_sum, learn::sum_encrypted(paillier_->public_key, subset));
      CAIRN_TRY_ASSIGN(auto values, learn::decrypt_vector(paillier_->private_key, encrypted_sum));
      std::vector<float> delta(n_params);
      for (std::size_t i = 0; i < n_params; ++i)
        delta[i] = static_cast<float>(values[i] / values[n_params]);
      return delta;
    };
    learn::Model evaluator = model_->clone();
    learn::UtilityFunction utility = [&](const std::vector<float>& delta) -> Result<double> {
      std::vector<float> candidate = previous;
      if (!delta.empty()) {
        for (std::size_t i = 0; i < n_params; ++i)
          candidate[i] += delta[i];
      }
      CAIRN_TRY(evaluator.set_values(candidate));
      return learn::evaluate(evaluator, test_).accuracy;
    };
    std::vector<std::string> names;
    for (const auto& provider : parties_)
      names.push_back(provider->signer.address.to_checksum());
    CAIRN_TRY_ASSIGN(learn::RoundContribution contribution,
                     learn::evaluate_contributions(round, names, subset_aggregate, utility,
                                                   contribution_config));
    contributions_.push_back(std::move(contribution));
    contribution_config_ = contribution_config;
    // ---- seal the round's artifacts in one aggregation round, anchor the calendar ----
    std::vector<store::Cid> to_seal = update_cids;
    to_seal.push_back(aggregate_cid);
    to_seal.push_back(result_cid);
    CAIRN_TRY_ASSIGN(auto signatures, seal_cids(to_seal, fmt::format("round {}", round)));
    for (std::size_t k = 0; k < record.updates.size(); ++k)
      record.updates[k].sealed.signature = signatures[k];
    record.aggregate = {aggregate_cid, signatures[update_cids.size()]};
    record.aggregate_tx = aggregate_tx.receipt.transaction_hash;
    record.result_model = {result_cid, signatures[update_cids.size() + 1]};
    record.accuracy = accuracy;
    body_.rounds.push_back(std::move(record));
    accuracy_.push_back(accuracy);
    global_ = std::move(next);
    global_cid_ = result_cid;
    say(fmt::format("round {}: aggregate {} committed; test accuracy {:.4f}", round,
                    aggregate_cid.to_string(), accuracy));
    return {};
  }

  Status close_task() {
    // Rewards in proportion to each provider's positive Shapley total; equal shares when
    // no provider improved the model.
    const std::size_t n = parties_.size();
    std::vector<double> shapley(n, 0.0), loo(n, 0.0);
    for (const auto& round : contributions_) {
      for (std::size_t k = 0; k < n; ++k) {
        shapley[k] += k < round.shapley.size() ? round.shapley[k] : 0.0;
        loo[k] += k < round.leave_one_out.size() ? round.leave_one_out[k] : 0.0;
      }
    }
    double positive = 0;
    for (double value : shapley)
      positive += std::max(value, 0.0);
    // Rewards are computed in micro-shares of the pool so the arithmetic stays in integers.
    const std::uint64_t kScale = 1000000;
    std::vector<chain::U256> amounts(n);
    std::vector<Value> who, how_much;
    json rewards = json::array();
    // The pool divided by 10^6: its decimal digits without the last six.
    const std::string pool = config_.reward.to_decimal();
    chain::U256 unit;
    if (pool.size() > 6) {
      CAIRN_TRY_ASSIGN(unit, chain::U256::parse(pool.substr(0, pool.size() - 6)));
    }
    for (std::size_t k = 0; k < n; ++k) {
      const double share =
          positive > 0 ? std::max(shapley[k], 0.0) / positive : 1.0 / static_cast<double>(n);
      const auto micro =
          static_cast<std::uint64_t>(std::floor(share * static_cast<double>(kScale)));
      CAIRN_TRY_ASSIGN(amounts[k], unit.checked_mul(micro));
      who.push_back(Value(parties_[k]->signer.address));
      how_much.push_back(Value(amounts[k]));
      rewards.push_back({{"participant", parties_[k]->signer.address.to_checksum()},
                         {"amount_wei", amounts[k].to_decimal()},
                         {"shapley_total", shapley[k]},
                         {"leave_one_out_total", loo[k]}});
      body_.evaluation.rewards.push_back({parties_[k]->signer.address, amounts[k]});
    }
    json rounds = json::array();
    for (const auto& round : contributions_)
      rounds.push_back(round.to_json());
    json report = {{"task_id", task_id_},
                   {"method",
                    "GTG-Shapley and leave-one-out on decrypted aggregates of subsets "
                    "(at least two updates), utility = test accuracy"},
                   {"config", contribution_config_.to_json()},
                   {"rounds", std::move(rounds)},
                   {"rewards", std::move(rewards)},
                   {"reward_rule",
                    "pool x max(shapley,0)/sum(max(shapley,0)), equal shares when "
                    "the sum is 0; in millionths of the pool"}};
    CAIRN_TRY_ASSIGN(store::Cid report_cid,
                     model_provider_->put(canonical_json_bytes(report), "contributions"));
    CAIRN_TRY_ASSIGN(ByteArray<32> report_digest, cid_commitment(report_cid));
    CAIRN_TRY_ASSIGN(
        auto tx, tasks_->transact(
                     model_provider_->signer, "reportContributions",
                     {Value(task_id_), Value(report_digest), Value::text(report_cid.to_string()),
                      Value(chain::abi::ValueList(who)), Value(chain::abi::ValueList(how_much))}));
    for (std::size_t k = 0; k < n; ++k) {
      if (amounts[k] == chain::U256{}) continue;
      CAIRN_TRY(tasks_->transact(parties_[k]->signer, "claim", {Value(task_id_)}));
    }
    body_.evaluation.report = report;
    body_.evaluation.sealed.cid = report_cid;
    body_.evaluation.report_tx = tx.receipt.transaction_hash;
    body_.evaluation.final_accuracy = accuracy_.empty() ? initial_accuracy_ : accuracy_.back();
    say(fmt::format("contributions reported ({}); rewards claimed", report_cid.to_string()));
    return {};
  }

  Status write_passport() {
    outcome_.model_path = config_.work_dir / "model.pt";
    CAIRN_TRY(model_->save_torchscript(outcome_.model_path));
    CAIRN_TRY_ASSIGN(store::ImportedFile model_file,
                     store::import_file(outcome_.model_path, model_provider_->repo->blocks()));
    CAIRN_TRY(model_provider_->repo->blocks().pin(model_file.cid, "model.pt"));
    CAIRN_TRY_ASSIGN(auto signatures,
                     seal_cids({body_.evaluation.sealed.cid, model_file.cid}, "model-provider"));
    body_.evaluation.sealed.signature = signatures[0];
    body_.model.sealed = {model_file.cid, signatures[1]};
    body_.model.size = model_file.size;
    body_.model.format = "torchscript";
    body_.software.cairn_version = build::kVersion;
    body_.software.git_commit = build::kGitCommit;
    body_.software.libtorch_version =
        fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
    CAIRN_TRY_ASSIGN(body_.software.binary_sha256, sha256_file_hex(config_.binary));
    body_.calendar_certificate = signing_->keys().calendar_cert_der;
    for (const auto& anchored : anchor_->anchored())
      body_.anchors.push_back(to_record(anchored));
    Passport passport;
    passport.body = body_;
    CAIRN_TRY_ASSIGN(auto closing, seal_batch({body_imprint(body_)}, "passport"));
    passport.closing_signature = closing[0];
    if (anchor_->anchored().size() != body_.anchors.size() + 1) {
      return fail(Errc::internal, "the closing seal was not anchored on its own");
    }
    passport.closing_anchor = to_record(anchor_->anchored().back());
    outcome_.passport_path = config_.work_dir / "passport.json";
    std::ofstream out(outcome_.passport_path, std::ios::binary | std::ios::trunc);
    out << serialize_passport(passport);
    out.close();
    if (!out) return fail(Errc::io, "cannot write " + outcome_.passport_path.string());
    outcome_.passport = std::move(passport);
    say(fmt::format("model {} and passport written to {}", model_file.cid.to_string(),
                    config_.work_dir.string()));
    return {};
  }

  static AnchorRecord to_record(const AnchoredPublication& anchored) {
    return {anchored.publication_time, anchored.root,        anchored.contract,
            anchored.signer,           anchored.transaction, anchored.block};
  }

  // An auditor pulls every artifact the passport names through the parties' gateways.
  Status audit_copy() {
    outcome_.auditor_repo = config_.work_dir / "auditor";
    CAIRN_TRY_ASSIGN(auto auditor,
                     Party::open("auditor", model_provider_->signer, outcome_.auditor_repo));
    const PassportBody& body = outcome_.passport.body;
    CAIRN_TRY(auditor->fetch_from(*model_provider_, body.model.sealed.cid));
    for (const auto& round : body.rounds) {
      CAIRN_TRY(auditor->fetch_from(*model_provider_, round.global_model));
      CAIRN_TRY(auditor->fetch_from(*model_provider_, round.result_model.cid));
      CAIRN_TRY(auditor->fetch_from(*aggregator_, round.aggregate.cid));
      for (const auto& update : round.updates) {
        CAIRN_TRY(auditor->fetch_from(*aggregator_, update.sealed.cid));
      }
    }
    say("auditor store filled from the gateways: " + outcome_.auditor_repo.string());
    return {};
  }

  const TaskConfig& config_;
  TaskOutcome outcome_;
  std::shared_ptr<chain::TransactionSender> sender_;
  std::optional<chain::Contract> registry_;
  std::optional<chain::Contract> tasks_;
  std::unique_ptr<ChainAnchor> anchor_;
  std::unique_ptr<seal::SigningService> signing_;
  std::unique_ptr<Party> model_provider_;
  std::unique_ptr<Party> aggregator_;
  std::vector<std::unique_ptr<Party>> parties_;
  learn::InputSpec input_;
  learn::TensorData test_;
  std::vector<learn::TensorData> shards_;
  std::vector<std::size_t> rows_;
  std::vector<json> manifests_;
  std::optional<crypto::PaillierKeyPair> paillier_;
  std::optional<crypto::PaillierEncryptor> encryptor_;
  learn::PackingParams packing_;
  std::optional<learn::Model> model_;
  learn::ParameterSet global_;
  store::Cid global_cid_;
  std::uint64_t task_id_ = 0;
  std::vector<learn::RoundContribution> contributions_;
  learn::ContributionConfig contribution_config_;
  std::vector<double> accuracy_;
  double initial_accuracy_ = 0;
  PassportBody body_;
};

}  // namespace

Result<TaskOutcome> run_training_task(const TaskConfig& config) {
  if (config.work_dir.empty()) return fail(Errc::invalid_argument, "no work directory given");
  if (config.rounds == 0 || config.rounds > 255) {
    return fail(Errc::invalid_argument, "rounds must be between 1 and 255");
  }
  return TaskRun(config).run();
}

}  // namespace cairn::market

// Per-round platform overhead against training, with N data providers (default 10).
//
// One training round of the protocol, done with the real components a node uses, each
// part timed on its own:
//   training   every provider trains the global model one epoch on its rows (libtorch)
//   learn      Paillier work: encrypting each weighted delta (packed), the homomorphic sum
//   store      each provider stores its encrypted update in its RocksDB repository
//   transfer   each provider fetches the global model from the model provider's gateway,
//              the aggregator fetches every update from its owner's gateway, the model
//              provider fetches the sum (all re-hashed on arrival, store::fetch)
//   chain      N sealUpdate, N submitUpdate (the reveals), postAggregate and closeRound
//              transactions on anvil (TrainingTask v3)
//              (signed, sent, mined, receipt checked), one after another
//   seal       the round's N + 2 artifacts sealed in one aggregation round of a signing
//              service (1 s rounds, as a node runs it), its calendar published and
//              anchored on chain
// and prints platform (store + transfer + chain + seal) / training.
//
//   cairn_bench_platform [--providers N] [--rows R] [--model logreg|mlp|cnn]
//                        [--paillier-bits B] [--rounds K]
//
// Times are summed over the parties, as if one machine did every party's work in turn
// (on separate machines they overlap); both sides of the ratio are summed the same way.
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <future>
#include <string>

#include "base/encoding.hpp"
#include "chain/anvil.hpp"
#include "chain/contract.hpp"
#include "crypto/paillier.hpp"
#include "learn/dataset.hpp"
#include "learn/params.hpp"
#include "learn/secure_paillier.hpp"
#include "learn/torch/model.hpp"
#include "learn/torch/train.hpp"
#include "market/anchor_chain.hpp"
#include "market/passport.hpp"
#include "market/protocol.hpp"
#include "seal/service.hpp"
#include "store/exporter.hpp"
#include "store/gateway.hpp"
#include "store/gateway_client.hpp"
#include "store/importer.hpp"
#include "store/repo.hpp"

namespace {

using namespace cairn;
using Clock = std::chrono::steady_clock;
using chain::abi::Value;

template <class T>
T check(Result<T> result, const char* what) {
  if (!result) {
    std::fprintf(stderr, "%s: %s\n", what, result.error().to_string().c_str());
    std::exit(1);
  }
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}
void check(Status status, const char* what) {
  if (!status) {
    std::fprintf(stderr, "%s: %s\n", what, status.error().to_string().c_str());
    std::exit(1);
  }
}

double seconds_since(Clock::time_point begin) {
  return std::chrono::duration<double>(Clock::now() - begin).count();
}

struct Party {
  chain::Signer signer;
  std::unique_ptr<store::Repo> repo;
  std::unique_ptr<store::Gateway> gateway;
};

std::unique_ptr<Party> open_party(const std::filesystem::path& dir, const chain::Signer& signer) {
  auto party = std::make_unique<Party>();
  party->signer = signer;
  party->repo = check(store::Repo::open(dir, store::RepoAccess::write), "opening a repo");
  party->gateway = std::make_unique<store::Gateway>(party->repo->blocks(), store::GatewayOptions{});
  check(party->gateway->start(), "starting a gateway");
  return party;
}

store::Cid put(Party& party, ByteView bytes) {
  auto imported = check(store::import_bytes(bytes, party.repo->blocks()), "storing");
  check(party.repo->blocks().pin(imported.cid, "bench"), "pinning");
  return imported.cid;
}

void fetch(Party& into, const Party& from, const store::Cid& cid) {
  store::FetchOptions options;
  options.temp_dir = check(into.repo->temp_dir(), "temp dir");
  options.existing = &into.repo->blocks();
  check(store::fetch(from.gateway->url(), cid, into.repo->blocks(), options), "fetching");
}

// No floor, stake or allowlist; every provider seals each round, so the round reveals at
// once and the windows never wait.
market::TaskTerms bench_terms() {
  market::TaskTerms terms;
  terms.rule = market::reward_rule_id();
  terms.commit_window_s = 3600;
  terms.report_window_s = 3600;
  return terms;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t providers = 10, rows = 1000, paillier_bits = 2048, rounds = 2;
  std::string model_name = "logreg";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--providers")
      providers = std::stoul(value);
    else if (flag == "--rows")
      rows = std::stoul(value);
    else if (flag == "--model")
      model_name = value;
    else if (flag == "--paillier-bits")
      paillier_bits = std::stoul(value);
    else if (flag == "--rounds")
      rounds = std::stoul(value);
    else {
      std::fprintf(stderr, "unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (providers < 2 || providers > 64 || rounds < 1) {
    std::fprintf(stderr, "--providers must be 2..64, --rounds at least 1\n");
    return 2;
  }
  learn::set_torch_threads(1);

  // ---- set-up (not timed) ----
  char pattern[] = "/tmp/cairn-bench-platform-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern);
  auto anvil = check(chain::Anvil::start(), "starting anvil");
  auto rpc = check(chain::RpcClient::create(anvil->url()), "rpc");
  chain::SenderOptions sender_options;
  sender_options.poll_interval = std::chrono::milliseconds(5);
  auto sender = check(chain::TransactionSender::create(rpc, sender_options), "sender");
  const auto owner = chain::Signer::from_key(chain::dev_account_key(0));
  const auto aggregator_signer = chain::Signer::from_key(chain::dev_account_key(1));
  auto task_contract = check(chain::Contract::deploy(sender, owner, "TrainingTask"), "deploy");
  auto anchor = check(market::ChainAnchor::deploy(sender, owner), "deploy Anchor");

  auto data = check(learn::load_fashion_mnist(), "loading Fashion-MNIST");
  const learn::InputSpec input{data.train.feature_shape, data.train.num_classes};
  auto global = check(learn::Model::builtin(model_name, input, 1), "model");
  auto key = check(crypto::paillier_generate(paillier_bits, paillier_bits < 2048), "Paillier key");
  const crypto::PaillierEncryptor encryptor(key.public_key);
  const auto packing = learn::PackingParams::for_summands(providers);

  std::vector<std::unique_ptr<Party>> trainers;
  std::vector<learn::TensorData> shards;
  for (std::size_t k = 0; k < providers; ++k) {
    const auto secret = crypto::secp256k1_generate();
    const auto signer = chain::Signer::from_key(secret);
    check(rpc.call("anvil_setBalance",
                   nlohmann::json::array({signer.address.to_lower_hex(), "0x56BC75E2D63100000"})),
          "funding");
    trainers.push_back(open_party(dir / fmt::format("provider-{}", k), signer));
    std::vector<std::size_t> indices;
    for (std::size_t r = 0; r < rows; ++r)
      indices.push_back((k * rows + r) % data.train.rows());
    shards.push_back(learn::to_tensors(data.train.subset(indices)));
  }
  auto model_provider = open_party(dir / "model-provider", owner);
  auto aggregator = open_party(dir / "aggregator", aggregator_signer);

  // A task with every provider joined and started.
  const auto block = check(rpc.block(std::nullopt), "block");
  const ByteArray<32> spec_digest = crypto::sha256(std::string_view("bench spec"));
  auto created = check(
      task_contract.transact(
          owner, "createTask",
          {Value(spec_digest), Value::text("bafy-spec"), Value(static_cast<std::uint64_t>(rounds)),
           Value(static_cast<std::uint64_t>(providers)),
           Value(static_cast<std::uint64_t>(providers)), Value(block.timestamp + 86400),
           Value(aggregator_signer.address), bench_terms().to_abi()},
          chain::U256(1000000)),
      "createTask");
  const auto task_id =
      check(check(task_contract.event_in(created.receipt, "TaskCreated"), "event")[0].as_uint(),
            "task id");
  for (const auto& trainer : trainers) {
    check(task_contract.transact(trainer->signer, "join",
                                 {Value(task_id), Value(spec_digest), Value::text("bafy-manifest"),
                                  Value(chain::abi::ValueList{})}),
          "join");
  }
  check(task_contract.transact(owner, "start", {Value(task_id)}), "start");

  seal::ServiceOptions seal_options;  // 1 s rounds, as a node's signing service runs
  auto signing = check(
      seal::SigningService::in_memory(seal_options, check(seal::ServiceKeys::generate(), "keys")),
      "signing service");
  signing->set_anchor(anchor.get());

  const auto parameter_count = global.parameters().values.size();
  std::printf(
      "platform overhead: %zu providers x %zu rows, model %s (%zu parameters), "
      "Paillier %zu bits, %zu round(s)\n",
      providers, rows, model_name.c_str(), parameter_count, paillier_bits, rounds);

  double training = 0, learn_crypto = 0, storing = 0, transfer = 0, chain_time = 0, sealing = 0;
  std::size_t update_bytes = 0;
  std::uint64_t gas = 0;
  for (std::size_t round = 0; round < rounds; ++round) {
    // The global model, stored by the model provider and fetched by every trainer.
    auto params = global.parameters(round);
    const Bytes global_bytes = learn::encode_parameters(params);
    auto begin = Clock::now();
    const store::Cid global_cid = put(*model_provider, global_bytes);
    storing += seconds_since(begin);
    begin = Clock::now();
    for (auto& trainer : trainers)
      fetch(*trainer, *model_provider, global_cid);
    transfer += seconds_since(begin);

    std::vector<store::Cid> update_cids;
    std::vector<learn::EncryptedVector> updates;
    for (std::size_t k = 0; k < providers; ++k) {
      auto local = global.clone();
      begin = Clock::now();
      learn::TrainConfig train_config;
      train_config.lr = 0.05;
      train_config.batch_size = 32;
      train_config.seed = round * 1000 + k;
      check(learn::train_local(local, shards[k], train_config), "training");
      training += seconds_since(begin);

      begin = Clock::now();
      const auto trained = local.parameters(round);
      const double weight = 1.0 / static_cast<double>(providers);
      std::vector<double> delta(trained.values.size() + 1);
      for (std::size_t i = 0; i < trained.values.size(); ++i)
        delta[i] = weight * (trained.values[i] - params.values[i]);
      delta.back() = weight;
      auto encrypted = check(learn::encrypt_vector(encryptor, delta, packing, round), "encrypt");
      const Bytes update = learn::encode_encrypted_vector(key.public_key, encrypted);
      learn_crypto += seconds_since(begin);
      update_bytes = update.size();

      begin = Clock::now();
      update_cids.push_back(put(*trainers[k], update));
      storing += seconds_since(begin);
      updates.push_back(std::move(encrypted));

      begin = Clock::now();
      const auto digest = check(market::cid_commitment(update_cids.back()), "commit");
      auto sealed = check(
          task_contract.transact(trainers[k]->signer, "sealUpdate",
                                 {Value(task_id), Value(static_cast<std::uint64_t>(round)),
                                  Value(market::update_seal(trainers[k]->signer.address,
                                                            task_id.low64(), round, digest))}),
          "sealUpdate");
      chain_time += seconds_since(begin);
      gas += sealed.receipt.gas_used;
    }
    // Every provider sealed: the round reveals.
    for (std::size_t k = 0; k < providers; ++k) {
      begin = Clock::now();
      auto sent = check(
          task_contract.transact(trainers[k]->signer, "submitUpdate",
                                 {Value(task_id), Value(static_cast<std::uint64_t>(round)),
                                  Value(check(market::cid_commitment(update_cids[k]), "commit")),
                                  Value::text(update_cids[k].to_string())}),
          "submitUpdate");
      chain_time += seconds_since(begin);
      gas += sent.receipt.gas_used;
    }

    // The aggregator pulls every update from its owner and sums them.
    begin = Clock::now();
    for (std::size_t k = 0; k < providers; ++k)
      fetch(*aggregator, *trainers[k], update_cids[k]);
    transfer += seconds_since(begin);
    begin = Clock::now();
    std::vector<const learn::EncryptedVector*> pointers;
    for (const auto& update : updates)
      pointers.push_back(&update);
    auto sum = check(learn::sum_encrypted(key.public_key, pointers), "sum");
    const Bytes sum_bytes = learn::encode_encrypted_vector(key.public_key, sum);
    learn_crypto += seconds_since(begin);
    begin = Clock::now();
    const store::Cid sum_cid = put(*aggregator, sum_bytes);
    storing += seconds_since(begin);
    begin = Clock::now();
    auto posted =
        check(task_contract.transact(aggregator_signer, "postAggregate",
                                     {Value(task_id), Value(static_cast<std::uint64_t>(round)),
                                      Value(check(market::cid_commitment(sum_cid), "commit")),
                                      Value::text(sum_cid.to_string())}),
              "postAggregate");
    chain_time += seconds_since(begin);
    gas += posted.receipt.gas_used;
    begin = Clock::now();
    fetch(*model_provider, *aggregator, sum_cid);
    transfer += seconds_since(begin);

    // The model provider applies the decrypted sum (learn), stores the new model, seals the
    // round's artifacts in one aggregation round, anchors the calendar and closes the round.
    begin = Clock::now();
    auto values = check(learn::decrypt_vector(key.private_key, sum), "decrypt");
    learn_crypto += seconds_since(begin);
    for (std::size_t i = 0; i < params.values.size(); ++i)
      params.values[i] += static_cast<float>(values[i] / values.back());
    check(global.set_parameters(params), "apply");
    const Bytes result_bytes = learn::encode_parameters(global.parameters(round + 1));
    begin = Clock::now();
    const store::Cid result_cid = put(*model_provider, result_bytes);
    storing += seconds_since(begin);

    begin = Clock::now();
    std::vector<store::Cid> to_seal = update_cids;
    to_seal.push_back(sum_cid);
    to_seal.push_back(result_cid);
    std::vector<std::future<Result<seal::Signature>>> pending;
    for (const auto& cid : to_seal)
      pending.push_back(signing->submit(check(market::cid_imprint(cid), "imprint"), 0, "bench"));
    for (auto& future : pending)
      check(future.get(), "sealing");
    check(signing->publish(), "publishing + anchoring");
    sealing += seconds_since(begin);

    begin = Clock::now();
    auto closed = check(task_contract.transact(
                            owner, "closeRound",
                            {Value(task_id), Value(static_cast<std::uint64_t>(round)),
                             Value(check(market::cid_commitment(result_cid), "commit")),
                             Value::text(result_cid.to_string()), Value(chain::abi::ValueList{})}),
                        "closeRound");
    chain_time += seconds_since(begin);
    gas += closed.receipt.gas_used;
  }

  const double n = static_cast<double>(rounds);
  const double platform = storing + transfer + chain_time + sealing;
  std::printf("per round (summed over parties):\n");
  std::printf("  training (libtorch)       %8.3f s\n", training / n);
  std::printf(
      "  Paillier (learn)          %8.3f s   encrypt %zu updates of %zu bytes, sum, decrypt\n",
      learn_crypto / n, providers, update_bytes);
  std::printf("  store                     %8.3f s\n", storing / n);
  std::printf("  transfer (gateways)       %8.3f s\n", transfer / n);
  std::printf("  chain (%zu transactions)   %8.3f s   %llu gas\n", providers + 2, chain_time / n,
              static_cast<unsigned long long>(gas / rounds));
  std::printf("  seal (+ anchor)           %8.3f s\n", sealing / n);
  std::printf("platform / training = %.3f   (platform %.3f s, training %.3f s per round)\n",
              platform / training, platform / n, training / n);
  std::printf("platform / (training + Paillier) = %.3f\n", platform / (training + learn_crypto));
  model_provider.reset();
  aggregator.reset();
  trainers.clear();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}

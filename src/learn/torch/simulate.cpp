#include "learn/torch/simulate.hpp"

#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "crypto/paillier.hpp"
#include "learn/params.hpp"
#include "learn/rng.hpp"
#include "learn/secure_mask.hpp"
#include "learn/secure_paillier.hpp"

namespace cairn::learn {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

constexpr std::uint64_t kTrainPurpose = 1;
constexpr std::uint64_t kDropoutPurpose = 2;
constexpr std::uint64_t kNoisePurpose = 3;
// 4 is the train/test split's (kSplitPurpose, split_rows in learn/dataset.hpp).
constexpr std::uint64_t kModelPurpose = 5;

}  // namespace

Result<TrainTest> simulation_data(const SimulationConfig& config) {
  TrainTest out;
  if (config.dataset == "fashion-mnist") {
    // Inflating and converting 70 000 images takes seconds; keep them for later runs in
    // the same process (tests, benchmarks).
    static std::mutex cache_mutex;
    static std::map<std::filesystem::path, std::shared_ptr<const TrainTest>> cache;
    std::shared_ptr<const TrainTest> both;
    {
      std::lock_guard lock(cache_mutex);
      if (auto it = cache.find(config.fashion_mnist_dir); it != cache.end()) both = it->second;
    }
    if (!both) {
      CAIRN_TRY_ASSIGN(auto loaded, load_fashion_mnist(config.fashion_mnist_dir));
      both = std::make_shared<const TrainTest>(std::move(loaded));
      std::lock_guard lock(cache_mutex);
      cache[config.fashion_mnist_dir] = both;
    }
    out.train = both->train;
    out.test = both->test;
  } else {
    if (!config.csv_schema)
      return fail(Errc::invalid_argument, "a CSV dataset needs a schema (--schema FILE)");
    CAIRN_TRY_ASSIGN(const auto schema_bytes, read_maybe_gzip(*config.csv_schema));
    CAIRN_TRY_ASSIGN(const auto schema, parse_csv_schema(as_chars(schema_bytes)));
    CAIRN_TRY_ASSIGN(const auto csv_bytes, read_maybe_gzip(config.dataset));
    CAIRN_TRY_ASSIGN(auto csv, read_csv(as_chars(csv_bytes), schema));
    CAIRN_TRY_ASSIGN(const auto split, with_context(split_rows(csv.data.rows(), config.clients,
                                                               config.seed, config.csv_test_rows),
                                                    config.dataset));
    out.test = csv.data.subset(split.test);
    out.train = csv.data.subset(split.train);
  }
  if (config.train_limit > 0) out.train = out.train.head(config.train_limit);
  if (config.test_limit > 0) out.test = out.test.head(config.test_limit);
  return out;
}

namespace {

// What a client sends, in each mode.
struct Message {
  std::size_t client = 0;
  Bytes blob;                  // none: parameter blob of the delta; paillier: encrypted vector
  std::vector<double> values;  // mask: weighted delta and weight (masked at send time)
  double weight = 0;
};

void poison(std::vector<float>& delta, const MaliciousSpec& spec, Rng& rng) {
  switch (spec.kind) {
    case MaliciousSpec::Kind::signflip:
      for (float& v : delta)
        v = -v;
      break;
    case MaliciousSpec::Kind::scale:
      for (float& v : delta)
        v = static_cast<float>(v * spec.scale);
      break;
    case MaliciousSpec::Kind::noise:
      for (float& v : delta)
        v = static_cast<float>(rng.normal());
      break;
  }
}

}  // namespace

Result<SecureMode> parse_secure_mode(std::string_view text) {
  if (text == "none") return SecureMode::none;
  if (text == "paillier") return SecureMode::paillier;
  if (text == "mask") return SecureMode::mask;
  return fail(Errc::invalid_argument,
              fmt::format("unknown secure mode '{}' (none, paillier, mask)", text));
}

std::string_view secure_mode_name(SecureMode mode) {
  switch (mode) {
    case SecureMode::none:
      return "none";
    case SecureMode::paillier:
      return "paillier";
    case SecureMode::mask:
      return "mask";
  }
  return "none";
}

std::string MaliciousSpec::to_string() const {
  switch (kind) {
    case Kind::signflip:
      return fmt::format("{}:signflip", count);
    case Kind::scale:
      return fmt::format("{}:scale:{}", count, scale);
    case Kind::noise:
      return fmt::format("{}:noise", count);
  }
  return "";
}

Result<MaliciousSpec> parse_malicious(std::string_view text) {
  MaliciousSpec spec;
  auto bad = [&] {
    return fail(Errc::invalid_argument,
                fmt::format("--malicious '{}': expected K:signflip, K:scale:S or K:noise", text));
  };
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return bad();
  const auto count = text.substr(0, colon);
  if (std::from_chars(count.data(), count.data() + count.size(), spec.count).ptr !=
          count.data() + count.size() ||
      count.empty())
    return bad();
  const auto kind = text.substr(colon + 1);
  if (kind == "signflip")
    spec.kind = MaliciousSpec::Kind::signflip;
  else if (kind == "noise")
    spec.kind = MaliciousSpec::Kind::noise;
  else if (kind.starts_with("scale:")) {
    spec.kind = MaliciousSpec::Kind::scale;
    const auto s = kind.substr(6);
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), spec.scale);
    if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size() || !std::isfinite(spec.scale))
      return bad();
  } else {
    return bad();
  }
  return spec;
}

std::string FaultySpec::to_string() const {
  switch (kind) {
    case Kind::nan:
      return fmt::format("{}:nan", count);
    case Kind::stale:
      return fmt::format("{}:stale", count);
    case Kind::truncated:
      return fmt::format("{}:truncated", count);
    case Kind::shape:
      return fmt::format("{}:shape", count);
  }
  return "";
}

Result<FaultySpec> parse_faulty(std::string_view text) {
  FaultySpec spec;
  const auto colon = text.find(':');
  const auto count = text.substr(0, colon);
  const auto kind = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  const auto [ptr, ec] = std::from_chars(count.data(), count.data() + count.size(), spec.count);
  if (count.empty() || ec != std::errc{} || ptr != count.data() + count.size()) {
    return fail(Errc::invalid_argument,
                fmt::format("--faulty '{}': expected K:nan, K:stale or K:truncated", text));
  }
  if (kind == "nan")
    spec.kind = FaultySpec::Kind::nan;
  else if (kind == "stale")
    spec.kind = FaultySpec::Kind::stale;
  else if (kind == "truncated")
    spec.kind = FaultySpec::Kind::truncated;
  else if (kind == "shape")
    spec.kind = FaultySpec::Kind::shape;
  else
    return fail(
        Errc::invalid_argument,
        fmt::format("--faulty '{}': expected K:nan, K:stale, K:truncated or K:shape", text));
  return spec;
}

PhaseSeconds& PhaseSeconds::operator+=(const PhaseSeconds& o) {
  train += o.train;
  encrypt += o.encrypt;
  aggregate += o.aggregate;
  decrypt += o.decrypt;
  evaluate += o.evaluate;
  contribution += o.contribution;
  precompute += o.precompute;
  return *this;
}

nlohmann::json PhaseSeconds::to_json() const {
  return {{"train", train},           {"encrypt", encrypt},   {"aggregate", aggregate},
          {"decrypt", decrypt},       {"evaluate", evaluate}, {"contribution", contribution},
          {"precompute", precompute}, {"total", total()}};
}

nlohmann::json RoundRecord::to_json() const {
  return {{"round", round},
          {"accuracy", accuracy},
          {"loss", loss},
          {"train_loss", train_loss},
          {"participants", participants},
          {"dropped", dropped},
          {"rejected", rejected},
          {"applied", applied},
          {"messages", messages},
          {"upload_bytes", upload_bytes},
          {"seconds", seconds.to_json()}};
}

nlohmann::json SimulationResult::to_json() const {
  nlohmann::json rounds_json = nlohmann::json::array();
  for (const auto& r : rounds)
    rounds_json.push_back(r.to_json());
  nlohmann::json per_client = nlohmann::json::array();
  for (std::size_t i = 0; i < clients.size(); ++i) {
    per_client.push_back({{"client", clients[i]},
                          {"rows", i < client_rows.size() ? client_rows[i] : 0},
                          {"shapley", i < shapley_total.size() ? shapley_total[i] : 0.0},
                          {"leave_one_out", i < loo_total.size() ? loo_total[i] : 0.0}});
  }
  nlohmann::json evaluated = nlohmann::json::array();
  for (const auto& c : contributions)
    evaluated.push_back(c.to_json());
  nlohmann::json out = {
      {"final_accuracy", final_accuracy},
      {"rounds", rounds_json},
      {"contributions",
       {{"clients", per_client},
        {"config", config.contribution.to_json()},
        {"rounds", evaluated},
        {"utility", "accuracy on the first contribution_test_rows test rows"},
        {"contribution_test_rows", config.contribution_test_rows}}},
      {"seconds", seconds.to_json()},
      {"config",
       {{"dataset", config.dataset},
        {"clients", config.clients},
        {"rounds", config.rounds},
        {"local_epochs", config.train.epochs},
        {"batch_size", config.train.batch_size},
        {"lr", config.train.lr},
        {"lr_decay", config.lr_decay},
        {"optimizer", config.train.optimizer == TrainConfig::Optimizer::sgd ? "sgd" : "adam"},
        {"prox_mu", config.train.prox_mu},
        {"partition", config.partition.to_string()},
        {"model", config.model},
        {"input_standardisation",
         config.standardise_input
             ? nlohmann::json{{"mean", input.input_mean}, {"std", input.input_std}}
             : nlohmann::json(nullptr)},
        {"aggregate", config.rule.to_string()},
        {"secure", secure_mode_name(config.secure)},
        {"paillier_bits", config.paillier_bits},
        {"packing", config.packing},
        {"malicious", config.malicious.count ? config.malicious.to_string() : "none"},
        {"faulty", config.faulty.count ? config.faulty.to_string() : "none"},
        {"dropout", config.dropout},
        {"seed", config.seed},
        {"train_limit", config.train_limit},
        {"test_limit", config.test_limit}}},
  };
  if (centralised_curve) {
    out["centralised"] = {
        {"accuracy", centralised_curve->empty() ? 0.0 : centralised_curve->back()},
        {"curve", *centralised_curve}};
  }
  return out;
}

Result<SimulationResult> simulate(const SimulationConfig& config, const RoundCallback& on_round,
                                  std::optional<Model>* final_model) {
  if (config.clients < 1 || config.clients > 63)
    return fail(Errc::invalid_argument, "clients must be between 1 and 63");
  if (config.rounds < 1) return fail(Errc::invalid_argument, "rounds must be at least 1");
  if (config.malicious.count > config.clients)
    return fail(Errc::invalid_argument, "more malicious clients than clients");
  if (config.faulty.count > config.clients)
    return fail(Errc::invalid_argument, "more faulty clients than clients");
  if (!(config.dropout >= 0 && config.dropout < 1))
    return fail(Errc::invalid_argument, "dropout must be in [0, 1)");
  if (config.secure != SecureMode::none && config.rule.robust()) {
    return fail(
        Errc::invalid_argument,
        fmt::format(
            "aggregation rule {} needs the individual updates, which secure aggregation hides; use "
            "fedavg, fedprox or fedadam with --secure {}",
            config.rule.to_string(), secure_mode_name(config.secure)));
  }
  set_torch_threads(config.threads);
  CAIRN_TRY_ASSIGN(auto data, simulation_data(config));
  CAIRN_TRY_ASSIGN(const auto parts, partition_rows(data.train.labels, data.train.num_classes,
                                                    config.clients, config.partition, config.seed));
  InputSpec input{data.train.feature_shape, data.train.num_classes};
  if (config.standardise_input) {
    const FeatureMoments moments = feature_moments(data.train.features);
    input.input_mean = moments.mean;
    input.input_std = moments.std;
  }
  CAIRN_TRY_ASSIGN(auto model,
                   Model::from_spec(config.model, input, derive_seed(config.seed, kModelPurpose)));
  const auto initial = model.parameters(0);
  SimulationResult result;
  result.config = config;
  result.input = input;
  std::vector<TensorData> shards;
  double total_rows = 0;
  for (std::size_t k = 0; k < config.clients; ++k) {
    result.clients.push_back(fmt::format("client-{}", k));
    shards.push_back(to_tensors(data.train.subset(parts[k])));
    result.client_rows.push_back(parts[k].size());
    total_rows += static_cast<double>(parts[k].size());
  }
  const auto test = to_tensors(data.test);
  const auto contribution_test = to_tensors(data.test.head(config.contribution_test_rows));

  if (config.centralised_baseline) {
    // The same sample budget: rounds x local epochs passes over the union of the shards.
    auto central = model.clone();
    auto all = to_tensors(data.train);
    std::vector<double> curve;
    for (int epoch = 0; epoch < config.rounds * config.train.epochs; ++epoch) {
      auto cfg = config.train;
      cfg.epochs = 1;
      cfg.prox_mu = 0;
      cfg.seed =
          derive_seed(config.seed, kTrainPurpose, 1000000 + static_cast<std::uint64_t>(epoch));
      cfg.lr = config.train.lr * std::pow(config.lr_decay, epoch / config.train.epochs);
      CAIRN_TRY(train_local(central, all, cfg));
      curve.push_back(evaluate(central, test).accuracy);
    }
    result.centralised_curve = std::move(curve);
  }

  std::optional<crypto::PaillierKeyPair> keys;
  std::optional<crypto::PaillierEncryptor> encryptor;
  PackingParams packing;
  if (config.secure == SecureMode::paillier) {
    CAIRN_TRY_ASSIGN(keys,
                     crypto::paillier_generate(config.paillier_bits, config.insecure_test_key));
    encryptor.emplace(keys->public_key);
    packing = PackingParams::for_summands(config.clients, config.packing);
  }
  const std::size_t threshold =
      config.mask_threshold ? config.mask_threshold : config.clients / 2 + 1;

  std::vector<float> global = initial.values;
  ServerOptimizer server_optimizer(config.rule);
  Rng dropout_rng(derive_seed(config.seed, kDropoutPurpose));
  Rng noise_rng(derive_seed(config.seed, kNoisePurpose));
  auto worker = model.clone();
  auto train_config = config.train;
  if (config.rule.kind == AggregationRule::Kind::fedprox && train_config.prox_mu == 0)
    train_config.prox_mu = 0.01;
  const auto n_params = global.size();

  for (int round = 1; round <= config.rounds; ++round) {
    RoundRecord record;
    record.round = round;
    const auto base_version = static_cast<std::uint64_t>(round - 1);
    std::vector<Message> messages;
    std::vector<ClientUpdate> plain_updates;  // kept for plain-mode subset aggregation
    double train_loss_sum = 0;
    // Paillier's offline phase: this round's randomisers are made on a second thread while
    // the clients train; the thread stops when the last client has encrypted.
    std::atomic<bool> clients_done{false};
    std::thread precomputer;
    if (encryptor && config.paillier_precompute) {
      const auto needed =
          ciphertexts_needed(n_params + 1, packing, keys->public_key.bits) * config.clients;
      precomputer = std::thread([&, needed] {
        const auto begin = Clock::now();
        for (std::size_t made = 0; made < needed && !clients_done.load(); made += 8)
          encryptor->precompute(8);
        record.seconds.precompute = since(begin);
      });
    }
    // Stops and joins the thread on every way out of the client loop, errors included.
    struct StopPrecomputer {
      std::atomic<bool>& done;
      std::thread& thread;
      ~StopPrecomputer() {
        done = true;
        if (thread.joinable()) thread.join();
      }
    } stop_precomputer{clients_done, precomputer};
    // ---- clients: train, then send ----
    for (std::size_t k = 0; k < config.clients; ++k) {
      auto start = Clock::now();
      CAIRN_TRY(worker.set_values(global));
      auto cfg = train_config;
      cfg.seed =
          derive_seed(config.seed, kTrainPurpose, static_cast<std::uint64_t>(round) * 1000 + k);
      cfg.lr = train_config.lr * std::pow(config.lr_decay, round - 1);
      CAIRN_TRY_ASSIGN(const auto trained, train_local(worker, shards[k], cfg));
      auto local = worker.parameters(base_version);
      std::vector<float> delta(n_params);
      for (std::size_t i = 0; i < n_params; ++i)
        delta[i] = local.values[i] - global[i];
      record.seconds.train += since(start);
      if (k < config.malicious.count) poison(delta, config.malicious, noise_rng);
      const bool faulty = k + config.faulty.count >= config.clients;
      auto version_sent = base_version;
      if (faulty && config.faulty.kind == FaultySpec::Kind::nan)
        delta[delta.size() / 2] = std::nanf("");
      if (faulty && config.faulty.kind == FaultySpec::Kind::stale)
        version_sent = base_version + 1000;
      if (faulty && config.faulty.kind == FaultySpec::Kind::shape) {
        // A well-formed update of another layout: the last tensor one value shorter.
        auto& last = local.tensors.back();
        last.shape.back() -= 1;
        delta.pop_back();
      }
      // The dropout draw happens for every client, so the pattern depends only on the seed.
      bool drops = dropout_rng.uniform() < config.dropout;
      if (drops && config.secure != SecureMode::mask) {
        ++record.dropped;
        record.messages.push_back(fmt::format(
            "{} dropped out after training; the round goes on without it", result.clients[k]));
        continue;
      }
      train_loss_sum += trained.mean_loss;
      Message message;
      message.client = k;
      message.weight = static_cast<double>(parts[k].size());
      start = Clock::now();
      if (config.secure == SecureMode::none) {
        ParameterSet update{version_sent, local.tensors, std::move(delta)};
        message.blob = encode_parameters(update);
      } else {
        // Weighted by the client's share of all rows (public in the quality reports), with
        // the weight itself as a last value so the aggregate carries its own denominator.
        const double w = message.weight / total_rows;
        message.values.resize(delta.size() + 1);
        for (std::size_t i = 0; i < delta.size(); ++i)
          message.values[i] = w * delta[i];
        message.values.back() = w;
        if (config.secure == SecureMode::paillier) {
          auto encrypted = encrypt_vector(*encryptor, message.values, packing, version_sent);
          if (!encrypted) {
            // The client's own software refuses to encrypt what it cannot encode (NaN):
            // to the round this is a client that dropped out.
            ++record.dropped;
            record.messages.push_back(
                fmt::format("{} could not encrypt its update ({}); it drops out of the round",
                            result.clients[k], encrypted.error().message));
            record.seconds.encrypt += since(start);
            continue;
          }
          message.blob = encode_encrypted_vector(keys->public_key, *encrypted);
          message.values.clear();
        } else {
          for (double v : message.values) {
            if (!std::isfinite(v)) {
              drops = true;
              record.messages.push_back(fmt::format(
                  "{} cannot mask a non-finite update; it sends nothing", result.clients[k]));
              break;
            }
          }
          if (!drops && message.values.size() != n_params + 1) {
            drops = true;
            record.messages.push_back(fmt::format(
                "{} holds an update of {} values, the model has {}; its input is refused",
                result.clients[k], message.values.size() - 1, n_params));
            // It still shared its keys; the input it never sends only needs the common length.
            message.values.assign(n_params + 1, 0.0);
          }
          if (!drops && version_sent != base_version) {
            drops = true;
            record.messages.push_back(fmt::format(
                "{} trained on model version {}, the round is on {}; its input is refused",
                result.clients[k], version_sent, base_version));
          }
        }
      }
      if (faulty && config.faulty.kind == FaultySpec::Kind::truncated && !message.blob.empty()) {
        message.blob.resize(message.blob.size() * 2 / 3);
      }
      if (faulty && config.faulty.kind == FaultySpec::Kind::truncated &&
          config.secure == SecureMode::mask) {
        drops = true;
        record.messages.push_back(fmt::format(
            "{}'s masked input arrived cut short; it counts as dropped", result.clients[k]));
      }
      record.seconds.encrypt += since(start);
      if (drops) message.weight = -1;  // mask mode: shares keys, then sends nothing
      record.upload_bytes += message.blob.size();
      messages.push_back(std::move(message));
    }

    clients_done = true;
    if (precomputer.joinable()) precomputer.join();

    // ---- aggregator (and model provider): combine, decrypt the aggregate ----
    std::vector<float> combined;
    std::vector<std::size_t> accepted;  // client ids whose updates count
    std::map<std::size_t, EncryptedVector> encrypted_by_client;
    std::map<std::size_t, std::vector<double>> values_by_client;
    auto start = Clock::now();
    if (config.secure == SecureMode::none) {
      for (auto& m : messages) {
        auto decoded = decode_parameters(m.blob);
        Status status =
            decoded ? validate_update(ClientUpdate{result.clients[m.client], decoded->model_version,
                                                   decoded->values, m.weight},
                                      n_params, base_version)
                    : Status(std::unexpected(decoded.error()));
        if (status && !decoded->same_layout(initial))
          status = fail(Errc::rejected, "update has a different tensor layout");
        if (!status) {
          ++record.rejected;
          record.messages.push_back(fmt::format("rejected update from {}: {}",
                                                result.clients[m.client], status.error().message));
          continue;
        }
        plain_updates.push_back(ClientUpdate{result.clients[m.client], decoded->model_version,
                                             std::move(decoded->values), m.weight});
        accepted.push_back(m.client);
      }
      if (!plain_updates.empty()) {
        auto out = combine_updates(plain_updates, config.rule);
        if (out)
          combined = std::move(*out);
        else
          record.messages.push_back(fmt::format("aggregation failed: {}", out.error().message));
      }
      record.seconds.aggregate += since(start);
    } else if (config.secure == SecureMode::paillier) {
      for (auto& m : messages) {
        auto decoded = decode_encrypted_vector(m.blob);
        Status status = decoded ? check_encrypted_vector(keys->public_key, *decoded)
                                : Status(std::unexpected(decoded.error()));
        if (status && decoded->model_version != base_version) {
          status =
              fail(Errc::rejected, fmt::format("trained on model version {}, the round is on {}",
                                               decoded->model_version, base_version));
        }
        if (status && decoded->value_count != n_params + 1) {
          status =
              fail(Errc::rejected,
                   fmt::format("encrypted update holds {} values, the model has {} (+1 weight)",
                               decoded->value_count, n_params));
        }
        if (!status) {
          ++record.rejected;
          record.messages.push_back(fmt::format("rejected update from {}: {}",
                                                result.clients[m.client], status.error().message));
          continue;
        }
        encrypted_by_client.emplace(m.client, std::move(*decoded));
        accepted.push_back(m.client);
      }
      if (!accepted.empty()) {
        std::vector<const EncryptedVector*> all;
        for (auto& [_, v] : encrypted_by_client)
          all.push_back(&v);
        auto sum = sum_encrypted(keys->public_key, all);
        record.seconds.aggregate += since(start);
        if (!sum) {
          record.messages.push_back(fmt::format("aggregation failed: {}", sum.error().message));
        } else {
          start = Clock::now();
          auto values = decrypt_vector(keys->private_key, *sum);
          record.seconds.decrypt += since(start);
          if (!values) {
            record.messages.push_back(
                fmt::format("decrypting the aggregate failed: {}", values.error().message));
          } else {
            const double weight = (*values)[n_params];
            combined.resize(n_params);
            for (std::size_t i = 0; i < n_params; ++i)
              combined[i] = static_cast<float>((*values)[i] / weight);
          }
        }
      } else {
        record.seconds.aggregate += since(start);
      }
    } else {  // mask
      std::map<std::uint32_t, std::vector<double>> inputs;
      std::set<std::uint32_t> dropping;
      for (auto& m : messages) {
        inputs[static_cast<std::uint32_t>(m.client)] = m.values;
        if (m.weight < 0) {
          dropping.insert(static_cast<std::uint32_t>(m.client));
          ++record.dropped;
          record.messages.push_back(fmt::format(
              "{} dropped out after sharing its keys; its masks are removed by the others' shares",
              result.clients[m.client]));
        } else {
          accepted.push_back(m.client);
          values_by_client[m.client] = m.values;
        }
      }
      if (!accepted.empty()) {
        auto sum = mask_aggregate(inputs, std::min(threshold, inputs.size()), dropping);
        if (!sum) {
          record.messages.push_back(
              fmt::format("secure aggregation failed: {}", sum.error().message));
          accepted.clear();
        } else {
          const double weight = (*sum)[n_params];
          combined.resize(n_params);
          for (std::size_t i = 0; i < n_params; ++i)
            combined[i] = static_cast<float>((*sum)[i] / weight);
        }
      }
      // Masking is both the clients' and the server's work here; it counts as aggregation.
      record.seconds.aggregate += since(start);
    }
    record.participants = accepted.size();
    record.train_loss =
        accepted.empty() ? 0 : train_loss_sum / static_cast<double>(accepted.size());

    const auto previous = global;
    if (combined.empty()) {
      record.applied = false;
      record.messages.push_back("no usable updates this round; the global model is unchanged");
    } else {
      server_optimizer.apply(global, combined);
    }
    start = Clock::now();
    CAIRN_TRY(worker.set_values(global));
    const auto evaluation = evaluate(worker, test);
    record.accuracy = evaluation.accuracy;
    record.loss = evaluation.loss;
    record.seconds.evaluate += since(start);

    // ---- contributions, from aggregates of subsets ----
    const bool contribution_round =
        config.contributions && !combined.empty() && accepted.size() >= 2 &&
        (config.contribution_every > 0 ? round % config.contribution_every == 0
                                       : round == config.rounds);
    if (contribution_round) {
      start = Clock::now();
      std::vector<std::string> names;
      for (auto k : accepted)
        names.push_back(result.clients[k]);
      SubsetAggregator aggregator =
          [&](const std::vector<std::size_t>& members) -> Result<std::vector<float>> {
        std::vector<float> out(n_params);
        if (config.secure == SecureMode::none) {
          std::vector<ClientUpdate> subset;
          for (auto m : members)
            subset.push_back(plain_updates[m]);
          // The round's rule, or FedAvg where a robust rule cannot run on so few updates.
          auto combined_subset =
              combine_updates(subset, config.rule.robust() ? config.rule : AggregationRule{});
          if (!combined_subset) return weighted_average(subset);
          return combined_subset;
        }
        std::vector<double> sum;
        if (config.secure == SecureMode::paillier) {
          std::vector<const EncryptedVector*> subset;
          for (auto m : members)
            subset.push_back(&encrypted_by_client.at(accepted[m]));
          CAIRN_TRY_ASSIGN(auto encrypted_sum, sum_encrypted(keys->public_key, subset));
          CAIRN_TRY_ASSIGN(sum, decrypt_vector(keys->private_key, encrypted_sum));
        } else {
          std::map<std::uint32_t, std::vector<double>> inputs;
          for (auto m : members)
            inputs[static_cast<std::uint32_t>(accepted[m])] = values_by_client.at(accepted[m]);
          CAIRN_TRY_ASSIGN(sum, mask_aggregate(inputs, members.size() / 2 + 1));
        }
        for (std::size_t i = 0; i < n_params; ++i)
          out[i] = static_cast<float>(sum[i] / sum[n_params]);
        return out;
      };
      auto evaluator = model.clone();
      UtilityFunction utility = [&](const std::vector<float>& delta) -> Result<double> {
        std::vector<float> candidate = previous;
        if (!delta.empty()) {
          for (std::size_t i = 0; i < n_params; ++i)
            candidate[i] += delta[i];
        }
        CAIRN_TRY(evaluator.set_values(candidate));
        return evaluate(evaluator, contribution_test).accuracy;
      };
      auto contribution_config = config.contribution;
      // One seed for every round, so the published config replays each round's report.
      contribution_config.seed = derive_seed(config.seed, 0x434f4e54);
      if (config.secure != SecureMode::none)
        contribution_config.min_subset = std::max<std::size_t>(contribution_config.min_subset, 2);
      result.config.contribution = contribution_config;
      auto report = evaluate_contributions(static_cast<std::uint64_t>(round), names, aggregator,
                                           utility, contribution_config);
      if (!report) {
        record.messages.push_back(
            fmt::format("contribution evaluation failed: {}", report.error().message));
      } else {
        result.contributions.push_back(std::move(*report));
      }
      record.seconds.contribution += since(start);
    }
    result.seconds += record.seconds;
    if (on_round) on_round(record);
    result.rounds.push_back(std::move(record));
  }
  result.shapley_total.assign(config.clients, 0.0);
  result.loo_total.assign(config.clients, 0.0);
  for (const auto& c : result.contributions) {
    for (std::size_t i = 0; i < c.clients.size(); ++i) {
      const auto k = static_cast<std::size_t>(std::stoul(c.clients[i].substr(7)));
      result.shapley_total[k] += c.shapley[i];
      result.loo_total[k] += c.leave_one_out[i];
    }
  }
  result.final_accuracy = result.rounds.back().accuracy;
  result.final_parameters = initial;
  result.final_parameters.values = global;
  result.final_parameters.model_version = static_cast<std::uint64_t>(config.rounds);
  if (final_model) {
    CAIRN_TRY(worker.set_values(global));
    final_model->emplace(std::move(worker));
  }
  return result;
}

std::string curve_csv(const SimulationResult& result) {
  std::string out =
      "round,accuracy,loss,train_loss,participants,dropped,rejected,seconds_train,seconds_encrypt,"
      "seconds_aggregate,seconds_decrypt,seconds_evaluate,seconds_contribution,centralised_"
      "accuracy\n";
  for (const auto& r : result.rounds) {
    std::string central;
    if (result.centralised_curve && result.config.train.epochs > 0) {
      const auto index = static_cast<std::size_t>(r.round * result.config.train.epochs) - 1;
      if (index < result.centralised_curve->size())
        central = fmt::format("{:.6f}", (*result.centralised_curve)[index]);
    }
    out += fmt::format(
        "{},{:.6f},{:.6f},{:.6f},{},{},{},{:.3f},{:.3f},{:.3f},{:.3f},{:.3f},{:.3f},{}\n", r.round,
        r.accuracy, r.loss, r.train_loss, r.participants, r.dropped, r.rejected, r.seconds.train,
        r.seconds.encrypt, r.seconds.aggregate, r.seconds.decrypt, r.seconds.evaluate,
        r.seconds.contribution, central);
  }
  return out;
}

std::string curve_svg(const SimulationResult& result) {
  constexpr double kWidth = 640, kHeight = 400, kLeft = 60, kRight = 20, kTop = 30, kBottom = 50;
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  const auto rounds = static_cast<double>(std::max<std::size_t>(result.rounds.size(), 1));
  double low = 1.0;
  for (const auto& r : result.rounds)
    low = std::min(low, r.accuracy);
  if (result.centralised_curve) {
    for (double a : *result.centralised_curve)
      low = std::min(low, a);
  }
  low = std::floor(low * 10) / 10;
  const double high = 1.0;
  auto x_of = [&](double round) {
    return kLeft + plot_w * (rounds <= 1 ? 0.5 : (round - 1) / (rounds - 1));
  };
  auto y_of = [&](double acc) {
    return kTop + plot_h * (1 - (acc - low) / std::max(high - low, 1e-9));
  };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"18\" font-size=\"14\">Test accuracy by round ({}, {}, {}, {} "
      "clients)</text>\n",
      kWidth, kHeight, kLeft, result.config.model, result.config.partition.to_string(),
      result.config.rule.to_string(), result.config.clients);
  svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n",
                     kLeft, kTop, kTop + plot_h);
  svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n",
                     kLeft, kTop + plot_h, kLeft + plot_w);
  for (int i = 0; i <= 5; ++i) {
    const double acc = low + (high - low) * i / 5;
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.2f}</text>\n", kLeft - 6,
                       y_of(acc) + 4, acc);
    svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n",
                       kLeft, y_of(acc), kLeft + plot_w, y_of(acc));
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">round</text>\n",
                     kLeft + plot_w / 2, kHeight - 12);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">1</text>\n", x_of(1),
                     kTop + plot_h + 16);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x_of(rounds),
                     kTop + plot_h + 16, result.rounds.size());
  std::string points;
  for (const auto& r : result.rounds)
    points += fmt::format("{:.1f},{:.1f} ", x_of(r.round), y_of(r.accuracy));
  svg += fmt::format(
      "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{}\"/>\n", points);
  std::string legend = "<text x=\"{}\" y=\"{}\" fill=\"{}\">{}</text>\n";
  svg += fmt::format(fmt::runtime(legend), kLeft + 10, kTop + 16, "#1f77b4", "federated");
  if (result.centralised_curve && result.config.train.epochs > 0) {
    std::string central;
    for (const auto& r : result.rounds) {
      const auto index = static_cast<std::size_t>(r.round * result.config.train.epochs) - 1;
      if (index < result.centralised_curve->size()) {
        central +=
            fmt::format("{:.1f},{:.1f} ", x_of(r.round), y_of((*result.centralised_curve)[index]));
      }
    }
    svg += fmt::format(
        "<polyline fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"2\" stroke-dasharray=\"5,3\" "
        "points=\"{}\"/>\n",
        central);
    svg += fmt::format(fmt::runtime(legend), kLeft + 10, kTop + 32, "#ff7f0e",
                       "centralised (same sample budget)");
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace cairn::learn

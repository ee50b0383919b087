#include "market/model_provider.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "base/encoding.hpp"
#include "base/file.hpp"
#include "base/json.hpp"
#include "cairn/version.hpp"
#include "crypto/hash.hpp"
#include "crypto/paillier.hpp"
#include "learn/contribution.hpp"
#include "learn/dataset.hpp"
#include "learn/params.hpp"
#include "learn/rng.hpp"
#include "learn/secure_paillier.hpp"
#include "learn/torch/model.hpp"
#include "learn/torch/train.hpp"
#include "market/directory.hpp"
#include "market/passport.hpp"
#include "market/protocol.hpp"
#include "store/importer.hpp"
#include "store/repo.hpp"

namespace cairn::market {

using chain::abi::Value;
using nlohmann::json;
namespace fs = std::filesystem;

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

constexpr std::uint64_t kContributionPurpose = 0x434f4e54;  // "CONT"

struct ModelProviderConfig {
  std::string model = "logreg";
  std::uint64_t rounds = 5;
  std::uint64_t participants = 3;
  chain::U256 reward;
  fs::path test_images, test_labels;
  std::size_t test_rows = 1000;
  double lr = 0.05;
  int epochs = 1;
  int batch_size = 64;
  std::size_t paillier_bits = 2048;
  bool insecure_test_key = false;
  std::uint64_t round_timeout_s = 120;
  bool exclude_harmful = false;
  // A participant is harmful when the aggregate without it is this much more accurate (and
  // by more than three standard errors of the test-set accuracy).
  double harmful_margin = 0.02;
  fs::path out = "demo-out";
  chain::Address aggregator;
  // The task's terms (TrainingTask.Terms). floor_wei: nullopt until parsed, then a quarter
  // of an equal share unless configured.
  std::optional<chain::U256> floor;
  chain::U256 stake;
  std::vector<chain::Address> allowlist;         // empty: anyone may join
  std::optional<std::uint64_t> commit_window_s;  // default: half the round timeout
  std::uint64_t report_window_s = 3600;
  std::uint64_t challenge_window_s = 3600;
  // "honest", or "unfair-report" (the adversity tests: the report moves half of the largest
  // share above the floor to the smallest, within every check the contract makes).
  bool unfair_report = false;
  std::uint64_t seed = 1;
  // The built-in model standardises its input with the mean and standard deviation of the
  // test set's features; the spec carries them to the trainers (input_standardisation).
  // Off unless asked for: it makes the first steps larger (×1/std² for logistic
  // regression), and at the platform's lr 0.05 an honest logistic-regression update then
  // looked harmful to the leave-one-out check in tests/market's protocol test.
  bool standardise_input = false;
  fs::path binary = "/proc/self/exe";  // hashed into the passport
};

// Every mistake in the role's settings is found here, when the node starts, with the key's
// path: a misspelt key, a value of the wrong type or range, an unknown model, a test file
// that is missing or a directory. None of them waits to surface in a role step.
Result<ModelProviderConfig> parse_config(const json& config) {
  CAIRN_TRY_ASSIGN(JsonObject object, JsonObject::of(config, "roles.model_provider"));
  ModelProviderConfig out;
  if (auto model = object.optional("model")) {
    CAIRN_TRY_ASSIGN(out.model, model->string());
    if (!learn::Model::is_builtin(out.model)) {
      return std::unexpected(
          model->error(fmt::format("unknown model '{}' (the built-in models are {})", out.model,
                                   fmt::join(learn::Model::kBuiltinNames, ", "))));
    }
  }
  CAIRN_TRY_ASSIGN(auto rounds, object.optional_u64("rounds", 1, 255));
  if (rounds) out.rounds = *rounds;
  CAIRN_TRY_ASSIGN(auto participants, object.optional_u64("participants", 2, 1000));
  if (participants) out.participants = *participants;
  if (auto reward = object.optional("reward_wei")) {
    CAIRN_TRY_ASSIGN(auto text, reward->string());
    auto parsed = chain::U256::parse(text);
    if (!parsed) return std::unexpected(reward->error("must be a decimal amount of wei"));
    out.reward = *parsed;
  }
  CAIRN_TRY_ASSIGN(auto test_images, object.string("test_images"));
  CAIRN_TRY_ASSIGN(auto test_labels, object.string("test_labels"));
  out.test_images = test_images;
  out.test_labels = test_labels;
  CAIRN_TRY(file::require_regular_file(out.test_images, "roles.model_provider.test_images"));
  CAIRN_TRY(file::require_regular_file(out.test_labels, "roles.model_provider.test_labels"));
  CAIRN_TRY_ASSIGN(auto test_rows, object.optional_u64("test_rows", 1, 10'000'000));
  if (test_rows) out.test_rows = *test_rows;
  CAIRN_TRY_ASSIGN(auto lr, object.optional_number("lr"));
  if (lr) {
    if (*lr <= 0 || *lr > 10)
      return fail(Errc::parse, "roles.model_provider.lr: must be in (0, 10]");
    out.lr = *lr;
  }
  CAIRN_TRY_ASSIGN(auto epochs, object.optional_u64("epochs", 1, 1000));
  if (epochs) out.epochs = static_cast<int>(*epochs);
  CAIRN_TRY_ASSIGN(auto batch_size, object.optional_u64("batch_size", 1, 1 << 20));
  if (batch_size) out.batch_size = static_cast<int>(*batch_size);
  CAIRN_TRY_ASSIGN(auto paillier_bits, object.optional_u64("paillier_bits"));
  if (paillier_bits) out.paillier_bits = *paillier_bits;
  CAIRN_TRY_ASSIGN(auto insecure, object.optional_boolean("insecure_test_key"));
  out.insecure_test_key = insecure.value_or(false);
  CAIRN_TRY(with_context(crypto::check_paillier_bits(out.paillier_bits, out.insecure_test_key),
                         "roles.model_provider.paillier_bits"));
  CAIRN_TRY_ASSIGN(auto round_timeout, object.optional_u64("round_timeout_s", 1, 7 * 24 * 3600));
  if (round_timeout) out.round_timeout_s = *round_timeout;
  CAIRN_TRY_ASSIGN(auto exclude_harmful, object.optional_boolean("exclude_harmful"));
  if (exclude_harmful) out.exclude_harmful = *exclude_harmful;
  CAIRN_TRY_ASSIGN(auto margin, object.optional_number("harmful_margin"));
  if (margin) {
    if (*margin < 0 || *margin > 1) {
      return fail(Errc::parse, "roles.model_provider.harmful_margin: must be between 0 and 1");
    }
    out.harmful_margin = *margin;
  }
  CAIRN_TRY_ASSIGN(auto out_dir, object.optional_string("out"));
  if (out_dir) out.out = *out_dir;
  CAIRN_TRY_ASSIGN(auto seed, object.optional_u64("seed"));
  if (seed) out.seed = *seed;
  CAIRN_TRY_ASSIGN(auto standardise, object.optional_boolean("standardise_input"));
  if (standardise) out.standardise_input = *standardise;
  CAIRN_TRY_ASSIGN(auto binary, object.optional_string("binary"));
  if (binary) out.binary = *binary;
  CAIRN_TRY_ASSIGN(auto aggregator_node, object.required("aggregator"));
  CAIRN_TRY_ASSIGN(auto aggregator, aggregator_node.string());
  auto address = chain::Address::parse(aggregator);
  if (!address)
    return std::unexpected(aggregator_node.error("must be an address (0x and 40 hex digits)"));
  out.aggregator = *address;
  if (auto floor = object.optional("floor_wei")) {
    CAIRN_TRY_ASSIGN(out.floor, read_decimal_u256(*floor));
  }
  if (auto stake = object.optional("stake_wei")) {
    CAIRN_TRY_ASSIGN(out.stake, read_decimal_u256(*stake));
  }
  if (auto allowlist = object.optional("allowlist")) {
    CAIRN_TRY_ASSIGN(auto items, allowlist->array(100'000));
    if (items.empty()) return std::unexpected(allowlist->error("must name at least one address"));
    for (const auto& item : items) {
      CAIRN_TRY_ASSIGN(chain::Address who, read_address(item));
      out.allowlist.push_back(who);
    }
  }
  CAIRN_TRY_ASSIGN(out.commit_window_s, object.optional_u64("commit_window_s", 1, 7 * 24 * 3600));
  CAIRN_TRY_ASSIGN(auto report_window, object.optional_u64("report_window_s", 1, 30 * 24 * 3600));
  if (report_window) out.report_window_s = *report_window;
  CAIRN_TRY_ASSIGN(auto challenge_window,
                   object.optional_u64("challenge_window_s", 0, 30 * 24 * 3600));
  if (challenge_window) out.challenge_window_s = *challenge_window;
  if (auto behaviour = object.optional("behaviour")) {
    CAIRN_TRY_ASSIGN(std::string text, behaviour->string());
    if (text != "honest" && text != "unfair-report") {
      return std::unexpected(behaviour->error("must be \"honest\" or \"unfair-report\""));
    }
    out.unfair_report = text == "unfair-report";
  }
  CAIRN_TRY(object.close());
  // A round seals before the aggregator's timeout runs out, or nothing is ever revealed
  // in time to be summed.
  if (!out.commit_window_s)
    out.commit_window_s = std::max<std::uint64_t>(1, out.round_timeout_s / 2);
  if (*out.commit_window_s >= out.round_timeout_s) {
    return fail(Errc::parse, fmt::format("roles.model_provider.commit_window_s ({}) must be below "
                                         "round_timeout_s ({})",
                                         *out.commit_window_s, out.round_timeout_s));
  }
  chain::U256 equal_quarter = out.reward;
  equal_quarter.divmod_small(4 * out.participants);
  if (!out.floor) out.floor = equal_quarter;
  CAIRN_TRY_ASSIGN(chain::U256 floors, out.floor->checked_mul(out.participants));
  if (floors > out.reward) {
    return fail(Errc::parse,
                fmt::format("roles.model_provider.floor_wei: {} participants x {} wei is above "
                            "the reward ({} wei)",
                            out.participants, out.floor->to_decimal(), out.reward.to_decimal()));
  }
  return out;
}

// Writes `bytes` to `path` readable by the owner only, atomically.
Status write_private_file(const fs::path& path, ByteView bytes) {
  return file::write_atomic(path, bytes, {.mode = file::kSecret});
}

Result<Bytes> read_whole_file(const fs::path& path) {
  return file::read(path, file::kLargeFileCap);
}

Result<std::string> sha256_file_hex(const fs::path& path) {
  CAIRN_TRY_ASSIGN(Bytes bytes, read_whole_file(path));
  return to_hex(crypto::sha256(bytes));
}

// {"public": HEX, "private": HEX}: the task's Paillier key pair, kept by this node.
Result<std::pair<Bytes, Bytes>> read_paillier_key_file(ByteView bytes, const std::string& what) {
  CAIRN_TRY_ASSIGN(json document, parse_json(bytes, what));
  CAIRN_TRY_ASSIGN(JsonObject object, JsonObject::of(document, what));
  CAIRN_TRY_ASSIGN(JsonNode public_node, object.required("public"));
  CAIRN_TRY_ASSIGN(Bytes public_bytes, public_node.hex_bytes());
  CAIRN_TRY_ASSIGN(JsonNode private_node, object.required("private"));
  CAIRN_TRY_ASSIGN(Bytes private_bytes, private_node.hex_bytes());
  CAIRN_TRY(object.close());
  return std::pair(std::move(public_bytes), std::move(private_bytes));
}

class ModelProvider final : public Role {
 public:
  ModelProvider(NodeContext& context, ModelProviderConfig config)
      : context_(context), config_(std::move(config)) {}

  std::string_view kind() const override { return "model_provider"; }

  Result<bool> step() override {
    if (finished_) return false;
    if (!ready_) {
      CAIRN_TRY(prepare());
      ready_ = true;
      return true;
    }
    if (!task_) {
      CAIRN_TRY_ASSIGN(bool created, find_or_create_task());
      return created;
    }
    CAIRN_TRY_ASSIGN(TaskInfo task, read_task(context_, *task_));
    set_phase(task);
    if (task.state == TaskState::expired) {
      return fail(Errc::rejected,
                  fmt::format("task {} expired before its last round closed", task.id));
    }
    if (task.state == TaskState::defaulted && !finished_) {
      // The chain pays by the rule's default. With this node's report overturned by the
      // contributors, the model and its passport are still written (the passport shows the
      // overturned report); with no report at all there is nothing to write them from.
      CAIRN_TRY_ASSIGN(auto reported, contributions_reported(context_, task.id));
      if (!reported) {
        return fail(
            Errc::rejected,
            fmt::format("task {} pays the default payout: no report came in time", task.id));
      }
    }
    if (!task.started) {
      CAIRN_TRY_ASSIGN(auto joins, task_joins(context_, task.id));
      if (joins.size() < config_.participants) return false;
      CAIRN_TRY(send_once(task, "start", {Value(task.id)}));
      log(fmt::format("task {} started with {} participants", task.id, joins.size()));
      return true;
    }
    if (task.current_round < task.rounds) return run_round(task);
    return finish(task);
  }

  json status() const override {
    std::lock_guard lock(mutex_);
    return {{"kind", "model_provider"},
            {"task", task_ ? json(*task_) : json(nullptr)},
            {"phase", phase_},
            {"accuracy", accuracy_},
            {"finished", finished_}};
  }

  bool finished() const override { return finished_; }

 private:
  void log(const std::string& line) const {
    if (context_.log) context_.log(line);
  }
  void set_phase(const TaskInfo& task) {
    std::lock_guard lock(mutex_);
    if (!task.started) {
      phase_ = "waiting for participants";
    } else if (task.current_round < task.rounds) {
      phase_ = fmt::format("round {} of {}", task.current_round, task.rounds);
    } else {
      phase_ = "closing";
    }
  }

  // ---- preparation: keys, test set, model, spec ----

  Status prepare() {
    const fs::path dir = context_.state_dir / "model_provider";
    std::error_code ec;
    fs::create_directories(dir, ec);
    fs::permissions(dir, fs::perms::owner_all, ec);
    const fs::path key_file = dir / "paillier.json";
    if (fs::exists(key_file)) {
      CAIRN_TRY_ASSIGN(Bytes bytes, read_whole_file(key_file));
      CAIRN_TRY_ASSIGN(auto stored, read_paillier_key_file(bytes, key_file.string()));
      CAIRN_TRY_ASSIGN(auto public_key, crypto::decode_public_key(stored.first));
      CAIRN_TRY_ASSIGN(auto private_key, crypto::decode_private_key(stored.second));
      keys_.emplace(crypto::PaillierKeyPair{std::move(public_key), std::move(private_key)});
    } else {
      // Below 2048 bits only where a test asks for it (learn refuses small keys otherwise).
      CAIRN_TRY_ASSIGN(crypto::PaillierKeyPair generated,
                       crypto::paillier_generate(config_.paillier_bits, config_.insecure_test_key));
      const json stored = {{"public", to_hex(crypto::encode_public_key(generated.public_key))},
                           {"private", to_hex(crypto::encode_private_key(generated.private_key))}};
      CAIRN_TRY(write_private_file(key_file, as_bytes(stored.dump())));
      keys_.emplace(std::move(generated));
      log(fmt::format("Paillier key ({} bits) generated", config_.paillier_bits));
    }
    CAIRN_TRY_ASSIGN(Bytes images_bytes, learn::read_maybe_gzip(config_.test_images));
    CAIRN_TRY_ASSIGN(Bytes labels_bytes, learn::read_maybe_gzip(config_.test_labels));
    CAIRN_TRY_ASSIGN(learn::IdxArray images, learn::parse_idx(images_bytes));
    CAIRN_TRY_ASSIGN(learn::IdxArray labels, learn::parse_idx(labels_bytes));
    CAIRN_TRY_ASSIGN(learn::Dataset test, learn::dataset_from_idx(images, labels));
    test = test.head(config_.test_rows);
    input_.feature_shape = test.feature_shape;
    input_.num_classes = test.num_classes;
    if (config_.standardise_input) {
      const learn::FeatureMoments moments = learn::feature_moments(test.features);
      input_.input_mean = moments.mean;
      input_.input_std = moments.std;
    }
    test_ = learn::to_tensors(test);
    CAIRN_TRY_ASSIGN(learn::Model model,
                     learn::Model::builtin(config_.model, input_, config_.seed));
    model_.emplace(std::move(model));
    initial_ = model_->parameters(0);
    initial_accuracy_ = learn::evaluate(*model_, test_).accuracy;
    CAIRN_TRY_ASSIGN(initial_cid_,
                     put_artifact(context_, learn::encode_parameters(initial_), "model v0"));
    packing_ = learn::PackingParams::for_summands(config_.participants);
    Bytes test_digest_input = images_bytes;
    append(test_digest_input, labels_bytes);
    const std::vector<std::int64_t> features = input_.feature_shape;
    spec_ = {
        {"type", kTaskSpecType},
        {"model", config_.model},
        {"initial_parameters", initial_cid_.to_string()},
        {"rounds", config_.rounds},
        {"participants", config_.participants},
        {"aggregation", "fedavg"},
        {"privacy", "paillier"},
        {"paillier_public_key", to_hex(crypto::encode_public_key(keys_->public_key))},
        {"packing",
         {{"frac_bits", packing_.frac_bits},
          {"value_bits", packing_.value_bits},
          {"headroom_bits", packing_.headroom_bits}}},
        {"schema", {{"format", "idx"}, {"features", features}, {"classes", input_.num_classes}}},
        {"test_set",
         {{"rows", test.rows()}, {"sha256", to_hex(crypto::sha256(test_digest_input))}}},
        {"training",
         {{"epochs", config_.epochs},
          {"lr", config_.lr},
          {"batch_size", config_.batch_size},
          {"seed", config_.seed}}},
        {"reward_wei", config_.reward.to_decimal()},
        {"reward_rule", kRewardRule},
        {"round_timeout_s", config_.round_timeout_s},
        {"exclude_harmful", config_.exclude_harmful}};
    if (!config_.allowlist.empty()) {
      json admitted = json::array();
      for (const auto& who : config_.allowlist)
        admitted.push_back(who.to_checksum());
      spec_["admission"] = {{"allowlist", std::move(admitted)}};
    }
    if (config_.standardise_input) {
      spec_["input_standardisation"] = {{"mean", input_.input_mean}, {"std", input_.input_std}};
    }
    CAIRN_TRY_ASSIGN(spec_cid_, put_artifact(context_, canonical_json_bytes(spec_), "task spec"));
    CAIRN_TRY(announce_endpoint(context_));
    return {};
  }

  // ---- the task on chain ----

  Result<bool> find_or_create_task() {
    CAIRN_TRY_ASSIGN(ByteArray<32> spec_digest, cid_commitment(spec_cid_));
    CAIRN_TRY_ASSIGN(auto tasks, all_tasks(context_));
    for (const auto& task : tasks) {
      if (task.owner == context_.signer.address && task.spec == spec_digest) {
        task_ = task.id;
        log(fmt::format("task {} found on chain (spec {})", task.id, spec_cid_.to_string()));
        return true;
      }
    }
    CAIRN_TRY_ASSIGN(chain::Contract contract, training_task_contract(context_));
    CAIRN_TRY_ASSIGN(chain::BlockHeader head, context_.sender->rpc().block(std::nullopt));
    CAIRN_TRY_ASSIGN(
        auto tx, contract.transact(context_.signer, "createTask",
                                   {Value(spec_digest), Value::text(spec_cid_.to_string()),
                                    Value(config_.rounds), Value(config_.participants),
                                    Value(config_.participants), Value(head.timestamp + 7 * 86400),
                                    Value(config_.aggregator), terms().to_abi()},
                                   config_.reward));
    CAIRN_TRY_ASSIGN(auto event, contract.event_in(tx.receipt, "TaskCreated"));
    CAIRN_TRY_ASSIGN(chain::U256 id, event.at(0).as_uint());
    if (!id.fits_u64()) return fail(Errc::parse, "TaskCreated: a task id beyond 64 bits");
    task_ = id.low64();
    log(fmt::format("task {} published: spec {}, {} wei escrowed, aggregator {}", *task_,
                    spec_cid_.to_string(), config_.reward.to_decimal(),
                    config_.aggregator.to_checksum()));
    return true;
  }

  TaskTerms terms() const {
    TaskTerms out;
    out.rule = reward_rule_id();
    out.floor = *config_.floor;
    out.stake = config_.stake;
    out.allowlist = allowlist_root(config_.allowlist);
    out.commit_window_s = *config_.commit_window_s;
    out.report_window_s = config_.report_window_s;
    out.challenge_window_s = config_.challenge_window_s;
    return out;
  }

  // Sends `function` unless the chain already shows its effect (the caller checked).
  Status send_once(const TaskInfo&, std::string_view function, const chain::abi::ValueList& args) {
    CAIRN_TRY_ASSIGN(chain::Contract contract, training_task_contract(context_));
    CAIRN_TRY(contract.transact(context_.signer, function, args));
    return {};
  }

  // The round record of a closed round (from this node's store; the CID from RoundClosed).
  Result<json> round_record(std::uint64_t task_id, std::uint64_t round) {
    if (auto cached = records_.find(round); cached != records_.end()) return cached->second;
    CAIRN_TRY_ASSIGN(auto closed, round_closed(context_, task_id, round));
    if (!closed || !closed->cid) {
      return fail(Errc::not_found,
                  fmt::format("round {} of task {} is not closed", round, task_id));
    }
    CAIRN_TRY_ASSIGN(Bytes bytes,
                     fetch_artifact(context_, context_.signer.address, *closed->cid, kDocumentCap));
    CAIRN_TRY_ASSIGN(json record, parse_round_record(bytes));
    records_[round] = record;
    return record;
  }

  Result<learn::ParameterSet> global_for(std::uint64_t task_id, std::uint64_t round,
                                         store::Cid& cid) {
    if (round == 0) {
      cid = initial_cid_;
      return initial_;
    }
    CAIRN_TRY_ASSIGN(json previous, round_record(task_id, round - 1));
    CAIRN_TRY_ASSIGN(cid, store::Cid::parse(previous.at("result_model").get<std::string>()));
    CAIRN_TRY_ASSIGN(Bytes bytes, read_artifact(context_, cid, kModelCap));
    return learn::decode_parameters(bytes);
  }

  Result<std::vector<double>> decrypt(const learn::EncryptedVector& sum) {
    return learn::decrypt_vector(keys_->private_key, sum);
  }

  Result<learn::EncryptedVector> sum_of(const std::vector<const learn::EncryptedVector*>& parts) {
    return learn::sum_encrypted(keys_->public_key, parts);
  }

  // The model delta an aggregate stands for: its weighted sum over its weight.
  Result<std::vector<float>> delta_of(const learn::EncryptedVector& sum, std::size_t n_params) {
    CAIRN_TRY_ASSIGN(std::vector<double> values, decrypt(sum));
    if (values.size() != n_params + 1 || !(values[n_params] > 0)) {
      return fail(Errc::integrity, "the decrypted aggregate has the wrong shape or no weight");
    }
    std::vector<float> delta(n_params);
    for (std::size_t i = 0; i < n_params; ++i)
      delta[i] = static_cast<float>(values[i] / values[n_params]);
    return delta;
  }

  // ---- a round ----

  Result<bool> run_round(const TaskInfo& task) {
    const std::uint64_t round = task.current_round;
    CAIRN_TRY_ASSIGN(auto posted, aggregate_posted(context_, task.id, round));
    if (!posted) return false;  // the aggregator has not posted yet
    // A round closes only once it reveals and its seals had the time to be revealed
    // (TrainingTask refuses it before).
    if (!task.closable(unix_time_s())) return false;
    store::Cid global_cid;
    CAIRN_TRY_ASSIGN(learn::ParameterSet global, global_for(task.id, round, global_cid));
    const std::size_t n_params = global.values.size();

    // Every committed update, checked as the aggregator must have checked it.
    CAIRN_TRY_ASSIGN(auto all_updates, task_updates(context_, task.id));
    std::vector<std::string> earlier;
    for (const auto& commit : all_updates) {
      if (commit.round < round) earlier.push_back(commit.cid_text);
    }
    struct Included {
      chain::Address participant;
      std::string cid;
      learn::EncryptedVector update;
    };
    std::vector<Included> included;
    json excluded = json::array();
    std::vector<store::Cid> to_seal;
    std::set<std::string> sealed_cids;
    auto seal_later = [&](const store::Cid& cid) {
      if (sealed_cids.insert(cid.to_string()).second) to_seal.push_back(cid);
    };
    std::set<chain::Address> committed;
    for (const auto& commit : all_updates) {
      if (commit.round != round) continue;
      if (commit.block > posted->block) {
        // Committed after the aggregator posted: not the aggregator's to include.
        excluded.push_back({{"participant", commit.participant.to_checksum()},
                            {"cid", commit.cid ? json(commit.cid_text) : json(nullptr)},
                            {"reason", "committed after the aggregate was posted"}});
        committed.insert(commit.participant);
        continue;
      }
      committed.insert(commit.participant);
      UpdateVerdict verdict = check_update(context_, commit, keys_->public_key, packing_,
                                           n_params + 1, round, earlier, &task.aggregator);
      earlier.push_back(commit.cid_text);
      // Sealed whether or not it could be fetched: the seal is over the CID's digest, which
      // is what the chain holds.
      if (commit.cid) seal_later(*commit.cid);
      if (!verdict.update) {
        excluded.push_back({{"participant", commit.participant.to_checksum()},
                            {"cid", commit.cid ? json(commit.cid_text) : json(nullptr)},
                            {"reason", verdict.reason}});
        continue;
      }
      included.push_back({commit.participant, commit.cid_text, std::move(*verdict.update)});
    }
    CAIRN_TRY_ASSIGN(auto joins, task_joins(context_, task.id));
    for (const auto& join : joins) {
      if (committed.count(join.participant) == 0) {
        excluded.push_back({{"participant", join.participant.to_checksum()},
                            {"cid", nullptr},
                            {"reason", "no update committed before the round timed out"}});
      }
    }

    // The aggregator's manifest against this node's own view.
    bool accepted = true;
    std::string reason;
    std::optional<store::Cid> posted_sum;
    std::optional<learn::EncryptedVector> own_sum;
    if (!included.empty()) {
      std::vector<const learn::EncryptedVector*> parts;
      for (const auto& item : included)
        parts.push_back(&item.update);
      CAIRN_TRY_ASSIGN(own_sum, sum_of(parts));
    }
    if (!posted->cid) {
      accepted = false;
      reason = "the posted manifest CID does not parse";
    } else if (auto commitment = cid_commitment(*posted->cid);
               !commitment || *commitment != posted->commitment) {
      accepted = false;
      reason = "the manifest CID in AggregatePosted is not the committed digest";
    } else {
      auto manifest_bytes = fetch_artifact(context_, task.aggregator, *posted->cid, kDocumentCap);
      if (!manifest_bytes) {
        accepted = false;
        reason = "the manifest is unavailable: " + manifest_bytes.error().message;
      } else {
        seal_later(*posted->cid);
        auto checked = check_manifest(task, round, *manifest_bytes, included, own_sum, posted_sum);
        if (!checked) {
          accepted = false;
          reason = checked.error().message;
        }
      }
    }
    if (!accepted) {
      log(fmt::format("task {} round {}: the aggregator's aggregate is refused: {}", task.id, round,
                      reason));
      if (context_.metrics) context_.metrics->add("aggregates_refused_total");
    }

    // Leave-one-out from aggregates of at least two updates: a clearly harmful update is
    // left out of the sum that is used.
    learn::Model evaluator = model_->clone();
    auto utility = [&](const std::vector<float>& delta) -> Result<double> {
      std::vector<float> candidate = global.values;
      for (std::size_t i = 0; i < delta.size() && i < n_params; ++i)
        candidate[i] += delta[i];
      CAIRN_TRY(evaluator.set_values(candidate));
      return learn::evaluate(evaluator, test_).accuracy;
    };
    CAIRN_TRY_ASSIGN(const double start_accuracy, utility({}));
    if (config_.exclude_harmful && included.size() >= 3 && own_sum) {
      CAIRN_TRY_ASSIGN(std::vector<float> full_delta, delta_of(*own_sum, n_params));
      CAIRN_TRY_ASSIGN(double full, utility(full_delta));
      // Accuracy on n test rows is an estimate with standard error sqrt(p(1-p)/n); a gain
      // inside three of those is noise (on a small test set an honest non-IID update can
      // look harmful by chance), so the margin is never below that.
      const double rows = std::max<double>(1.0, static_cast<double>(test_.rows()));
      const double margin =
          std::max(config_.harmful_margin, 3.0 * std::sqrt(full * (1.0 - full) / rows));
      std::vector<std::pair<double, std::size_t>> harmful;  // (gain without it, position)
      for (std::size_t k = 0; k < included.size(); ++k) {
        std::vector<const learn::EncryptedVector*> others;
        for (std::size_t j = 0; j < included.size(); ++j) {
          if (j != k) others.push_back(&included[j].update);
        }
        CAIRN_TRY_ASSIGN(learn::EncryptedVector without, sum_of(others));
        CAIRN_TRY_ASSIGN(std::vector<float> delta, delta_of(without, n_params));
        CAIRN_TRY_ASSIGN(double accuracy, utility(delta));
        if (accuracy - full > margin) harmful.emplace_back(accuracy - full, k);
      }
      std::sort(harmful.rbegin(), harmful.rend());
      std::set<std::size_t> drop;
      for (const auto& [gain, k] : harmful) {
        if (included.size() - drop.size() <= 2) break;  // never fewer than two in a sum
        drop.insert(k);
        excluded.push_back(
            {{"participant", included[k].participant.to_checksum()},
             {"cid", included[k].cid},
             {"reason", fmt::format("harmful: leave-one-out, test accuracy {:.4f} without it, "
                                    "{:.4f} with it",
                                    full + gain, full)}});
        log(fmt::format("task {} round {}: {}'s update is harmful (+{:.4f} without it); excluded",
                        task.id, round, included[k].participant.to_checksum(), gain));
      }
      if (!drop.empty()) {
        std::vector<Included> kept;
        for (std::size_t k = 0; k < included.size(); ++k) {
          if (drop.count(k) == 0) kept.push_back(std::move(included[k]));
        }
        included = std::move(kept);
        std::vector<const learn::EncryptedVector*> parts;
        for (const auto& item : included)
          parts.push_back(&item.update);
        CAIRN_TRY_ASSIGN(own_sum, sum_of(parts));
      }
    }

    // The sum used: the posted one when it was right and nothing more was excluded, else
    // this node's own.
    std::optional<store::Cid> used;
    if (own_sum) {
      const Bytes own_bytes = learn::encode_encrypted_vector(keys_->public_key, *own_sum);
      CAIRN_TRY_ASSIGN(store::Cid own_cid, unixfs_cid(own_bytes));
      if (posted_sum && *posted_sum == own_cid) {
        used = own_cid;
      } else {
        CAIRN_TRY_ASSIGN(used, put_artifact(context_, own_bytes,
                                            fmt::format("task {} round {} sum", task.id, round)));
      }
      seal_later(*used);
    }

    learn::ParameterSet next = global;
    next.model_version = round + 1;
    json contributions = nullptr;
    learn::ContributionConfig contribution_config;
    contribution_config.seed = learn::derive_seed(config_.seed, kContributionPurpose);
    contribution_config.min_subset = 2;
    if (own_sum) {
      CAIRN_TRY_ASSIGN(std::vector<float> delta, delta_of(*own_sum, n_params));
      for (std::size_t i = 0; i < n_params; ++i)
        next.values[i] += delta[i];
      if (included.size() >= 2) {
        std::vector<std::string> names;
        for (const auto& item : included)
          names.push_back(item.participant.to_checksum());
        learn::SubsetAggregator subset_aggregate =
            [&](const std::vector<std::size_t>& members) -> Result<std::vector<float>> {
          std::vector<const learn::EncryptedVector*> subset;
          for (auto m : members)
            subset.push_back(&included.at(m).update);
          CAIRN_TRY_ASSIGN(auto encrypted, sum_of(subset));
          return delta_of(encrypted, n_params);
        };
        learn::UtilityFunction utility_function = [&](const std::vector<float>& d) {
          return utility(d);
        };
        CAIRN_TRY_ASSIGN(learn::RoundContribution contribution,
                         learn::evaluate_contributions(round, names, subset_aggregate,
                                                       utility_function, contribution_config));
        contributions = contribution.to_json();
      }
    }
    CAIRN_TRY(model_->set_parameters(next));
    const double accuracy = learn::evaluate(*model_, test_).accuracy;
    CAIRN_TRY_ASSIGN(store::Cid result_cid,
                     put_artifact(context_, learn::encode_parameters(next),
                                  fmt::format("task {} model v{}", task.id, round + 1)));
    seal_later(result_cid);
    if (round == 0) {
      // The datasets the task was trained on, as the participants joined with them.
      for (const auto& join : joins) {
        if (join.manifest_cid.valid()) seal_later(join.manifest_cid);
      }
    }
    if (context_.should_stop()) return fail(Errc::unavailable, "stopping");
    CAIRN_TRY_ASSIGN(SealedBatch sealed,
                     seal_cids(context_, to_seal, fmt::format("task-{}", task.id)));
    json signatures = json::object();
    for (std::size_t i = 0; i < to_seal.size(); ++i)
      signatures[to_seal[i].to_string()] = to_hex(sealed.signatures[i]);
    json included_json = json::array();
    for (const auto& item : included)
      included_json.push_back({{"participant", item.participant.to_checksum()}, {"cid", item.cid}});
    json record = {{"type", kRoundRecordType},
                   {"task", task.id},
                   {"round", round},
                   {"global_model", global_cid.to_string()},
                   {"start_accuracy", start_accuracy},
                   {"aggregate",
                    {{"posted", posted->cid ? json(posted->cid_text) : json(nullptr)},
                     {"posted_sum", posted_sum ? json(posted_sum->to_string()) : json(nullptr)},
                     {"used", used ? json(used->to_string()) : json(nullptr)},
                     {"accepted", accepted},
                     {"reason", reason}}},
                   {"included", included_json},
                   {"excluded", excluded},
                   {"result_model", result_cid.to_string()},
                   {"accuracy", accuracy},
                   {"contributions", contributions},
                   {"contribution_config", contribution_config.to_json()},
                   {"signatures", signatures},
                   {"anchor", anchor_to_json(sealed.anchor)}};
    CAIRN_TRY_ASSIGN(store::Cid record_cid,
                     put_artifact(context_, canonical_json_bytes(record),
                                  fmt::format("task {} round {} record", task.id, round)));
    CAIRN_TRY_ASSIGN(ByteArray<32> record_commitment, cid_commitment(record_cid));
    CAIRN_TRY_ASSIGN(chain::Contract contract, training_task_contract(context_));
    CAIRN_TRY_ASSIGN(auto on_chain, contract.call("roundRecords", {Value(task.id), Value(round)}));
    CAIRN_TRY_ASSIGN(ByteArray<32> existing, on_chain.at(0).as_bytes32());
    if (existing != ByteArray<32>{}) return true;  // closed meanwhile (cannot happen twice)
    // The revealed updates the record leaves out are named on chain too: they earn no
    // share of the pool (a participant not revealed has nothing to leave out).
    chain::abi::ValueList left_out;
    std::set<chain::Address> named;
    for (const auto& entry : excluded) {
      auto who = chain::Address::parse(entry.at("participant").get<std::string>());
      if (who && committed.count(*who) > 0 && named.insert(*who).second)
        left_out.push_back(Value(*who));
    }
    CAIRN_TRY(contract.transact(context_.signer, "closeRound",
                                {Value(task.id), Value(round), Value(record_commitment),
                                 Value::text(record_cid.to_string()), Value(std::move(left_out))}));
    records_[round] = record;
    {
      std::lock_guard lock(mutex_);
      accuracy_.push_back(accuracy);
    }
    if (context_.metrics) {
      context_.metrics->add("rounds_closed_total");
      context_.metrics->set("model_accuracy", accuracy);
    }
    log(fmt::format(
        "task {} round {}: {} included, {} excluded, aggregate {}; test accuracy {:.4f}", task.id,
        round, included.size(), excluded.size(), accepted ? "accepted" : "replaced", accuracy));
    return true;
  }

  // The posted manifest must name exactly the updates that pass the checks, and its sum
  // must be their homomorphic sum.
  template <typename IncludedList>
  Status check_manifest(const TaskInfo& task, std::uint64_t round, const Bytes& bytes,
                        const IncludedList& included,
                        const std::optional<learn::EncryptedVector>& own_sum,
                        std::optional<store::Cid>& posted_sum) {
    CAIRN_TRY_ASSIGN(json manifest, parse_aggregate_manifest(bytes));
    if (manifest["task"].get<std::uint64_t>() != task.id ||
        manifest["round"].get<std::uint64_t>() != round) {
      return fail(Errc::integrity, "the manifest is not an aggregate of this task's round");
    }
    std::set<std::pair<std::string, std::string>> named, expected;
    for (const auto& item : manifest["included"]) {
      CAIRN_TRY_ASSIGN(chain::Address participant,
                       chain::Address::parse(item["participant"].get<std::string>()));
      named.emplace(participant.to_checksum(), item["cid"].get<std::string>());
    }
    for (const auto& item : included)
      expected.emplace(item.participant.to_checksum(), item.cid);
    if (named != expected) {
      return fail(Errc::integrity,
                  fmt::format("the manifest includes {} update(s), {} pass the checks",
                              named.size(), expected.size()));
    }
    if (!own_sum) {
      if (!manifest["sum"].is_null()) return fail(Errc::integrity, "a sum of no updates");
      return {};
    }
    if (!manifest["sum"].is_string()) return fail(Errc::integrity, "the manifest has no sum");
    CAIRN_TRY_ASSIGN(store::Cid sum_cid, store::Cid::parse(manifest["sum"].get<std::string>()));
    posted_sum = sum_cid;
    CAIRN_TRY_ASSIGN(Bytes sum_bytes,
                     fetch_artifact(context_, task.aggregator, sum_cid,
                                    learn::encrypted_vector_bytes(keys_->public_key,
                                                                  own_sum->value_count, packing_)));
    if (!equal(sum_bytes, learn::encode_encrypted_vector(keys_->public_key, *own_sum))) {
      return fail(Errc::integrity,
                  "the posted sum is not the homomorphic sum of the included committed updates");
    }
    return {};
  }

  // ---- the end: contributions, rewards, model, passport ----

  Result<bool> finish(const TaskInfo& task) {
    CAIRN_TRY_ASSIGN(auto joins, task_joins(context_, task.id));
    CAIRN_TRY_ASSIGN(auto reported, contributions_reported(context_, task.id));
    std::vector<json> records;
    for (std::uint64_t round = 0; round < task.rounds; ++round) {
      CAIRN_TRY_ASSIGN(json record, round_record(task.id, round));
      records.push_back(std::move(record));
    }
    {
      std::lock_guard lock(mutex_);
      accuracy_.clear();
      for (const auto& record : records)
        accuracy_.push_back(record.at("accuracy").get<double>());
    }
    if (!reported) {
      CAIRN_TRY(report_contributions(task, joins, records));
      return true;
    }
    if (!reported->cid)
      return fail(Errc::integrity, "the reported contribution CID does not parse");
    CAIRN_TRY_ASSIGN(Bytes report_bytes, read_artifact(context_, *reported->cid, kDocumentCap));
    CAIRN_TRY_ASSIGN(json report, parse_contribution_report(report_bytes));
    CAIRN_TRY(write_outputs(task, joins, records, report, *reported));
    finished_ = true;
    {
      std::lock_guard lock(mutex_);
      phase_ = "finished";
    }
    return true;
  }

  // The report of kRewardRule (reward_amounts), as TrainingTask enforces it: every
  // contributor (a participant with an accepted update on chain), in ascending address
  // order, each at least the floor, summing to the pool.
  Status report_contributions(const TaskInfo& task, const std::vector<JoinInfo>& joins,
                              const std::vector<json>& records) {
    std::map<std::string, double> loo;
    json rounds = json::array();
    for (const auto& record : records) {
      const json& contribution = record.at("contributions");
      rounds.push_back({{"round", record.at("round")}, {"contributions", contribution}});
      if (contribution.is_null()) continue;
      const auto& clients = contribution.at("clients");
      for (std::size_t k = 0; k < clients.size(); ++k)
        loo[clients[k].get<std::string>()] += contribution.at("leave_one_out").at(k).get<double>();
    }
    CAIRN_TRY_ASSIGN(auto shapley, shapley_totals(rounds));
    CAIRN_TRY_ASSIGN(chain::Contract contract, training_task_contract(context_));
    std::set<chain::Address> contributor_set;
    for (const auto& join : joins) {
      CAIRN_TRY_ASSIGN(auto member,
                       contract.call("participants", {Value(task.id), Value(join.participant)}));
      CAIRN_TRY_ASSIGN(std::uint64_t accepted, member.at(3).as_u64());
      if (accepted > 0) contributor_set.insert(join.participant);
    }
    const std::vector<chain::Address> contributors(contributor_set.begin(), contributor_set.end());
    CAIRN_TRY_ASSIGN(auto pool_value, contract.call("pool", {Value(task.id)}));
    CAIRN_TRY_ASSIGN(chain::U256 pool, pool_value.at(0).as_uint());
    const chain::U256 floor = task.terms.floor;
    CAIRN_TRY_ASSIGN(auto amounts, reward_amounts(contributors, shapley, pool, floor));
    if (config_.unfair_report && amounts.size() >= 2) {
      const auto largest = std::max_element(amounts.begin(), amounts.end());
      auto smallest = std::min_element(amounts.begin(), amounts.end());
      if (smallest == largest)
        smallest = largest == amounts.begin() ? largest + 1 : amounts.begin();
      chain::U256 moved = largest->checked_sub(floor).value_or(chain::U256{});
      moved.divmod_small(2);
      *largest = largest->checked_sub(moved).value_or(*largest);
      *smallest = smallest->checked_add(moved).value_or(*smallest);
      log(fmt::format("task {}: the report moves {} wei off the rule (behaviour)", task.id,
                      moved.to_decimal()));
    }
    json rewards = json::array();
    chain::abi::ValueList who_list, amount_list;
    std::size_t k = 0;
    for (const auto& who : contributors) {
      const std::string name = who.to_checksum();
      who_list.push_back(Value(who));
      amount_list.push_back(Value(amounts[k]));
      rewards.push_back({{"participant", name},
                         {"amount_wei", amounts[k].to_decimal()},
                         {"shapley_total", shapley[name]},
                         {"leave_one_out_total", loo[name]}});
      ++k;
    }
    json report = {
        {"type", kContributionsType},
        {"task_id", task.id},
        {"method",
         "GTG-Shapley and leave-one-out on decrypted aggregates of subsets (at least "
         "two updates) of each round's included updates, utility = test accuracy"},
        {"config", records.empty() ? json(nullptr) : records.front().at("contribution_config")},
        {"rounds", std::move(rounds)},
        {"rewards", std::move(rewards)},
        {"reward_rule", kRewardRule},
        {"pool_wei", pool.to_decimal()},
        {"floor_wei", floor.to_decimal()}};
    CAIRN_TRY_ASSIGN(store::Cid report_cid,
                     put_artifact(context_, canonical_json_bytes(report), "contributions"));
    CAIRN_TRY_ASSIGN(ByteArray<32> digest, cid_commitment(report_cid));
    CAIRN_TRY(contract.transact(context_.signer, "reportContributions",
                                {Value(task.id), Value(digest), Value::text(report_cid.to_string()),
                                 Value(std::move(who_list)), Value(std::move(amount_list))}));
    log(fmt::format("task {}: contributions reported ({}): {} contributors share {} wei", task.id,
                    report_cid.to_string(), contributors.size(), pool.to_decimal()));
    return {};
  }

  static ByteArray<32> hash_from_hex(const std::string& text) {
    ByteArray<32> out{};
    if (auto bytes = from_hex(text.substr(2)); bytes && bytes->size() == 32) {
      std::copy(bytes->begin(), bytes->end(), out.begin());
    }
    return out;
  }

  static Result<SealedArtifact> sealed_from(const json& record, const std::string& cid_text) {
    SealedArtifact artifact;
    CAIRN_TRY_ASSIGN(artifact.cid, store::Cid::parse(cid_text));
    const auto& signatures = record.at("signatures");
    if (!signatures.contains(cid_text)) {
      return fail(Errc::not_found,
                  fmt::format("round {} sealed no {}", record.at("round").dump(), cid_text));
    }
    auto bytes = from_hex(signatures.at(cid_text).get<std::string>());
    if (!bytes) return fail(Errc::parse, "a round record's signature is not hex");
    artifact.signature = std::move(*bytes);
    return artifact;
  }

  Status write_outputs(const TaskInfo& task, const std::vector<JoinInfo>& joins,
                       const std::vector<json>& records, const json& report,
                       const CommitInfo& reported) {
    const fs::path out = config_.out;
    fs::create_directories(out);
    const fs::path passport_path = out / "passport.json";
    const fs::path model_path = out / "model.pt";
    CAIRN_TRY_ASSIGN(store::Cid final_cid,
                     store::Cid::parse(records.back().at("result_model").get<std::string>()));
    CAIRN_TRY_ASSIGN(Bytes final_bytes, read_artifact(context_, final_cid, kModelCap));
    CAIRN_TRY_ASSIGN(learn::ParameterSet final_params, learn::decode_parameters(final_bytes));
    CAIRN_TRY(model_->set_parameters(final_params));
    std::vector<double> accuracy;
    for (const auto& record : records)
      accuracy.push_back(record.at("accuracy").get<double>());
    CAIRN_TRY(file::write_atomic(out / "accuracy.svg", accuracy_svg(initial_accuracy_, accuracy)));
    // A passport written before a restart stands when it is this task's and its model is there.
    if (fs::exists(passport_path) && fs::exists(model_path)) {
      auto bytes = read_whole_file(passport_path);
      if (bytes) {
        auto existing = parse_passport(*bytes);
        if (existing && existing->body.task.task_id == task.id &&
            existing->body.task.training_task == context_.deployment.training_task) {
          return register_model(*existing, *bytes);
        }
      }
    }
    CAIRN_TRY(model_->save_torchscript(model_path));
    CAIRN_TRY(model_->save_state_dict(out / "model.state_dict.pt"));
    CAIRN_TRY_ASSIGN(store::ImportedFile model_file,
                     store::import_file(model_path, context_.repo->blocks()));
    CAIRN_TRY(context_.repo->blocks().pin(model_file.cid, "model.pt"));

    PassportBody body;
    CAIRN_TRY(fill_task_and_participants(task, joins, body));
    CAIRN_TRY(fill_datasets(joins, records.front(), body));
    CAIRN_TRY(fill_rounds(task, records, body));
    body.evaluation.report = report;
    body.evaluation.sealed.cid = *reported.cid;
    body.evaluation.report_tx = reported.tx;
    body.evaluation.final_accuracy = accuracy.back();
    for (const auto& reward : report.at("rewards")) {
      RewardRecord record;
      CAIRN_TRY_ASSIGN(record.participant,
                       chain::Address::parse(reward.at("participant").get<std::string>()));
      CAIRN_TRY_ASSIGN(record.amount,
                       chain::U256::parse(reward.at("amount_wei").get<std::string>()));
      body.evaluation.rewards.push_back(record);
    }
    CAIRN_TRY_ASSIGN(SealedBatch closing_batch, seal_cids(context_, {*reported.cid, model_file.cid},
                                                          fmt::format("task-{}", task.id)));
    body.evaluation.sealed.signature = closing_batch.signatures[0];
    body.model.sealed = {model_file.cid, closing_batch.signatures[1]};
    body.model.size = model_file.size;
    body.model.format = "torchscript";
    body.anchors.push_back(closing_batch.anchor);
    body.calendar_certificate = closing_batch.calendar_certificate;
    body.software.cairn_version = build::kVersion;
    body.software.git_commit = build::kGitCommit;
    body.software.libtorch_version =
        fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
    CAIRN_TRY_ASSIGN(body.software.binary_sha256, sha256_file_hex(config_.binary));
    Passport passport;
    passport.body = std::move(body);
    CAIRN_TRY_ASSIGN(SealedBatch closing,
                     seal_and_anchor(context_, {body_imprint(passport.body)}, "passport"));
    passport.closing_signature = closing.signatures[0];
    passport.closing_anchor = closing.anchor;
    const std::string text = serialize_passport(passport);
    CAIRN_TRY(file::write_atomic(passport_path, text));
    log(fmt::format("task {}: model {} and passport written to {}", task.id,
                    model_file.cid.to_string(), out.string()));
    return register_model(passport, to_bytes(text));
  }

  // The model in the Registry (kind Model: digest of the model's CID, metadata = the
  // passport's CID): how auditors find the passport.
  Status register_model(const Passport& passport, ByteView passport_bytes) {
    CAIRN_TRY_ASSIGN(store::Cid passport_cid, put_artifact(context_, passport_bytes, "passport"));
    CAIRN_TRY_ASSIGN(ByteArray<32> digest, cid_commitment(passport.body.model.sealed.cid));
    CAIRN_TRY_ASSIGN(chain::Contract registry, registry_contract(context_));
    CAIRN_TRY_ASSIGN(const std::uint64_t entry, registry_entry_of(registry, context_.signer.address,
                                                                  RegistryKind::model, digest));
    if (entry != 0) return {};
    CAIRN_TRY(registry.transact(context_.signer, "register",
                                {Value(static_cast<std::uint64_t>(RegistryKind::model)),
                                 Value(digest), Value::text(passport_cid.to_string())}));
    log(fmt::format("model {} registered with passport {}",
                    passport.body.model.sealed.cid.to_string(), passport_cid.to_string()));
    return {};
  }

  Status fill_task_and_participants(const TaskInfo& task, const std::vector<JoinInfo>& joins,
                                    PassportBody& body) {
    body.task.chain_id = context_.sender->chain_id();
    body.task.training_task = context_.deployment.training_task;
    body.task.registry = context_.deployment.registry;
    body.task.task_id = task.id;
    body.task.owner = task.owner;
    body.task.aggregator = task.aggregator;
    body.task.spec = spec_;
    body.task.spec_cid = task.spec_cid;
    body.task.rounds = task.rounds;
    body.task.create_tx = task.create_tx;
    body.participants.push_back(
        {context_.name, context_.signer.address, {"model_provider"}, std::nullopt});
    for (std::size_t k = 0; k < joins.size(); ++k) {
      body.participants.push_back({fmt::format("participant-{}", k + 1),
                                   joins[k].participant,
                                   {"data_provider"},
                                   joins[k].tx});
    }
    body.participants.push_back({"aggregator", task.aggregator, {"aggregator"}, std::nullopt});
    return {};
  }

  Status fill_datasets(const std::vector<JoinInfo>& joins, const json& first_record,
                       PassportBody& body) {
    CAIRN_TRY_ASSIGN(chain::Contract registry, registry_contract(context_));
    for (const auto& join : joins) {
      DatasetRecord dataset;
      dataset.owner = join.participant;
      CAIRN_TRY_ASSIGN(Bytes bytes,
                       fetch_artifact(context_, join.participant, join.manifest_cid, kDocumentCap));
      CAIRN_TRY_ASSIGN(dataset.manifest, parse_dataset_manifest(bytes));
      CAIRN_TRY_ASSIGN(dataset.sealed, sealed_from(first_record, join.manifest_cid.to_string()));
      // The participant's own entry for its manifest: another account's entry for the same
      // digest says nothing about this dataset's owner.
      CAIRN_TRY_ASSIGN(
          const std::uint64_t id,
          registry_entry_of(registry, join.participant, RegistryKind::dataset, join.manifest));
      if (id != 0) {
        CAIRN_TRY_ASSIGN(auto registered,
                         find_events(context_, "Registry", context_.deployment.registry,
                                     "Registered", {topic_word(id)}));
        if (!registered.empty()) {
          dataset.registry_entry = id;
          dataset.register_tx = registered.front().log.transaction_hash;
        }
      }
      body.datasets.push_back(std::move(dataset));
    }
    return {};
  }

  Status fill_rounds(const TaskInfo& task, const std::vector<json>& records, PassportBody& body) {
    CAIRN_TRY_ASSIGN(auto updates, task_updates(context_, task.id));
    for (const auto& record : records) {
      const std::uint64_t round = record.at("round").get<std::uint64_t>();
      RoundRecord out;
      out.round = round;
      CAIRN_TRY_ASSIGN(out.global_model,
                       store::Cid::parse(record.at("global_model").get<std::string>()));
      for (const auto& commit : updates) {
        // An update whose CID does not parse is only in the exclusions (cid null).
        if (commit.round != round || !commit.cid) continue;
        UpdateRecord update;
        update.participant = commit.participant;
        CAIRN_TRY_ASSIGN(update.sealed, sealed_from(record, commit.cid_text));
        update.commit_tx = commit.tx;
        out.updates.push_back(std::move(update));
      }
      CAIRN_TRY_ASSIGN(auto posted, aggregate_posted(context_, task.id, round));
      if (!posted || !posted->cid) {
        return fail(Errc::integrity, fmt::format("round {}: no parseable aggregate posted", round));
      }
      CAIRN_TRY_ASSIGN(out.aggregate, sealed_from(record, posted->cid_text));
      out.aggregate_tx = posted->tx;
      const json& aggregate = record.at("aggregate");
      if (aggregate.at("used").is_string()) {
        CAIRN_TRY_ASSIGN(SealedArtifact used,
                         sealed_from(record, aggregate.at("used").get<std::string>()));
        out.sum_used = std::move(used);
      }
      out.accepted = aggregate.at("accepted").get<bool>();
      out.reason = aggregate.at("reason").get<std::string>();
      for (const auto& item : record.at("excluded")) {
        ExclusionRecord exclusion;
        CAIRN_TRY_ASSIGN(exclusion.participant,
                         chain::Address::parse(item.at("participant").get<std::string>()));
        if (item.at("cid").is_string()) exclusion.cid = item.at("cid").get<std::string>();
        exclusion.reason = item.at("reason").get<std::string>();
        out.excluded.push_back(std::move(exclusion));
      }
      CAIRN_TRY_ASSIGN(out.result_model,
                       sealed_from(record, record.at("result_model").get<std::string>()));
      out.accuracy = record.at("accuracy").get<double>();
      CAIRN_TRY_ASSIGN(auto closed, round_closed(context_, task.id, round));
      if (!closed || !closed->cid)
        return fail(Errc::integrity, fmt::format("round {} not closed", round));
      out.record = record;
      out.record_cid = *closed->cid;
      out.close_tx = closed->tx;
      CAIRN_TRY_ASSIGN(AnchorRecord anchor, read_anchor(JsonNode(record.at("anchor"), "anchor")));
      body.anchors.push_back(anchor);
      body.rounds.push_back(std::move(out));
    }
    return {};
  }

  NodeContext& context_;
  ModelProviderConfig config_;
  bool ready_ = false;
  bool finished_ = false;
  std::optional<crypto::PaillierKeyPair> keys_;
  learn::InputSpec input_;
  learn::TensorData test_;
  std::optional<learn::Model> model_;
  learn::ParameterSet initial_;
  double initial_accuracy_ = 0;
  store::Cid initial_cid_;
  learn::PackingParams packing_;
  json spec_;
  store::Cid spec_cid_;
  std::optional<std::uint64_t> task_;
  std::map<std::uint64_t, json> records_;  // closed rounds' records (cache of the store)
  mutable std::mutex mutex_;
  std::string phase_ = "starting";
  std::vector<double> accuracy_;
};

}  // namespace

Result<std::unique_ptr<Role>> make_model_provider(const nlohmann::json& config,
                                                  NodeContext& context) {
  CAIRN_TRY_ASSIGN(ModelProviderConfig parsed, parse_config(config));
  if (context.repo == nullptr || !context.sender) {
    return fail(Errc::invalid_argument, "the model provider needs a store and a chain");
  }
  return std::unique_ptr<Role>(new ModelProvider(context, std::move(parsed)));
}

}  // namespace cairn::market

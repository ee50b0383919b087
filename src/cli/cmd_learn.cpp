// `cairn learn ...`: federated learning simulation, dataset quality reports, and
// recomputation of a published contribution report.
#include <fmt/format.h>

#include <iostream>

#include "base/encoding.hpp"
#include "base/json.hpp"
#include "cli/command.hpp"
#include "crypto/hash.hpp"
#include "crypto/paillier.hpp"
#include "learn/contribution.hpp"
#include "learn/dataset.hpp"
#include "learn/partition.hpp"
#include "learn/quality.hpp"
#include "learn/rng.hpp"
#include "learn/torch/simulate.hpp"

namespace cairn::cli {
namespace {

using namespace cairn::learn;

OptionSpec opt(std::string name, bool takes_value, std::string help) {
  return OptionSpec(std::move(name), takes_value, std::move(help));
}

SimulationConfig parse_simulation(const Args& args) {
  SimulationConfig config;
  config.dataset = args.get_or("--dataset", "fashion-mnist");
  if (auto schema = args.get("--schema")) config.csv_schema = *schema;
  if (auto dir = args.get("--data-dir")) config.fashion_mnist_dir = *dir;
  config.clients = static_cast<std::size_t>(args.get_int_or("--clients", 10, 1, 63));
  config.rounds = static_cast<int>(args.get_int_or("--rounds", 10, 1, 100000));
  config.train.epochs = static_cast<int>(args.get_int_or("--local-epochs", 1, 1, 10000));
  config.train.batch_size = static_cast<int>(args.get_int_or("--batch-size", 64, 1, 1 << 20));
  if (auto lr = args.get_double("--lr")) {
    if (!(*lr > 0)) throw UsageError("--lr must be positive");
    config.train.lr = *lr;
  }
  if (auto standardise = args.get("--standardise")) {
    if (*standardise != "dataset" && *standardise != "none")
      throw UsageError("--standardise takes dataset or none");
    config.standardise_input = *standardise == "dataset";
  }
  if (auto decay = args.get_double("--lr-decay")) {
    if (!(*decay > 0 && *decay <= 1)) throw UsageError("--lr-decay must be in (0, 1]");
    config.lr_decay = *decay;
  }
  const auto optimizer = args.get_or("--optimizer", "sgd");
  if (optimizer == "adam") {
    config.train.optimizer = TrainConfig::Optimizer::adam;
    if (!args.has("--lr")) config.train.lr = 0.001;
  } else if (optimizer != "sgd") {
    throw UsageError("--optimizer must be sgd or adam");
  }
  if (auto momentum = args.get_double("--momentum")) config.train.momentum = *momentum;
  if (auto mu = args.get_double("--prox-mu")) {
    if (*mu < 0) throw UsageError("--prox-mu must not be negative");
    config.train.prox_mu = *mu;
  }
  config.partition =
      usage_unwrap(parse_partition(args.get_or("--partition", "iid")), "--partition");
  config.model = args.get_or("--model", "cnn");
  config.rule =
      usage_unwrap(parse_aggregation_rule(args.get_or("--aggregate", "fedavg")), "--aggregate");
  if (auto clip = args.get_double("--clip")) {
    if (!(*clip > 0)) throw UsageError("--clip must be positive");
    config.rule.clip_norm = *clip;
  }
  if (auto server_lr = args.get_double("--server-lr")) config.rule.server_lr = *server_lr;
  config.secure = usage_unwrap(parse_secure_mode(args.get_or("--secure", "none")), "--secure");
  config.paillier_bits = static_cast<std::size_t>(args.get_int_or(
      "--paillier-bits", 2048, 0, static_cast<std::int64_t>(crypto::kMaxPaillierBits)));
  config.insecure_test_key = args.has("--insecure-test-key");
  usage_unwrap(crypto::check_paillier_bits(config.paillier_bits, config.insecure_test_key),
               "--paillier-bits");
  config.packing = !args.has("--no-packing");
  if (auto malicious = args.get("--malicious"))
    config.malicious = usage_unwrap(parse_malicious(*malicious), "--malicious");
  if (auto faulty = args.get("--faulty"))
    config.faulty = usage_unwrap(parse_faulty(*faulty), "--faulty");
  if (auto dropout = args.get_double("--dropout")) {
    if (!(*dropout >= 0 && *dropout < 1))
      throw UsageError("--dropout must be at least 0 and below 1");
    config.dropout = *dropout;
  }
  config.seed = static_cast<std::uint64_t>(
      args.get_int_or("--seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
  config.train_limit = static_cast<std::size_t>(args.get_int_or("--train-limit", 0, 0, 1LL << 40));
  config.test_limit = static_cast<std::size_t>(args.get_int_or("--test-limit", 0, 0, 1LL << 40));
  const auto contribution = args.get_or("--contribution", "last");
  if (contribution == "none") {
    config.contributions = false;
  } else if (contribution == "last") {
    config.contribution_every = 0;
  } else if (contribution.starts_with("every:")) {
    try {
      config.contribution_every = std::stoi(contribution.substr(6));
    } catch (...) {
      throw UsageError("--contribution every:K needs a number");
    }
    if (config.contribution_every < 1) throw UsageError("--contribution every:K needs K >= 1");
  } else {
    throw UsageError("--contribution must be none, last or every:K");
  }
  config.contribution_test_rows =
      static_cast<std::size_t>(args.get_int_or("--contribution-test-rows", 2000, 1, 1LL << 40));
  config.contribution.max_permutations =
      static_cast<std::size_t>(args.get_int_or("--permutations", 0, 0, 100000));
  config.mask_threshold = static_cast<std::size_t>(args.get_int_or("--mask-threshold", 0, 0, 63));
  config.centralised_baseline = args.has("--centralised");
  config.threads = static_cast<int>(args.get_int_or("--threads", 2, 1, 256));
  return config;
}

int run_simulate(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  const auto config = parse_simulation(args);
  const std::filesystem::path out_dir = args.get_or("--out", "learn-out");
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw CommandError(fmt::format("cannot create {}: {}", out_dir.string(), ec.message()));
  ctx.progress(fmt::format(
      "simulating {} clients x {} rounds: model {}, partition {}, aggregate {}, secure {}",
      config.clients, config.rounds, config.model, config.partition.to_string(),
      config.rule.to_string(), secure_mode_name(config.secure)));
  auto on_round = [&](const RoundRecord& r) {
    ctx.progress(fmt::format(
        "round {:>3}/{}: accuracy {:.4f} loss {:.4f} train-loss {:.4f} | {} clients{}{} | train "
        "{:.1f}s "
        "encrypt {:.1f}s aggregate {:.1f}s decrypt {:.1f}s evaluate {:.1f}s{}",
        r.round, config.rounds, r.accuracy, r.loss, r.train_loss, r.participants,
        r.dropped ? fmt::format(", {} dropped", r.dropped) : "",
        r.rejected ? fmt::format(", {} rejected", r.rejected) : "", r.seconds.train,
        r.seconds.encrypt, r.seconds.aggregate, r.seconds.decrypt, r.seconds.evaluate,
        r.seconds.contribution > 0 ? fmt::format(" contribution {:.1f}s", r.seconds.contribution)
                                   : ""));
    for (const auto& m : r.messages)
      ctx.progress(fmt::format("  {}", m));
  };
  std::optional<Model> final_model;
  auto result = unwrap(simulate(config, on_round, &final_model), "simulation");

  write_file(out_dir / "curve.csv", curve_csv(result));
  write_file(out_dir / "curve.svg", curve_svg(result));
  const auto json = result.to_json();
  write_file(out_dir / "result.json", json.dump(2));
  const auto blob = encode_parameters(result.final_parameters);
  write_file(out_dir / "model.params", as_chars(blob));
  unwrap(final_model->save_torchscript(out_dir / "model.pt"), "exporting TorchScript");
  unwrap(final_model->save_state_dict(out_dir / "state_dict.pt"), "exporting the state_dict");

  ctx.print(
      fmt::format("final accuracy: {:.4f} after {} rounds ({:.1f}s: train {:.1f}s, encrypt "
                  "{:.1f}s, aggregate {:.1f}s, "
                  "decrypt {:.1f}s, evaluate {:.1f}s, contribution {:.1f}s)",
                  result.final_accuracy, config.rounds, result.seconds.total(),
                  result.seconds.train, result.seconds.encrypt, result.seconds.aggregate,
                  result.seconds.decrypt, result.seconds.evaluate, result.seconds.contribution));
  if (result.centralised_curve) {
    ctx.print(fmt::format("centralised baseline (same sample budget): {:.4f}",
                          result.centralised_curve->back()));
  }
  if (!result.contributions.empty()) {
    ctx.print(fmt::format("contributions (rounds {}):", fmt::join(
                                                            [&] {
                                                              std::vector<std::uint64_t> rounds;
                                                              for (const auto& c :
                                                                   result.contributions)
                                                                rounds.push_back(c.round);
                                                              return rounds;
                                                            }(),
                                                            ",")));
    for (std::size_t i = 0; i < result.clients.size(); ++i) {
      ctx.print(fmt::format("  {:<10} rows {:>6}  shapley {:+.4f}  leave-one-out {:+.4f}",
                            result.clients[i], result.client_rows[i], result.shapley_total[i],
                            result.loo_total[i]));
    }
  }
  ctx.print(fmt::format(
      "wrote {}/{{curve.csv,curve.svg,result.json,model.params,model.pt,state_dict.pt}}",
      out_dir.string()));
  ctx.result = json;
  ctx.result["out"] = out_dir.string();
  return kExitOk;
}

int run_quality(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  const auto dataset = args.get_or("--dataset", "fashion-mnist");
  QualityReport report;
  if (dataset == "fashion-mnist") {
    auto data = unwrap(load_fashion_mnist(args.get_or("--data-dir", kFashionMnistDir.string())),
                       "loading Fashion-MNIST");
    report = quality_report(data.train);
  } else {
    const auto schema_path = args.require("--schema");
    const auto schema_bytes = unwrap(read_maybe_gzip(schema_path), "reading the schema");
    const auto schema = unwrap(parse_csv_schema(as_chars(schema_bytes)), schema_path);
    const auto csv_bytes = unwrap(read_maybe_gzip(dataset), "reading the CSV");
    const auto csv = unwrap(read_csv(as_chars(csv_bytes), schema), dataset);
    report = quality_report(csv, schema.columns.size());
    for (const auto& example : csv.issues.examples)
      ctx.progress(example);
  }
  ctx.print(
      fmt::format("rows {}  missing {}  duplicates {}  nonconforming cells {}  rejected rows {}",
                  report.rows, report.missing_values, report.duplicate_rows,
                  report.nonconforming_cells, report.rejected_rows));
  ctx.print(fmt::format(
      "label counts [{}]  balance {:.3f}  completeness {:.3f}  schema conformance {:.3f}",
      fmt::join(report.label_counts, " "), report.label_balance, report.completeness,
      report.schema_conformance));
  ctx.result = report.to_json();
  return kExitOk;
}

int run_verify_contributions(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const auto path = args.positional(0, "RESULT.json");
  nlohmann::json json = unwrap(parse_json(read_text_file(path, "RESULT.json", 256ull << 20), path));
  if (!json.contains("contributions") || !json["contributions"].contains("rounds")) {
    throw CommandError(fmt::format("{} carries no contribution report", path));
  }
  const auto config = unwrap(ContributionConfig::from_json(json["contributions"]["config"]), path);
  std::size_t checked = 0;
  for (const auto& round_json : json["contributions"]["rounds"]) {
    const auto report = unwrap(RoundContribution::from_json(round_json), path);
    auto round_config = config;
    unwrap(replay_contributions(report, round_config), fmt::format("round {}", report.round));
    ++checked;
  }
  ctx.print(fmt::format(
      "{} round(s) of contributions replay exactly from the recorded subset utilities", checked));
  ctx.result = {{"verified_rounds", checked}};
  return kExitOk;
}

// ---- learn partition ----

// The seed purpose of sampling a provider's rows. (The CSV's train/test split is
// split_rows', the one `learn simulate` makes.)
constexpr std::uint64_t kRowSamplePurpose = 0x524f5753;  // "ROWS"

nlohmann::json label_counts_json(const std::vector<std::int64_t>& labels,
                                 std::int64_t num_classes) {
  std::vector<std::size_t> counts(static_cast<std::size_t>(std::max<std::int64_t>(num_classes, 0)));
  for (auto label : labels) {
    if (label >= 0 && label < num_classes) ++counts[static_cast<std::size_t>(label)];
  }
  return counts;
}

// Writes `bytes` to dir/name and describes the file (path relative to the output root).
nlohmann::json write_shard_file(const std::filesystem::path& root, const std::string& relative,
                                ByteView bytes) {
  write_file(root / relative, as_chars(bytes));
  return {{"path", relative}, {"bytes", bytes.size()}, {"sha256", to_hex(crypto::sha256(bytes))}};
}

void make_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw CommandError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
}

// At most `limit` of a provider's rows (all when limit is 0), sampled by seed and kept in
// dataset order.
std::vector<std::size_t> sample_rows(std::vector<std::size_t> rows, std::size_t limit,
                                     std::uint64_t seed, std::size_t provider) {
  if (limit == 0 || rows.size() <= limit) return rows;
  Rng rng(derive_seed(seed, kRowSamplePurpose, provider));
  rng.shuffle(std::span(rows));
  rows.resize(limit);
  std::sort(rows.begin(), rows.end());
  return rows;
}

int run_partition(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  const auto dataset = args.get_or("--dataset", "fashion-mnist");
  const auto clients = static_cast<std::size_t>(args.get_int_or("--clients", 10, 1, 100000));
  const auto spec = usage_unwrap(parse_partition(args.get_or("--partition", "iid")), "--partition");
  const auto seed = static_cast<std::uint64_t>(
      args.get_int_or("--seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
  const auto rows_per_client =
      static_cast<std::size_t>(args.get_int_or("--rows-per-client", 0, 0, 1LL << 40));
  // 0 (the default) means "the default test set".
  const auto test_rows = static_cast<std::size_t>(args.get_int_or("--test-rows", 0, 0, 1LL << 40));
  const std::filesystem::path out_dir = args.require("--out");
  make_directory(out_dir);

  nlohmann::json manifest = {{"dataset", dataset},
                             {"clients", clients},
                             {"partition", spec.to_string()},
                             {"seed", seed},
                             {"rows_per_client", rows_per_client}};
  nlohmann::json providers = nlohmann::json::array();

  if (dataset == "fashion-mnist") {
    const auto data =
        unwrap(load_fashion_mnist(args.get_or("--data-dir", kFashionMnistDir.string())),
               "loading Fashion-MNIST");
    const auto parts =
        unwrap(partition_rows(data.train.labels, data.train.num_classes, clients, spec, seed),
               "partitioning");
    manifest["num_classes"] = data.train.num_classes;
    manifest["format"] = "idx";
    for (std::size_t k = 0; k < clients; ++k) {
      const auto name = fmt::format("provider-{}", k + 1);
      make_directory(out_dir / name);
      const auto shard = data.train.subset(sample_rows(parts[k], rows_per_client, seed, k));
      const auto images = unwrap(encode_idx_images(shard), name);
      const auto labels = unwrap(encode_idx_labels(shard), name);
      providers.push_back(
          {{"name", name},
           {"rows", shard.rows()},
           {"label_counts", label_counts_json(shard.labels, data.train.num_classes)},
           {"images", write_shard_file(out_dir, name + "/images.idx", images)},
           {"labels", write_shard_file(out_dir, name + "/labels.idx", labels)}});
    }
    const auto test = data.test.head(test_rows > 0 ? test_rows : data.test.rows());
    make_directory(out_dir / "test");
    manifest["test"] = {{"rows", test.rows()},
                        {"label_counts", label_counts_json(test.labels, data.test.num_classes)},
                        {"images", write_shard_file(out_dir, "test/images.idx",
                                                    unwrap(encode_idx_images(test), "test"))},
                        {"labels", write_shard_file(out_dir, "test/labels.idx",
                                                    unwrap(encode_idx_labels(test), "test"))}};
  } else {
    // A CSV's rows stay CSV (IDX holds bytes, not a schema's numbers and categories): each
    // provider gets the header and its rows verbatim, so `--schema` applies to every shard.
    const auto schema_path = args.require("--schema");
    const auto schema_bytes = unwrap(read_maybe_gzip(schema_path), "reading the schema");
    const auto schema = unwrap(parse_csv_schema(as_chars(schema_bytes)), schema_path);
    const auto csv_bytes = unwrap(read_maybe_gzip(dataset), "reading the CSV");
    const auto csv = unwrap(read_csv(as_chars(csv_bytes), schema), dataset);
    for (const auto& example : csv.issues.examples)
      ctx.progress(example);
    auto rows = unwrap(parse_csv_rows(as_chars(csv_bytes), schema.delimiter), dataset);
    std::vector<std::string> header;
    if (schema.has_header && !rows.empty()) header = rows.front();
    // The rows read_csv kept, verbatim, in order.
    std::vector<std::vector<std::string>> kept;
    for (const auto source : csv.source_rows)
      kept.push_back(std::move(rows.at(source)));
    const auto split = unwrap(split_rows(kept.size(), clients, seed, test_rows), dataset);
    const std::vector<std::size_t>& test_order = split.test;
    const std::vector<std::size_t>& train_order = split.train;
    const auto train = csv.data.subset(train_order);
    const auto parts = unwrap(partition_rows(train.labels, train.num_classes, clients, spec, seed),
                              "partitioning");
    manifest["num_classes"] = csv.data.num_classes;
    manifest["class_names"] = csv.data.class_names;
    manifest["format"] = "csv";
    write_file(out_dir / "schema.txt", as_chars(schema_bytes));
    auto write_rows = [&](const std::string& relative, const std::vector<std::size_t>& indices) {
      std::vector<std::vector<std::string>> out_rows;
      if (!header.empty()) out_rows.push_back(header);
      for (auto index : indices)
        out_rows.push_back(kept[index]);
      return write_shard_file(out_dir, relative,
                              as_bytes(format_csv_rows(out_rows, schema.delimiter)));
    };
    auto labels_of = [&](const std::vector<std::size_t>& indices) {
      std::vector<std::int64_t> labels;
      for (auto index : indices)
        labels.push_back(csv.data.labels[index]);
      return labels;
    };
    for (std::size_t k = 0; k < clients; ++k) {
      const auto name = fmt::format("provider-{}", k + 1);
      make_directory(out_dir / name);
      std::vector<std::size_t> indices;
      for (auto row : sample_rows(parts[k], rows_per_client, seed, k))
        indices.push_back(train_order[row]);
      providers.push_back(
          {{"name", name},
           {"rows", indices.size()},
           {"label_counts", label_counts_json(labels_of(indices), csv.data.num_classes)},
           {"data", write_rows(name + "/data.csv", indices)}});
    }
    make_directory(out_dir / "test");
    manifest["test"] = {
        {"rows", test_order.size()},
        {"label_counts", label_counts_json(labels_of(test_order), csv.data.num_classes)},
        {"data", write_rows("test/data.csv", test_order)}};
  }
  manifest["providers"] = providers;
  write_file(out_dir / "partition.json", manifest.dump(2) + "\n");
  for (const auto& provider : providers) {
    ctx.print(
        fmt::format("{:<12} rows {:>6}  labels [{}]", provider["name"].get<std::string>(),
                    provider["rows"].get<std::size_t>(),
                    fmt::join(provider["label_counts"].get<std::vector<std::size_t>>(), " ")));
  }
  ctx.print(fmt::format(
      "{:<12} rows {:>6}  labels [{}]", "test", manifest["test"]["rows"].get<std::size_t>(),
      fmt::join(manifest["test"]["label_counts"].get<std::vector<std::size_t>>(), " ")));
  ctx.print(fmt::format("wrote {}/partition.json", out_dir.string()));
  ctx.result = manifest;
  ctx.result["out"] = out_dir.string();
  return kExitOk;
}

const CommandRegistration simulate_command{Command{
    "learn",
    "simulate",
    "federated learning with every party in one process",
    "--dataset fashion-mnist|CSV --clients N --rounds R --local-epochs E [--batch-size B] [--lr X] "
    "--partition iid|dirichlet:A|shards:K --model cnn|mlp|logreg|FILE.pt --aggregate "
    "fedavg|fedprox|fedadam|median|trimmed:F|krum --secure none|paillier|mask [--malicious "
    "K:signflip|scale:S|noise] "
    "[--dropout P] --seed S",
    {
        opt("--dataset", true, "fashion-mnist (default) or a CSV file"),
        opt("--schema", true, "the CSV's schema file (name:type[:values] per line)"),
        opt("--data-dir", true,
            "Fashion-MNIST directory (default /usr/share/datasets/fashion-mnist)"),
        opt("--clients", true, "data providers (default 10)"),
        opt("--rounds", true, "rounds (default 10)"),
        opt("--local-epochs", true, "local epochs per round (default 1)"),
        opt("--batch-size", true, "batch size (default 64)"),
        opt("--lr", true, "learning rate (default 0.01 for SGD, 0.001 for Adam)"),
        opt("--lr-decay", true, "multiply the learning rate by this each round (default 1)"),
        opt("--optimizer", true, "sgd (default, momentum 0.9) or adam"),
        opt("--momentum", true, "SGD momentum (default 0.9)"),
        opt("--prox-mu", true,
            "FedProx proximal term mu (default 0; 0.01 with --aggregate fedprox)"),
        opt("--partition", true, "iid (default), dirichlet:ALPHA or shards:K"),
        opt("--model", true, "cnn (default), mlp, logreg or a TorchScript file"),
        opt("--standardise", true,
            "dataset (default: a built-in model standardises its input with the training "
            "features' mean and standard deviation) or none"),
        opt("--aggregate", true,
            "fedavg (default), fedprox, fedadam, median, trimmed:F, krum[:F], multikrum[:F[:M]]"),
        opt("--clip", true, "clip every update to this L2 norm before aggregating"),
        opt("--server-lr", true, "FedAdam server learning rate (default 0.01)"),
        opt("--secure", true, "none (default), paillier or mask"),
        opt("--paillier-bits", true, "Paillier modulus size (default 2048; 2048 to 8192)"),
        opt("--insecure-test-key", false,
            "allow a Paillier key from 512 bits (tests only: breakable)"),
        opt("--no-packing", false, "one value per Paillier ciphertext"),
        opt("--mask-threshold", true, "Shamir threshold for masking (default clients/2 + 1)"),
        opt("--malicious", true,
            "K:signflip, K:scale:S or K:noise (clients 0..K-1 poison their updates)"),
        opt("--faulty", true,
            "K:nan, K:stale, K:truncated or K:shape (the last K clients send broken updates)"),
        opt("--dropout", true, "probability a client drops out mid-round (default 0)"),
        opt("--seed", true, "seed for partition, initial model, batch order, dropouts (default 1)"),
        opt("--train-limit", true, "use only the first N training rows"),
        opt("--test-limit", true, "use only the first N test rows"),
        opt("--contribution", true, "none, last (default) or every:K rounds"),
        opt("--contribution-test-rows", true,
            "test rows for contribution utilities (default 2000)"),
        opt("--permutations", true, "most Shapley permutations per round (default 2 x clients)"),
        opt("--centralised", false,
            "also train a centralised baseline with the same sample budget"),
        opt("--threads", true, "libtorch threads (default 2)"),
        opt("--out", true, "output directory (default learn-out)"),
    },
    "Writes curve.csv, curve.svg, result.json (with the contribution report another party can "
    "replay), "
    "model.params (cairn parameter blob), model.pt (TorchScript) and state_dict.pt (torch.load) to "
    "--out.",
    run_simulate}};

const CommandRegistration partition_command{Command{
    "learn",
    "partition",
    "split a dataset into data providers' shards and a test set, as files",
    "--dataset fashion-mnist|CSV [--schema FILE] --clients N --partition iid|dirichlet:A|shards:K "
    "--seed S "
    "[--rows-per-client R] [--test-rows T] --out DIR",
    {opt("--dataset", true, "fashion-mnist (default) or a CSV file"),
     opt("--schema", true, "the CSV's schema file"),
     opt("--data-dir", true, "Fashion-MNIST directory (default /usr/share/datasets/fashion-mnist)"),
     opt("--clients", true, "data providers (default 10)"),
     opt("--partition", true, "iid (default), dirichlet:ALPHA or shards:K"),
     opt("--seed", true, "seed (default 1); the same seed gives simulate's clients the same rows"),
     opt("--rows-per-client", true,
         "keep at most R rows per provider, sampled by seed (default: all)"),
     opt("--test-rows", true,
         "test rows (default or 0: the whole Fashion-MNIST test set; 20% of a CSV)"),
     opt("--out", true, "output directory")},
    "Writes DIR/provider-K/{images.idx,labels.idx} (Fashion-MNIST) or DIR/provider-K/data.csv "
    "(CSV, with "
    "DIR/schema.txt), DIR/test/..., and DIR/partition.json with every provider's rows, label "
    "counts and file "
    "SHA-256s.",
    run_partition}};

const CommandRegistration quality_command{Command{
    "learn",
    "quality",
    "the quality report a data provider publishes with an offer",
    "[--dataset fashion-mnist|CSV --schema FILE]",
    {opt("--dataset", true, "fashion-mnist (default) or a CSV file"),
     opt("--schema", true, "the CSV's schema"), opt("--data-dir", true, "Fashion-MNIST directory")},
    "",
    run_quality}};

const CommandRegistration verify_command{
    Command{"learn",
            "verify-contributions",
            "replay a simulation's contribution report from its recorded subset utilities",
            "RESULT.json",
            {},
            "",
            run_verify_contributions}};

}  // namespace
}  // namespace cairn::cli

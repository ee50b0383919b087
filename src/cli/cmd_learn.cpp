// `cairn learn ...`: federated learning simulation, dataset quality reports, and
// recomputation of a published contribution report.
#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "cli/command.hpp"
#include "learn/contribution.hpp"
#include "learn/dataset.hpp"
#include "learn/quality.hpp"
#include "learn/torch/simulate.hpp"

namespace cairn::cli {
namespace {

using namespace cairn::learn;

OptionSpec opt(std::string name, bool takes_value, std::string help) {
  OptionSpec spec;
  spec.name = std::move(name);
  spec.takes_value = takes_value;
  spec.help = std::move(help);
  return spec;
}

void write_text(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out.write(text.data(), static_cast<std::streamsize>(text.size()))) {
    throw CommandError(fmt::format("cannot write {}", path.string()));
  }
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
  config.partition = unwrap(parse_partition(args.get_or("--partition", "iid")));
  config.model = args.get_or("--model", "cnn");
  config.rule = unwrap(parse_aggregation_rule(args.get_or("--aggregate", "fedavg")));
  if (auto clip = args.get_double("--clip")) {
    if (!(*clip > 0)) throw UsageError("--clip must be positive");
    config.rule.clip_norm = *clip;
  }
  if (auto server_lr = args.get_double("--server-lr")) config.rule.server_lr = *server_lr;
  config.secure = unwrap(parse_secure_mode(args.get_or("--secure", "none")));
  config.paillier_bits = static_cast<std::size_t>(args.get_int_or("--paillier-bits", 2048, 256, 8192));
  config.packing = !args.has("--no-packing");
  if (auto malicious = args.get("--malicious")) config.malicious = unwrap(parse_malicious(*malicious));
  if (auto faulty = args.get("--faulty")) config.faulty = unwrap(parse_faulty(*faulty));
  if (auto dropout = args.get_double("--dropout")) config.dropout = *dropout;
  config.seed = static_cast<std::uint64_t>(args.get_int_or("--seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
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
  config.contribution_test_rows = static_cast<std::size_t>(args.get_int_or("--contribution-test-rows", 2000, 1, 1LL << 40));
  config.contribution.max_permutations = static_cast<std::size_t>(args.get_int_or("--permutations", 0, 0, 100000));
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
  ctx.progress(fmt::format("simulating {} clients x {} rounds: model {}, partition {}, aggregate {}, secure {}",
                           config.clients, config.rounds, config.model, config.partition.to_string(),
                           config.rule.to_string(), secure_mode_name(config.secure)));
  auto on_round = [&](const RoundRecord& r) {
    ctx.progress(fmt::format("round {:>3}/{}: accuracy {:.4f} loss {:.4f} train-loss {:.4f} | {} clients{}{} | train {:.1f}s "
                             "encrypt {:.1f}s aggregate {:.1f}s decrypt {:.1f}s evaluate {:.1f}s{}",
                             r.round, config.rounds, r.accuracy, r.loss, r.train_loss, r.participants,
                             r.dropped ? fmt::format(", {} dropped", r.dropped) : "",
                             r.rejected ? fmt::format(", {} rejected", r.rejected) : "", r.seconds.train,
                             r.seconds.encrypt, r.seconds.aggregate, r.seconds.decrypt, r.seconds.evaluate,
                             r.seconds.contribution > 0 ? fmt::format(" contribution {:.1f}s", r.seconds.contribution) : ""));
    for (const auto& m : r.messages) ctx.progress(fmt::format("  {}", m));
  };
  std::optional<Model> final_model;
  auto result = unwrap(simulate(config, on_round, &final_model), "simulation");

  write_text(out_dir / "curve.csv", curve_csv(result));
  write_text(out_dir / "curve.svg", curve_svg(result));
  const auto json = result.to_json();
  write_text(out_dir / "result.json", json.dump(2));
  const auto blob = encode_parameters(result.final_parameters);
  write_text(out_dir / "model.params", as_chars(blob));
  unwrap(final_model->save_torchscript(out_dir / "model.pt"), "exporting TorchScript");
  unwrap(final_model->save_state_dict(out_dir / "state_dict.pt"), "exporting the state_dict");

  ctx.print(fmt::format("final accuracy: {:.4f} after {} rounds ({:.1f}s: train {:.1f}s, encrypt {:.1f}s, aggregate {:.1f}s, "
                        "decrypt {:.1f}s, evaluate {:.1f}s, contribution {:.1f}s)",
                        result.final_accuracy, config.rounds, result.seconds.total(), result.seconds.train,
                        result.seconds.encrypt, result.seconds.aggregate, result.seconds.decrypt, result.seconds.evaluate,
                        result.seconds.contribution));
  if (result.centralised_curve) {
    ctx.print(fmt::format("centralised baseline (same sample budget): {:.4f}", result.centralised_curve->back()));
  }
  if (!result.contributions.empty()) {
    ctx.print(fmt::format("contributions (rounds {}):", fmt::join([&] {
                            std::vector<std::uint64_t> rounds;
                            for (const auto& c : result.contributions) rounds.push_back(c.round);
                            return rounds;
                          }(), ",")));
    for (std::size_t i = 0; i < result.clients.size(); ++i) {
      ctx.print(fmt::format("  {:<10} rows {:>6}  shapley {:+.4f}  leave-one-out {:+.4f}", result.clients[i],
                            result.client_rows[i], result.shapley_total[i], result.loo_total[i]));
    }
  }
  ctx.print(fmt::format("wrote {}/{{curve.csv,curve.svg,result.json,model.params,model.pt,state_dict.pt}}", out_dir.string()));
  ctx.result = json;
  ctx.result["out"] = out_dir.string();
  return kExitOk;
}

int run_quality(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  const auto dataset = args.get_or("--dataset", "fashion-mnist");
  QualityReport report;
  if (dataset == "fashion-mnist") {
    auto data = unwrap(load_fashion_mnist(args.get_or("--data-dir", kFashionMnistDir.string())), "loading Fashion-MNIST");
    report = quality_report(data.train);
  } else {
    const auto schema_path = args.require("--schema");
    const auto schema_bytes = unwrap(read_maybe_gzip(schema_path), "reading the schema");
    const auto schema = unwrap(parse_csv_schema(as_chars(schema_bytes)), schema_path);
    const auto csv_bytes = unwrap(read_maybe_gzip(dataset), "reading the CSV");
    const auto csv = unwrap(read_csv(as_chars(csv_bytes), schema), dataset);
    report = quality_report(csv, schema.columns.size());
    for (const auto& example : csv.issues.examples) ctx.progress(example);
  }
  ctx.print(fmt::format("rows {}  missing {}  duplicates {}  nonconforming cells {}  rejected rows {}", report.rows,
                        report.missing_values, report.duplicate_rows, report.nonconforming_cells, report.rejected_rows));
  ctx.print(fmt::format("label counts [{}]  balance {:.3f}  completeness {:.3f}  schema conformance {:.3f}",
                        fmt::join(report.label_counts, " "), report.label_balance, report.completeness,
                        report.schema_conformance));
  ctx.result = report.to_json();
  return kExitOk;
}

int run_verify_contributions(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const auto path = args.positional(0, "RESULT.json");
  std::ifstream in(path);
  if (!in) throw CommandError(fmt::format("cannot open {}", path));
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw CommandError(fmt::format("{} is not JSON: {}", path, e.what()));
  }
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
  ctx.print(fmt::format("{} round(s) of contributions replay exactly from the recorded subset utilities", checked));
  ctx.result = {{"verified_rounds", checked}};
  return kExitOk;
}

const CommandRegistration simulate_command{Command{
    "learn",
    "simulate",
    "federated learning with every party in one process",
    "--dataset fashion-mnist|CSV --clients N --rounds R --local-epochs E [--batch-size B] [--lr X] "
    "--partition iid|dirichlet:A|shards:K --model cnn|mlp|logreg|FILE.pt --aggregate "
    "fedavg|fedprox|fedadam|median|trimmed:F|krum --secure none|paillier|mask [--malicious K:signflip|scale:S|noise] "
    "[--dropout P] --seed S",
    {
        opt("--dataset", true, "fashion-mnist (default) or a CSV file"),
        opt("--schema", true, "the CSV's schema file (name:type[:values] per line)"),
        opt("--data-dir", true, "Fashion-MNIST directory (default /usr/share/datasets/fashion-mnist)"),
        opt("--clients", true, "data providers (default 10)"),
        opt("--rounds", true, "rounds (default 10)"),
        opt("--local-epochs", true, "local epochs per round (default 1)"),
        opt("--batch-size", true, "batch size (default 64)"),
        opt("--lr", true, "learning rate (default 0.01 for SGD, 0.001 for Adam)"),
        opt("--optimizer", true, "sgd (default, momentum 0.9) or adam"),
        opt("--momentum", true, "SGD momentum (default 0.9)"),
        opt("--prox-mu", true, "FedProx proximal term mu (default 0; 0.01 with --aggregate fedprox)"),
        opt("--partition", true, "iid (default), dirichlet:ALPHA or shards:K"),
        opt("--model", true, "cnn (default), mlp, logreg or a TorchScript file"),
        opt("--aggregate", true, "fedavg (default), fedprox, fedadam, median, trimmed:F, krum[:F], multikrum[:F[:M]]"),
        opt("--clip", true, "clip every update to this L2 norm before aggregating"),
        opt("--server-lr", true, "FedAdam server learning rate (default 0.01)"),
        opt("--secure", true, "none (default), paillier or mask"),
        opt("--paillier-bits", true, "Paillier modulus size (default 2048)"),
        opt("--no-packing", false, "one value per Paillier ciphertext"),
        opt("--mask-threshold", true, "Shamir threshold for masking (default clients/2 + 1)"),
        opt("--malicious", true, "K:signflip, K:scale:S or K:noise (clients 0..K-1 poison their updates)"),
        opt("--faulty", true, "K:nan, K:stale or K:truncated (the last K clients send broken updates)"),
        opt("--dropout", true, "probability a client drops out mid-round (default 0)"),
        opt("--seed", true, "seed for partition, initial model, batch order, dropouts (default 1)"),
        opt("--train-limit", true, "use only the first N training rows"),
        opt("--test-limit", true, "use only the first N test rows"),
        opt("--contribution", true, "none, last (default) or every:K rounds"),
        opt("--contribution-test-rows", true, "test rows for contribution utilities (default 2000)"),
        opt("--permutations", true, "most Shapley permutations per round (default 2 x clients)"),
        opt("--centralised", false, "also train a centralised baseline with the same sample budget"),
        opt("--threads", true, "libtorch threads (default 2)"),
        opt("--out", true, "output directory (default learn-out)"),
    },
    "Writes curve.csv, curve.svg, result.json (with the contribution report another party can replay), "
    "model.params (cairn parameter blob), model.pt (TorchScript) and state_dict.pt (torch.load) to --out.",
    run_simulate}};

const CommandRegistration quality_command{Command{
    "learn",
    "quality",
    "the quality report a data provider publishes with an offer",
    "[--dataset fashion-mnist|CSV --schema FILE]",
    {opt("--dataset", true, "fashion-mnist (default) or a CSV file"),
     opt("--schema", true, "the CSV's schema"),
     opt("--data-dir", true, "Fashion-MNIST directory")},
    "",
    run_quality}};

const CommandRegistration verify_command{Command{
    "learn",
    "verify-contributions",
    "replay a simulation's contribution report from its recorded subset utilities",
    "RESULT.json",
    {},
    "",
    run_verify_contributions}};

}  // namespace
}  // namespace cairn::cli

// The market's commands: `passport verify` (an auditor's check of a model's whole lineage),
// `passport trust` (the trust root such a check pins) and `task run` (the training-task
// protocol end to end, in one process).

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>

#include "base/json.hpp"
#include "chain/rpc.hpp"
#include "chain/sender.hpp"
#include "cli/command.hpp"
#include "crypto/paillier.hpp"
#include "learn/partition.hpp"
#include "learn/torch/model.hpp"
#include "market/deployment.hpp"
#include "market/directory.hpp"
#include "market/passport.hpp"
#include "market/task_protocol.hpp"
#include "market/trust_root.hpp"
#include "net/url.hpp"
#include "seal/publication.hpp"
#include "store/repo.hpp"

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;

Bytes read_file_bytes(const fs::path& path) {
  return read_binary_file(path, "the passport", market::kPassportCap);
}

int run_passport_verify(Context& ctx, const Args& args) {
  args.expect_positional(2, 2);
  const fs::path model = args.positional(0, "MODEL");
  const fs::path passport_path = args.positional(1, "PASSPORT");
  const market::Passport passport = unwrap(market::parse_passport(read_file_bytes(passport_path)),
                                           "reading " + passport_path.string());
  market::VerifyOptions options;
  options.rpc_url = args.get("--rpc");
  options.strict = args.has("--strict");
  std::optional<market::TrustRoot> trust;
  if (const auto trust_file = args.get("--trust")) {
    trust = unwrap(market::parse_trust_root(read_binary_file(*trust_file, "--trust"), *trust_file));
    options.trust = &*trust;
  }
  // The store is consulted only when it exists: verifying needs nothing but the passport
  // and the model, and an absent repository must not be created by an audit.
  std::unique_ptr<store::Repo> repo;
  if (fs::exists(ctx.repo / "version")) {
    repo = unwrap(store::Repo::open(ctx.repo, store::RepoAccess::snapshot),
                  "opening " + ctx.repo.string());
    options.store = &repo->blocks();
  }
  const market::VerifyReport report = market::verify_passport(model, passport, options);
  std::size_t held = 0, failed = 0, skipped = 0;
  for (const auto& link : report.links) {
    if (link.ok) {
      ++held;
    } else if (link.skipped) {
      ++skipped;
    } else {
      ++failed;
    }
    ctx.print(fmt::format("{:4}  {}: {}", link.ok ? "ok" : (link.skipped ? "skip" : "FAIL"),
                          link.link, link.message));
  }
  ctx.print(fmt::format("{} links hold, {} failed, {} skipped{}{}", held, failed, skipped,
                        options.strict && skipped > 0 ? " (--strict: a skipped link fails)" : "",
                        options.trust ? "" : " (nothing pinned: give --trust)"));
  ctx.result = report.to_json();
  return report.ok() ? 0 : 1;
}

const CommandRegistration passport_verify_command{Command{
    "passport",
    "verify",
    "verify a model passport: every CID, seal, anchor and (with --rpc) on-chain record",
    "MODEL PASSPORT [--rpc URL] [--trust FILE] [--strict] [--repo DIR]",
    {{"--rpc", true, "an Ethereum JSON-RPC URL: also check anchors, task and commitments on chain"},
     {"--trust", true,
      "a trust root (`passport trust`): pin the chain, contracts, calendar keys and anchor "
      "signers instead of taking the passport's word"},
     {"--strict", false, "a link that could not be checked fails"}},
    "Artifacts found in the repository (--repo) are re-hashed against their CIDs; the ones\n"
    "it does not hold are listed as skipped. Without --trust the seals are checked against\n"
    "the calendar certificate the passport brings, and the three \"trust:\" links say so\n"
    "(skipped); without --rpc the chain is skipped. Exit 0 only when every checked link\n"
    "holds, and with --strict only when nothing was skipped either. With --json the last line\n"
    "lists each link with its status (ok, fail, skipped).",
    run_passport_verify}};

// A calendar certificate as its operator hands it over: PEM, or DER.
Bytes read_certificate(const std::string& path) {
  Bytes bytes = read_binary_file(path, "--calendar-cert");
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (text.find("-----BEGIN") != std::string_view::npos) {
    bytes = usage_unwrap(seal::pem_to_der(text), "--calendar-cert " + path);
  }
  usage_unwrap(seal::certificate_info(bytes), "--calendar-cert " + path);
  return bytes;
}

int run_passport_trust(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  const std::string deployment_path = args.require("--deployment");
  const market::DeploymentFile deployment =
      unwrap(market::load_deployment(deployment_path), "reading --deployment");
  market::TrustRoot trust = market::trust_root_for(deployment.deployment);
  if (const auto operator_text = args.get("--operator")) {
    // The operator's registered calendar keys, and the operator as the anchor signer.
    const chain::Address operator_account =
        usage_unwrap(chain::Address::parse(*operator_text), "--operator");
    const std::string url = args.get("--rpc").value_or(deployment.rpc);
    const chain::RpcClient rpc = unwrap(chain::RpcClient::create(url), "--rpc");
    auto sender = unwrap(chain::TransactionSender::create(rpc, {}, deployment.deployment.chain_id),
                         "connecting to " + net::redact_url(url));
    trust =
        unwrap(market::trust_root_from_registry(sender, deployment.deployment, operator_account),
               "reading the Registry");
  }
  for (const auto& path : args.all("--calendar-cert")) {
    Bytes der = read_certificate(path);
    if (!trust.pins_certificate(der)) trust.calendar_certificates.push_back(std::move(der));
  }
  for (const auto& text : args.all("--anchor-signer")) {
    const chain::Address signer = usage_unwrap(chain::Address::parse(text), "--anchor-signer");
    if (!trust.pins_signer(signer)) trust.anchor_signers.push_back(signer);
  }
  if (trust.calendar_certificates.empty()) {
    throw UsageError("--operator or --calendar-cert is required");
  }
  if (trust.anchor_signers.empty()) throw UsageError("--operator or --anchor-signer is required");
  trust.max_anchor_delay_s = static_cast<std::uint64_t>(args.get_int_or(
      "--max-anchor-delay", market::kDefaultMaxAnchorDelaySeconds, 1, 365ll * 24 * 3600));
  const std::string text = market::format_trust_root(trust);
  // The file is read back as a verifier will read it: what is written is what parses.
  static_cast<void>(unwrap(market::parse_trust_root(as_bytes(text), "the trust root")));
  const fs::path out = args.require("--out");
  write_file(out, std::string_view(text));
  ctx.print(fmt::format(
      "{}: chain {}, TrainingTask {}, {} calendar certificate(s), {} anchor "
      "signer(s), anchors at most {} s late",
      out.string(), trust.chain_id, trust.training_task.to_checksum(),
      trust.calendar_certificates.size(), trust.anchor_signers.size(), trust.max_anchor_delay_s));
  ctx.result = unwrap(parse_json(std::string_view(text), "the trust root"));
  ctx.result["file"] = out.string();
  return 0;
}

const CommandRegistration passport_trust_command{Command{
    "passport",
    "trust",
    "write the trust root `passport verify --trust` pins",
    "--deployment FILE (--operator ADDR [--rpc URL] | --calendar-cert PEM... --anchor-signer "
    "ADDR...) -o FILE [--max-anchor-delay S]",
    {{"--deployment", true, "the deployment file (`chain deploy --out`): chain id and contracts"},
     {"--operator", true,
      "the signing service's operator: pin the calendar keys it registered in the Registry and "
      "it as the anchor signer"},
     {"--rpc", true, "where to read the Registry (default: the deployment file's rpc)"},
     {"--calendar-cert", true,
      "the signing service's calendar certificate (PEM or DER; <node repo>/node/seal/"
      "keys/calendar-cert.pem on its operator's machine)",
      "", true},
     {"--anchor-signer", true, "an account allowed to anchor the calendar's publications", "",
      true},
     {"--max-anchor-delay", true,
      "seconds an anchor may follow the publication time it claims (default 3600)"},
     {"--out", true, "where to write it", "-o"}},
    "Take each of these from a source you trust, not from a passport: the deployment you\n"
    "deployed or were given, and the operator's account (a node that serves a signing\n"
    "service registers its calendar key under the account it anchors with), or the\n"
    "certificate and account out of band. docs/platform.md describes what each one pins.",
    run_passport_trust}};

int run_task_run(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  market::TaskConfig config;
  const fs::path out = args.get_or("--out", "demo-out");
  config.work_dir = args.get_or("--work", (out / "work").string());
  config.rpc_url = args.get("--rpc");
  config.providers = static_cast<std::size_t>(args.get_int_or("--providers", 3, 2, 6));
  config.rounds = static_cast<std::uint64_t>(args.get_int_or("--rounds", 3, 1, 255));
  config.model = args.get_or("--model", "logreg");
  if (!learn::Model::is_builtin(config.model)) {
    throw UsageError(fmt::format("--model must be one of {}, not '{}'",
                                 fmt::join(learn::Model::kBuiltinNames, ", "), config.model));
  }
  config.rows_per_provider = static_cast<std::size_t>(args.get_int_or("--rows", 1000, 10, 20000));
  config.test_rows = static_cast<std::size_t>(args.get_int_or("--test-rows", 2000, 10, 10000));
  config.partition = args.get_or("--partition", "iid");
  usage_unwrap(learn::parse_partition(config.partition), "--partition");
  config.paillier_bits = static_cast<std::size_t>(args.get_int_or(
      "--paillier-bits", 2048, 0, static_cast<std::int64_t>(crypto::kMaxPaillierBits)));
  config.insecure_test_key = args.has("--insecure-test-key");
  usage_unwrap(crypto::check_paillier_bits(config.paillier_bits, config.insecure_test_key),
               "--paillier-bits");
  config.seed = static_cast<std::uint64_t>(args.get_int_or("--seed", 1, 0, INT64_MAX));
  config.round_timeout_s =
      static_cast<std::uint64_t>(args.get_int_or("--round-timeout", 120, 1, 86400));
  if (args.has("--commit-window")) {
    config.commit_window_s =
        static_cast<std::uint64_t>(args.get_int_or("--commit-window", 60, 1, 86400));
  }
  config.challenge_window_s =
      static_cast<std::uint64_t>(args.get_int_or("--challenge-window", 5, 0, 30 * 86400));
  config.exclude_harmful = !args.has("--keep-harmful");
  if (auto behaviours = args.get("--behaviours")) {
    std::string_view rest = *behaviours;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      config.behaviours.emplace_back(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  config.aggregator_behaviour = args.get_or("--aggregator", "honest");
  if (auto dir = args.get("--fashion-mnist")) config.fashion_mnist_dir = *dir;
  config.progress = [&](const std::string& line) { ctx.progress(line); };
  if (fs::exists(config.work_dir) && !fs::is_empty(config.work_dir)) {
    throw UsageError(fmt::format("{} is not empty: give another --work (or --out) directory",
                                 config.work_dir.string()));
  }
  fs::create_directories(out);
  market::TaskOutcome outcome = unwrap(market::run_training_task(config), "running the task");
  fs::copy_file(outcome.model_path, out / "model.pt", fs::copy_options::overwrite_existing);
  fs::copy_file(outcome.passport_path, out / "passport.json", fs::copy_options::overwrite_existing);
  fs::copy_file(outcome.accuracy_svg_path, out / "accuracy.svg",
                fs::copy_options::overwrite_existing);
  write_file(out / "trust.json", std::string_view(market::format_trust_root(outcome.trust)));
  market::VerifyOptions options;
  options.rpc_url = outcome.rpc_url;
  options.trust = &outcome.trust;
  const auto report = market::verify_passport(out / "model.pt", outcome.passport, options);
  ctx.print(fmt::format("model:    {} ({})", (out / "model.pt").string(),
                        outcome.passport.body.model.sealed.cid.to_string()));
  ctx.print(fmt::format("passport: {}", (out / "passport.json").string()));
  ctx.print(fmt::format("trust root: {} (passport verify --trust)", (out / "trust.json").string()));
  ctx.print(fmt::format("initial test accuracy {:.4f}", outcome.initial_accuracy));
  for (const auto& round : outcome.passport.body.rounds) {
    ctx.print(fmt::format(
        "round {}: test accuracy {:.4f}{}", round.round, round.accuracy,
        round.accepted ? "" : " (the aggregator's sum was refused: " + round.reason + ")"));
    for (const auto& exclusion : round.excluded) {
      ctx.print(
          fmt::format("  excluded {}: {}", exclusion.participant.to_checksum(), exclusion.reason));
    }
  }
  ctx.print(fmt::format("the auditor's check (its store, pulled through the gateways): {}",
                        outcome.audit_ok ? "every link holds" : "FAILED"));
  ctx.print(fmt::format("passport verification against the chain: {}",
                        report.ok() ? "every link holds" : "FAILED\n" + report.failures()));
  ctx.result = {{"model", (out / "model.pt").string()},
                {"model_cid", outcome.passport.body.model.sealed.cid.to_string()},
                {"passport", (out / "passport.json").string()},
                {"trust", (out / "trust.json").string()},
                {"accuracy", outcome.accuracy},
                {"audited", outcome.audit_ok},
                {"verified", report.ok()}};
  return report.ok() && outcome.audit_ok ? 0 : 1;
}

const CommandRegistration task_run_command{Command{
    "task",
    "run",
    "run a federated training task end to end (chain, stores, seals, Paillier) in one process",
    "[--out DIR] [--providers N] [--rounds N] [--model logreg|mlp|cnn] [options]",
    {{"--out", true, "where model.pt, passport.json and accuracy.svg go (default demo-out)"},
     {"--work", true, "the parties' repositories (default OUT/work; must be empty)"},
     {"--rpc", true, "an Ethereum JSON-RPC URL (default: a private anvil)"},
     {"--providers", true, "data providers (2..6, default 3)"},
     {"--rounds", true, "training rounds (default 3)"},
     {"--model", true, "logreg (default), mlp or cnn"},
     {"--rows", true, "Fashion-MNIST training rows per provider (default 1000)"},
     {"--test-rows", true, "test rows held by the model provider (default 2000)"},
     {"--partition", true, "iid (default), dirichlet:ALPHA or shards:K"},
     {"--paillier-bits", true, "Paillier modulus size (default 2048; 2048 to 8192)"},
     {"--insecure-test-key", false, "allow a Paillier key from 512 bits (tests only: breakable)"},
     {"--seed", true, "seed for partitioning, model and training (default 1)"},
     {"--round-timeout", true, "seconds the aggregator waits for missing updates (default 120)"},
     {"--commit-window", true,
      "seconds a round takes sealed updates before it reveals without the missing ones "
      "(default: half the round timeout)"},
     {"--challenge-window", true,
      "seconds after the report before rewards can be claimed (default 5)"},
     {"--keep-harmful", false, "do not exclude updates that leave-one-out finds harmful"},
     {"--behaviours", true,
      "data providers' behaviours, comma-separated: honest, poison:scale:S, garbage, "
      "dropout:ROUND, replay"},
     {"--aggregator", true, "the aggregator's behaviour: honest or wrong-aggregate:ROUND"},
     {"--fashion-mnist", true,
      "Fashion-MNIST directory (default /usr/share/datasets/fashion-mnist)"}},
    "Every party (model provider, data providers, aggregator, auditor) runs its role on its own\n"
    "thread with its own store, gateway and account, as separate nodes would. Writes\n"
    "OUT/model.pt (TorchScript), OUT/passport.json and OUT/accuracy.svg, then verifies the\n"
    "passport against the chain; the parties' stores stay in OUT/work (the auditor's in\n"
    "OUT/work/auditor). The private anvil stops when the command ends.",
    run_task_run}};

}  // namespace
}  // namespace cairn::cli

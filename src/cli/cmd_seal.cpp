// Keyless signatures: verify (KSI's policies), sign, extend, calendar serve|publish|status,
// logsign / logverify (a log signed by blocks of lines, one request per block).

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "base/encoding.hpp"
#include "base/file.hpp"
#include "base/json.hpp"
#include "cli/command.hpp"
#include "seal/http/client.hpp"
#include "seal/http/server.hpp"
#include "seal/publication.hpp"
#include "seal/service.hpp"
#include "seal/verify.hpp"

namespace cairn::cli {
namespace {

using namespace cairn::seal;
namespace fs = std::filesystem;

// Signatures, extension answers and publications files are kilobytes; a log's signature
// file holds one signature a line.
constexpr std::uint64_t kSealFileCap = 64ull << 20;

Bytes read_bytes(const fs::path& path) {
  return read_binary_file(path, {}, kSealFileCap);
}

// Signs or verifies the bytes of a file. A directory has no content to sign: hashing it
// would sign the empty string, and every directory would then verify.
Imprint hash_file(const fs::path& path, HashId id) {
  unwrap(file::require_regular_file(path, ""));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CommandError(Error{Errc::io, "cannot read " + path.string()});
  ImprintHasher hasher(id);
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hasher.update(ByteView(reinterpret_cast<const std::byte*>(buffer.data()),
                           static_cast<std::size_t>(in.gcount())));
  }
  return hasher.finish();
}

// ---- verify ----
int run_verify(Context& ctx, const Args& args) {
  std::optional<fs::path> file;
  fs::path signature_path;
  if (args.has("--signature")) {
    args.expect_positional(0, 1);
    signature_path = args.require("--signature");
    if (!args.positional().empty()) file = args.positional(0, "FILE");
  } else {
    args.expect_positional(2, 2);
    file = args.positional(0, "FILE");
    signature_path = args.positional(1, "SIG");
  }
  // A directory has no content: refused before anything is read, whatever the signature.
  if (file) unwrap(file::require_regular_file(*file, "FILE"));
  std::optional<Policy> policy = Policy::general;
  if (auto name = args.get("--policy")) {
    policy = policy_from_name(*name);
    if (!policy || *policy == Policy::general) {
      throw UsageError(
          "--policy is one of internal, key, publications-file, user-publication, "
          "calendar");
    }
  }
  const Bytes bytes = read_bytes(signature_path);
  auto signature = Signature::parse(bytes);
  if (!signature) {
    ctx.result = {
        {"result", "FAIL"}, {"error_code", "PARSE"}, {"message", signature.error().message}};
    ctx.print("FAIL PARSE: " + signature.error().message);
    return kExitFailure;
  }
  VerificationContext vctx;
  vctx.signature = &*signature;
  vctx.input_level = static_cast<std::uint64_t>(args.get_int_or("--input-level", 0, 0, 255));
  vctx.extending_permitted = args.has("--allow-extending");
  if (auto hex = args.get("--hash")) {
    auto imprint = Imprint::from_hex(*hex);
    if (!imprint)
      throw UsageError("--hash is an imprint in hex (algorithm byte + digest): " +
                       imprint.error().message);
    vctx.document_hash = *imprint;
  } else if (file) {
    vctx.document_hash = hash_file(*file, signature->document_hash().algorithm());
  }
  if (auto text = args.get("--pub-string")) {
    vctx.user_publication = unwrap(decode_publication_string(*text), "reading --pub-string");
  }
  std::optional<PublicationsFile> pubfile;
  if (auto path = args.get("--pubfile")) {
    pubfile = unwrap(PublicationsFile::parse(read_bytes(*path)), "reading " + *path);
    TrustOptions trust;
    trust.trusted_pem_files = args.all("--cert");
    unwrap(verify_publications_file(*pubfile, trust), "checking the publications file " + *path);
    vctx.publications_file = &*pubfile;
  }
  std::optional<CalendarChain> response_chain;
  if (auto path = args.get("--extender-response")) {
    auto response = unwrap(parse_extend_response(read_bytes(*path)), "reading " + *path);
    if (response.status != 0 || !response.calendar_chain) {
      throw CommandError(
          Error{Errc::rejected, "the extender response is an error: " + response.error_message});
    }
    response_chain = response.calendar_chain;
    vctx.extender = [response_chain](std::uint64_t,
                                     std::optional<std::uint64_t>) -> Result<CalendarChain> {
      return *response_chain;
    };
  } else if (auto url = args.get("--extender")) {
    auto client = std::make_shared<SealClient>(*url);
    vctx.extender = [client](std::uint64_t aggregation_time, std::optional<std::uint64_t> to) {
      return client->extend(aggregation_time, to);
    };
  }
  const VerificationResult result = verify(vctx, *policy);
  ctx.result = {{"result", verdict_name(result.verdict)},
                {"error_code", result.error_code},
                {"policy", result.policy},
                {"message", result.message},
                {"aggregation_time", signature->aggregation_time()},
                {"document_hash", signature->document_hash().hex()}};
  ctx.print(fmt::format("{}{}{} (decided by the {} policy{}{})", verdict_name(result.verdict),
                        result.error_code.empty() ? "" : " ", result.error_code, result.policy,
                        result.message.empty() ? "" : ": ", result.message));
  ctx.print(fmt::format("signed hash {} at aggregation time {}", signature->document_hash().hex(),
                        signature->aggregation_time()));
  return result.ok() ? kExitOk : kExitFailure;
}

const CommandRegistration verify_command{
    Command{"verify",
            "",
            "verify a KSI keyless signature (KSI's policies; the default chain without --policy)",
            "FILE SIG | --signature SIG [--hash IMPRINT_HEX] [options]",
            {{"--signature", true, "the signature file (TLV 0x0800)"},
             {"--hash", true, "the signed document's imprint in hex (e.g. 01 + SHA-256)"},
             {"--input-level", true, "the document's level in a local tree (default 0)"},
             {"--policy", true, "internal | key | publications-file | user-publication | calendar"},
             {"--pub-string", true, "a publication string to verify against"},
             {"--pubfile", true, "a KSI publications file"},
             {"--cert", true, "trusted certificate (PEM) for the publications file", "", true},
             {"--extender-response", true, "a saved extender response (PDU v2) for extending"},
             {"--extender", true, "a cairn calendar URL to extend against"},
             {"--allow-extending", false, "allow extending the signature to a publication"}},
            "With --json the last line holds result (OK, FAIL, NA), error_code (KSI's, or PARSE)\n"
            "and the policy that decided. Exit 0 only for OK.",
            run_verify}};

// ---- sign ----
int run_sign(Context& ctx, const Args& args) {
  SealClient client(args.require("--server"));
  const std::string client_id = args.get_or("--client", "cairn");
  if (auto hex = args.get("--hash")) {
    args.expect_positional(0, 0);
    auto imprint = Imprint::from_hex(*hex);
    if (!imprint) throw UsageError("--hash: " + imprint.error().message);
    const Signature signature = unwrap(client.sign(*imprint, 0, client_id), "signing");
    const fs::path out = args.require("--output");
    write_file(out, signature.serialize());
    ctx.result = {{"signatures",
                   {{{"hash", imprint->hex()},
                     {"signature", out.string()},
                     {"aggregation_time", signature.aggregation_time()}}}}};
    ctx.print(fmt::format("signed {} -> {}", imprint->hex(), out.string()));
    return kExitOk;
  }
  if (args.positional().empty()) throw UsageError("give files to sign, or --hash");
  if (args.has("--output") && args.positional().size() != 1) {
    throw UsageError("-o names one signature; several files get FILE.ksig each");
  }
  std::vector<Imprint> hashes;
  for (const auto& file : args.positional())
    hashes.push_back(hash_file(file, HashId::sha2_256));
  // One request for all files: the block signer's local tree (KSI's local aggregation).
  const auto signatures = unwrap(
      sign_block(hashes, [&](const Imprint& root,
                             std::uint8_t level) { return client.sign(root, level, client_id); }),
      "signing");
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t i = 0; i < signatures.size(); ++i) {
    const std::string& file = args.positional()[i];
    const fs::path out =
        args.has("--output") ? fs::path(args.require("--output")) : fs::path(file + ".ksig");
    write_file(out, signatures[i].serialize());
    list.push_back({{"file", file},
                    {"hash", hashes[i].hex()},
                    {"signature", out.string()},
                    {"aggregation_time", signatures[i].aggregation_time()}});
    ctx.print(fmt::format("signed {} -> {}", file, out.string()));
  }
  ctx.result = {{"signatures", list}};
  return kExitOk;
}

const CommandRegistration sign_command{
    Command{"sign",
            "",
            "sign files (one request for all of them) or a hash with a cairn signing service",
            "--server URL FILE... [-o SIG] | --server URL --hash IMPRINT_HEX -o SIG",
            {{"--server", true, "the signing service, http://host:port"},
             {"--hash", true, "sign this imprint instead of files"},
             {"--output", true, "signature file (one file or --hash)", "-o"},
             {"--client", true, "client id recorded in the signature's metadata"}},
            "",
            run_sign}};

// ---- extend ----
int run_extend(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const fs::path path = args.positional(0, "SIG");
  SealClient client(args.require("--server"));
  const Signature signature =
      unwrap(Signature::parse(read_bytes(path)), "reading " + path.string());
  const Bytes file_bytes = unwrap(client.publications_file(), "fetching publications");
  const PublicationsFile pubfile = unwrap(PublicationsFile::parse(file_bytes), "publications file");
  if (auto certs = args.all("--cert"); !certs.empty()) {
    TrustOptions trust;
    trust.trusted_pem_files = certs;
    unwrap(verify_publications_file(pubfile, trust), "checking the publications file");
  }
  const PublicationRecord* publication =
      pubfile.first_publication_after(signature.aggregation_time());
  if (publication == nullptr) {
    throw CommandError(Error{Errc::not_found,
                             "no publication after the signature yet; run "
                             "`cairn calendar publish` later"});
  }
  const CalendarChain chain = unwrap(
      client.extend(signature.aggregation_time(), publication->data.publication_time), "extending");
  const Signature extended = unwrap(extend_signature(signature, chain, *publication));
  VerificationContext vctx;
  vctx.signature = &extended;
  vctx.publications_file = &pubfile;
  const auto check = verify(vctx, Policy::publications_file);
  if (!check.ok()) {
    throw CommandError(Error{Errc::integrity, "the extended signature does not verify: " +
                                                  check.error_code + " " + check.message});
  }
  const fs::path out = args.get_or("--output", path.string());
  write_file(out, extended.serialize());
  const std::string pub_string = encode_publication_string(publication->data);
  ctx.result = {{"signature", out.string()},
                {"publication_time", publication->data.publication_time},
                {"publication_string", pub_string}};
  ctx.print(fmt::format("extended to publication {} -> {}", pub_string, out.string()));
  return kExitOk;
}

const CommandRegistration extend_command{Command{
    "extend",
    "",
    "extend a signature to the service's first publication after it",
    "--server URL SIG [-o OUT]",
    {{"--server", true, "the signing service, http://host:port"},
     {"--output", true, "where to write the extended signature (default: replace SIG)", "-o"},
     {"--cert", true, "trusted certificate for the publications file", "", true}},
    "",
    run_extend}};

// ---- calendar ----
int run_calendar_serve(Context& ctx, const Args& args) {
  const std::string listen = args.get_or("--listen", "127.0.0.1:8180");
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw UsageError("--listen is HOST:PORT");
  const std::string host = listen.substr(0, colon);
  const int port = static_cast<int>(std::stol(listen.substr(colon + 1)));
  ServiceOptions options;
  options.repo = ctx.repo / "seal";
  options.round = std::chrono::milliseconds(args.get_int_or("--round-ms", 1000, 10, 3'600'000));
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto service = unwrap(SigningService::open(options), "opening the calendar");
  SealServer server(*service, static_cast<std::size_t>(args.get_int_or("--threads", 256, 1, 4096)));
  unwrap(server.start(host, port));
  std::printf("cairn calendar listening on http://%s:%d (repo %s)\n", host.c_str(), server.port(),
              options.repo.c_str());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server.stop();
  ctx.result = {{"stopped_by", signal_number}};
  return kExitOk;
}

const CommandRegistration calendar_serve{Command{
    "calendar",
    "serve",
    "run the signing service (aggregator, calendar, extender, publications) over HTTP",
    "--repo DIR --listen HOST:PORT [--round-ms N]",
    {{"--listen", true, "address to listen on (default 127.0.0.1:8180)"},
     {"--round-ms", true, "aggregation round length in ms (10..; default 1000)"},
     {"--threads", true, "HTTP worker threads (default 256)"}},
    "State lives in REPO/seal: keys/, calendar/calendar.dat, publications.tlv, publications.bin.",
    run_calendar_serve}};

int run_calendar_publish(Context& ctx, const Args& args) {
  SealClient client(args.require("--server"));
  const PublishResult result = unwrap(client.publish(), "publishing");
  ctx.result = {{"publication_time", result.publication_time},
                {"publication_string", result.publication_string}};
  ctx.print(result.publication_string);
  return kExitOk;
}

const CommandRegistration calendar_publish{
    Command{"calendar",
            "publish",
            "publish the calendar root at its head (publication string + publications file)",
            "--server URL",
            {{"--server", true, "the signing service, http://host:port"}},
            "",
            run_calendar_publish}};

int run_calendar_status(Context& ctx, const Args& args) {
  SealClient client(args.require("--server"));
  const std::string body = unwrap(client.status(), "asking for status");
  ctx.result = unwrap(parse_json(body, "the signing service's status"));
  ctx.print(body);
  return kExitOk;
}

const CommandRegistration calendar_status{
    Command{"calendar",
            "status",
            "show the signing service's counters and calendar head",
            "--server URL",
            {{"--server", true, "the signing service, http://host:port"}},
            "",
            run_calendar_status}};

// ---- logsign / logverify ----
std::vector<std::string> read_lines(const fs::path& path) {
  unwrap(file::require_regular_file(path, "the log"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CommandError(Error{Errc::io, "cannot read " + path.string()});
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line))
    lines.push_back(line);
  return lines;
}

fs::path log_signature_path(const fs::path& log) {
  return fs::path(log.string() + ".ksigs");
}

int run_logsign(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const fs::path log = args.positional(0, "LOGFILE");
  SealClient client(args.require("--server"));
  const auto block = static_cast<std::size_t>(args.get_int_or("--block", 100'000, 1, 10'000'000));
  const auto lines = read_lines(log);
  if (lines.empty()) throw CommandError(Error{Errc::invalid_argument, log.string() + " is empty"});
  Bytes out;
  std::size_t requests = 0;
  for (std::size_t start = 0; start < lines.size(); start += block) {
    std::vector<Imprint> hashes;
    for (std::size_t i = start; i < std::min(lines.size(), start + block); ++i) {
      hashes.push_back(hash_data(HashId::sha2_256, as_bytes(lines[i])));
    }
    const auto signatures = unwrap(sign_block(hashes,
                                              [&](const Imprint& root, std::uint8_t level) {
                                                ++requests;
                                                return client.sign(root, level, "cairn-logsign");
                                              }),
                                   "signing block");
    for (const auto& signature : signatures)
      append(out, signature.serialize());
    ctx.progress(fmt::format("signed lines {}..{}", start + 1, start + hashes.size()));
  }
  write_file(log_signature_path(log), out);
  ctx.result = {{"lines", lines.size()},
                {"requests", requests},
                {"signatures", log_signature_path(log).string()}};
  ctx.print(fmt::format("signed {} lines with {} request(s) -> {}", lines.size(), requests,
                        log_signature_path(log).string()));
  return kExitOk;
}

const CommandRegistration logsign_command{
    Command{"logsign",
            "",
            "sign every line of a log, one request per block of lines",
            "--server URL LOGFILE [--block N]",
            {{"--server", true, "the signing service, http://host:port"},
             {"--block", true, "lines per request (default 100000)"}},
            "Writes LOGFILE.ksigs: one signature per line, in order.",
            run_logsign}};

int run_logverify(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const fs::path log = args.positional(0, "LOGFILE");
  const auto lines = read_lines(log);
  const Bytes all = read_bytes(args.get_or("--signatures", log_signature_path(log).string()));
  std::vector<Signature> signatures;
  for (std::size_t offset = 0; offset < all.size();) {
    const std::size_t start = offset;
    if (!read_tlv(all, offset)) break;
    auto signature = Signature::parse(ByteView(all).subspan(start, offset - start));
    if (!signature)
      throw CommandError(Error{Errc::parse, "signature " + std::to_string(signatures.size() + 1) +
                                                ": " + signature.error().message});
    signatures.push_back(std::move(*signature));
  }
  std::shared_ptr<SealClient> client;
  if (auto url = args.get("--server")) client = std::make_shared<SealClient>(*url);
  std::size_t first = 0, last = lines.size();
  if (auto n = args.get_int("--line", 1,
                            static_cast<std::int64_t>(std::max<std::size_t>(1, lines.size())))) {
    first = static_cast<std::size_t>(*n - 1);
    last = first + 1;
  }
  std::size_t bad = 0;
  nlohmann::json failures = nlohmann::json::array();
  if (signatures.size() != lines.size()) {
    ctx.print(fmt::format("{} lines but {} signatures: lines were added or removed", lines.size(),
                          signatures.size()));
  }
  for (std::size_t i = first; i < last; ++i) {
    if (i >= signatures.size()) {
      ++bad;
      failures.push_back({{"line", i + 1}, {"error_code", "MISSING"}});
      continue;
    }
    VerificationContext vctx;
    vctx.signature = &signatures[i];
    vctx.document_hash = hash_data(HashId::sha2_256, as_bytes(lines[i]));
    if (client) {
      vctx.extender = [client](std::uint64_t t, std::optional<std::uint64_t> to) {
        return client->extend(t, to);
      };
    }
    const auto result = verify(vctx, client ? Policy::calendar : Policy::internal);
    if (!result.ok()) {
      ++bad;
      failures.push_back({{"line", i + 1}, {"error_code", result.error_code}});
      ctx.print(
          fmt::format("line {}: {} {}", i + 1, verdict_name(result.verdict), result.error_code));
    }
  }
  const bool ok = bad == 0 && (args.has("--line") || signatures.size() == lines.size());
  ctx.result = {{"result", ok ? "OK" : "FAIL"},
                {"checked", last - first},
                {"failed", failures},
                {"policy", client ? "calendar" : "internal"}};
  ctx.print(
      fmt::format("{}: {} line(s) checked, {} failed", ok ? "OK" : "FAIL", last - first, bad));
  return ok ? kExitOk : kExitFailure;
}

const CommandRegistration logverify_command{Command{
    "logverify",
    "",
    "check a signed log: one line (--line N) or every line",
    "LOGFILE [--line N] [--server URL]",
    {{"--line", true, "check only this line (1-based)"},
     {"--signatures", true, "signature file (default LOGFILE.ksigs)"},
     {"--server", true, "also check each signature against this calendar (calendar policy)"}},
    "",
    run_logverify}};

}  // namespace
}  // namespace cairn::cli

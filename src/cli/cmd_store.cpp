// The store's commands: add, cat, get, car export|import, pin add|rm|ls, gc, repo verify,
// gateway serve, fetch. Each opens the repository (--repo) only as long as it runs.

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "base/file.hpp"
#include "cli/command.hpp"
#include "net/url.hpp"
#include "store/car.hpp"
#include "store/exporter.hpp"
#include "store/gateway.hpp"
#include "store/gateway_client.hpp"
#include "store/importer.hpp"
#include "store/repo.hpp"

namespace cairn::cli {
namespace {

using store::Cid;

// Takes a CID as kubo users write it too: "/ipfs/CID" is the same CID. A path inside a DAG
// ("CID/dir/file") is named as such rather than failing as a malformed CID.
Cid parse_cid(const std::string& text) {
  std::string_view cid_text = text;
  if (cid_text.starts_with("/ipfs/")) cid_text.remove_prefix(6);
  if (const auto slash = cid_text.find('/'); slash != std::string_view::npos) {
    throw UsageError("'" + text +
                     "' is a path inside a DAG, which cairn does not resolve; give the CID of "
                     "the file itself (`cairn add` prints one per file)");
  }
  auto cid = store::Cid::parse(cid_text);
  if (!cid) throw UsageError("'" + text + "' is not a CID: " + cid.error().message);
  return *cid;
}

std::unique_ptr<store::Repo> open_repo(const Context& ctx, store::RepoAccess access) {
  return unwrap(store::Repo::open(ctx.repo, access));
}

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < (1u << 20)) return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
  if (bytes < (1u << 30)) return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
  return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / (1 << 30));
}

// Total content bytes below `path`, for progress percentages.
std::uint64_t content_size(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return std::filesystem::file_size(path, ec);
  std::uint64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

// Writes to a FILE* (standard output, a device) or to an atomic writer (a regular file),
// turning short writes into errors that name the destination.
class OutputFile {
 public:
  OutputFile(std::FILE* file, std::string name) : file_(file), name_(std::move(name)) {}
  explicit OutputFile(file::AtomicWriter& writer)
      : writer_(&writer), name_(writer.path().string()) {}
  Status write(ByteView bytes) {
    if (bytes.empty()) return {};
    if (writer_ != nullptr) return writer_->write(bytes);
    if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) return failure();
    return {};
  }
  Status finish() {
    if (writer_ != nullptr) return writer_->commit();
    if (std::fflush(file_) != 0 || std::ferror(file_)) return failure();
    if (file_ != stdout && ::fsync(fileno(file_)) != 0 && errno != EINVAL) return failure();
    return {};
  }

 private:
  Status failure() const {
    const int error = errno;
    return fail(Errc::io, fmt::format("writing {}: {}", name_,
                                      error != 0 ? std::strerror(error) : "write failed"));
  }
  std::FILE* file_ = nullptr;
  file::AtomicWriter* writer_ = nullptr;
  std::string name_;
};

// With --json the last line of standard output is the JSON object; data written to
// standard output as well would run into it.
void refuse_json_beside_data(const Context& ctx, const std::filesystem::path& output) {
  if (ctx.json && output == "-") {
    throw UsageError("--json needs --output FILE: the data itself goes to standard output");
  }
}

// Writes a file through a temporary name beside it, renamed into place when complete, so
// a failure never leaves a partial file under the final name.
void write_file_atomically(const std::filesystem::path& path,
                           const std::function<Status(OutputFile&)>& produce) {
  if (path == "-") {
    OutputFile out(stdout, "standard output");
    unwrap(produce(out));
    unwrap(out.finish());
    return;
  }
  std::error_code type_error;
  const auto type = std::filesystem::symlink_status(path, type_error).type();
  if (type == std::filesystem::file_type::symlink ||
      type == std::filesystem::file_type::character || type == std::filesystem::file_type::block ||
      type == std::filesystem::file_type::fifo || type == std::filesystem::file_type::socket) {
    // Renaming onto a symbolic link or a device (/dev/stdout, /dev/full, a FIFO) would
    // replace it; write through it instead.
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) {
      throw CommandError(
          Error{Errc::io, fmt::format("cannot open {}: {}", path.string(), std::strerror(errno))});
    }
    OutputFile out(file, path.string());
    auto status = produce(out);
    if (status) status = out.finish();
    std::fclose(file);
    unwrap(std::move(status));
    return;
  }
  auto writer = unwrap(file::AtomicWriter::create(path));
  OutputFile out(writer);
  unwrap(produce(out));
  unwrap(out.finish());
}

// --- add --------------------------------------------------------------------------------

int run_add(Context& ctx, const Args& args) {
  if (args.positional().empty()) throw UsageError("missing FILE or DIR to add");
  const bool only_hash = args.has("--only-hash");
  // kubo's -Q: print only the last root's CID. (Its -r is accepted and changes nothing:
  // directories are always added whole.)
  const bool quieter = args.has("--quieter");
  std::unique_ptr<store::Repo> repo;
  store::DiscardingSink discard;
  store::BlockSink* sink = &discard;
  if (!only_hash) {
    repo = open_repo(ctx, store::RepoAccess::write);
    sink = &repo->blocks();
  }
  nlohmann::json entries = nlohmann::json::array();
  nlohmann::json roots = nlohmann::json::array();
  for (const std::string& arg : args.positional()) {
    const std::filesystem::path path(arg);
    const std::uint64_t total = content_size(path);
    const auto started = std::chrono::steady_clock::now();
    std::uint64_t next_report = 16u << 20;
    store::ImportOptions options;
    options.progress = [&](std::uint64_t done) {
      if (done < next_report) return;
      while (next_report <= done)
        next_report += 16u << 20;
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const auto done_bytes = static_cast<double>(done);
      ctx.progress(fmt::format("adding {}: {} of {} ({:.0f}%, {:.0f} MiB/s)", arg,
                               human_bytes(done), human_bytes(total),
                               total ? 100.0 * done_bytes / static_cast<double>(total) : 100.0,
                               seconds > 0 ? done_bytes / seconds / (1 << 20) : 0.0));
    };
    const auto imported = unwrap(store::import_path(path, *sink, options), "adding " + arg);
    if (imported.empty())
      throw CommandError(Error{Errc::internal, "the importer returned nothing"});
    const auto& root = imported.back();
    if (repo) {
      // The pin is the claim that the DAG is complete, so it is written only after the
      // blocks are durable (Blockstore::pin syncs, checks, then records).
      unwrap(repo->blocks().pin(root.cid, path.filename().string()), "pinning " + arg);
    }
    for (const auto& entry : imported) {
      if (!quieter) ctx.print(fmt::format("added {} {}", entry.cid.to_string(), entry.path));
      entries.push_back({{"path", entry.path},
                         {"cid", entry.cid.to_string()},
                         {"size", entry.size},
                         {"directory", entry.directory}});
    }
    roots.push_back(root.cid.to_string());
  }
  if (quieter) ctx.print(roots.back().get<std::string>());
  ctx.result["root"] = roots.back();
  ctx.result["roots"] = roots;
  ctx.result["entries"] = entries;
  ctx.result["pinned"] = !only_hash;
  return kExitOk;
}

// --- cat / get --------------------------------------------------------------------------

// --max-bytes: a file whose declared size is larger (or a tree whose files add up to more)
// is refused before anything is written.
store::ExportLimits export_limits(const Args& args) {
  store::ExportLimits limits;
  if (const auto cap = args.get_bytes("--max-bytes")) limits.max_bytes = *cap;
  return limits;
}

int run_cat(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const Cid cid = parse_cid(args.positional(0, "CID"));
  auto repo = open_repo(ctx, store::RepoAccess::snapshot);
  const std::string output = args.get_or("--output", "-");
  refuse_json_beside_data(ctx, output);
  std::uint64_t written = 0;
  write_file_atomically(output, [&](OutputFile& out) -> Status {
    return store::export_file(
        cid, repo->blocks(),
        [&](ByteView bytes) -> Status {
          written += bytes.size();
          return out.write(bytes);
        },
        export_limits(args));
  });
  if (output != "-")
    ctx.print(fmt::format("wrote {} bytes of {} to {}", written, cid.to_string(), output));
  ctx.result = {{"cid", cid.to_string()}, {"bytes", written}};
  if (output != "-") ctx.result["output"] = output;
  return kExitOk;
}

int run_get(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const Cid cid = parse_cid(args.positional(0, "CID"));
  const std::filesystem::path output = args.get_or("--output", cid.to_string());
  auto repo = open_repo(ctx, store::RepoAccess::snapshot);
  unwrap(store::export_to_path(cid, repo->blocks(), output, export_limits(args)),
         "getting " + cid.to_string());
  ctx.print(fmt::format("saved {} to {}", cid.to_string(), output.string()));
  ctx.result = {{"cid", cid.to_string()}, {"output", output.string()}};
  return kExitOk;
}

// --- car --------------------------------------------------------------------------------

int run_car_export(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const Cid cid = parse_cid(args.positional(0, "CID"));
  const std::filesystem::path output = args.get_or("--output", cid.to_string() + ".car");
  refuse_json_beside_data(ctx, output);
  auto repo = open_repo(ctx, store::RepoAccess::snapshot);
  std::uint64_t bytes = 0;
  write_file_atomically(output, [&](OutputFile& out) -> Status {
    return store::write_car(cid, repo->blocks(), [&](ByteView piece) -> Status {
      bytes += piece.size();
      return out.write(piece);
    });
  });
  if (output != "-")
    ctx.print(fmt::format("exported {} to {} ({} bytes)", cid.to_string(), output.string(), bytes));
  ctx.result = {{"root", cid.to_string()}, {"output", output.string()}, {"bytes", bytes}};
  return kExitOk;
}

int run_car_import(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const std::filesystem::path input = args.positional(0, "CAR file");
  auto repo = open_repo(ctx, store::RepoAccess::write);
  auto& blocks = repo->blocks();
  store::CarImportOptions options;
  options.existing = &blocks;
  options.require_complete = !args.has("--no-pin");
  const auto report =
      unwrap(store::import_car_file(input, blocks, options), "importing " + input.string());
  unwrap(blocks.flush());
  nlohmann::json roots = nlohmann::json::array();
  for (const auto& root : report.roots) {
    if (!args.has("--no-pin")) unwrap(blocks.pin(root, input.filename().string()));
    roots.push_back(root.to_string());
    ctx.print(
        fmt::format("imported {}{}", root.to_string(), args.has("--no-pin") ? "" : " (pinned)"));
  }
  ctx.print(fmt::format("{} blocks, {} from {}", report.blocks, human_bytes(report.bytes),
                        input.string()));
  ctx.result = {{"roots", roots}, {"blocks", report.blocks}, {"bytes", report.bytes}};
  return kExitOk;
}

// --- pins, gc, verify -------------------------------------------------------------------

int run_pin_add(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const Cid cid = parse_cid(args.positional(0, "CID"));
  auto repo = open_repo(ctx, store::RepoAccess::write);
  unwrap(repo->blocks().pin(cid, args.get_or("--name", "")));
  ctx.print(fmt::format("pinned {}", cid.to_string()));
  ctx.result = {{"pinned", cid.to_string()}};
  return kExitOk;
}

int run_pin_rm(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const Cid cid = parse_cid(args.positional(0, "CID"));
  auto repo = open_repo(ctx, store::RepoAccess::write);
  unwrap(repo->blocks().unpin(cid));
  ctx.print(fmt::format("unpinned {}", cid.to_string()));
  ctx.result = {{"unpinned", cid.to_string()}};
  return kExitOk;
}

int run_pin_ls(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  auto repo = open_repo(ctx, store::RepoAccess::snapshot);
  const auto pins = unwrap(repo->blocks().pins());
  nlohmann::json list = nlohmann::json::array();
  for (const auto& pin : pins) {
    ctx.print(fmt::format("{} recursive{}{}", pin.cid.to_string(), pin.name.empty() ? "" : " ",
                          pin.name));
    list.push_back({{"cid", pin.cid.to_string()}, {"name", pin.name}, {"created", pin.created}});
  }
  ctx.result = {{"pins", list}};
  return kExitOk;
}

int run_gc(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  auto repo = open_repo(ctx, store::RepoAccess::write);
  const auto report = unwrap(repo->blocks().gc());
  ctx.print(fmt::format("removed {} blocks ({}), kept {} blocks ({})", report.blocks_removed,
                        human_bytes(report.bytes_freed), report.blocks_kept,
                        human_bytes(report.bytes_kept)));
  ctx.result = {{"blocks_removed", report.blocks_removed},
                {"bytes_freed", report.bytes_freed},
                {"blocks_kept", report.blocks_kept},
                {"bytes_kept", report.bytes_kept}};
  return kExitOk;
}

int run_repo_verify(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  auto repo = open_repo(ctx, store::RepoAccess::read);
  auto& blocks = repo->blocks();
  const auto report = unwrap(blocks.verify_all());
  nlohmann::json problems = report.problems;
  // Every pin must still name a complete DAG.
  const auto pins = unwrap(blocks.pins());
  for (const auto& pin : pins) {
    const auto walked = store::write_car(pin.cid, blocks, [](ByteView) -> Status { return {}; });
    if (!walked)
      problems.push_back(fmt::format("pin {}: {}", pin.cid.to_string(), walked.error().message));
  }
  for (const auto& problem : problems)
    ctx.print(fmt::format("problem: {}", problem.get<std::string>()));
  ctx.print(fmt::format("{} blocks ({}) and {} pins checked, {} problems", report.blocks,
                        human_bytes(report.bytes), pins.size(), problems.size()));
  ctx.result = {{"blocks", report.blocks},
                {"bytes", report.bytes},
                {"pins", pins.size()},
                {"problems", problems}};
  if (!problems.empty()) {
    throw CommandError(Error{Errc::integrity, fmt::format("the repository {} has {} problems",
                                                          ctx.repo.string(), problems.size())});
  }
  return kExitOk;
}

// --- gateway / fetch --------------------------------------------------------------------

std::pair<std::string, std::uint16_t> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw UsageError(fmt::format("--listen '{}' is not HOST:PORT", text));
  }
  const std::string port_text = text.substr(colon + 1);
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    throw UsageError(fmt::format("--listen '{}': '{}' is not a port number", text, port_text));
  }
  return {text.substr(0, colon), static_cast<std::uint16_t>(port)};
}

int run_gateway_serve(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  const auto [host, port] = parse_listen(args.get_or("--listen", "127.0.0.1:8080"));
  // Without the lock, following what a writer beside it (`cairn add`) makes durable.
  auto source = unwrap(store::FollowingSnapshot::open(ctx.repo), "opening " + ctx.repo.string());
  // Block the stop signals before any thread starts, so every thread inherits the mask
  // and this one receives them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  store::GatewayOptions options;
  options.host = host;
  options.port = port;
  options.deserialized = !args.has("--trustless");
  store::Gateway gateway(*source, options);
  unwrap(gateway.start());
  const std::string url = gateway.url();
  if (const auto port_file = args.get("--port-file")) {
    write_file(*port_file, fmt::format("{}\n", gateway.port()));
  }
  ctx.print(fmt::format("gateway serving {} at {}/ipfs/<cid> (read-only; `add` works beside it)",
                        ctx.repo.string(), url));
  std::fflush(stdout);
  ctx.progress("press Ctrl-C to stop");
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  ctx.progress(
      fmt::format("stopping the gateway ({})", signal_number == SIGINT ? "SIGINT" : "SIGTERM"));
  gateway.stop();
  ctx.result = {{"url", url}, {"stopped_by", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}};
  return kExitOk;
}

int run_fetch(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const Cid cid = parse_cid(args.positional(0, "CID"));
  const std::string url = args.require("--from");
  auto repo = open_repo(ctx, store::RepoAccess::write);
  auto& blocks = repo->blocks();
  store::FetchOptions options;
  options.temp_dir = unwrap(repo->temp_dir());
  options.blocks_only = args.has("--blocks");
  options.existing = &blocks;
  options.timeout_seconds = static_cast<int>(args.get_int_or("--timeout", 60, 1, 3600));
  if (const auto cap = args.get_bytes("--max-bytes")) options.max_bytes = *cap;
  std::uint64_t next_report = 16u << 20;
  options.progress = [&](std::uint64_t received) {
    if (received < next_report) return;
    while (next_report <= received)
      next_report += 16u << 20;
    ctx.progress(fmt::format("fetching {}: {} received", cid.to_string(), human_bytes(received)));
  };
  const auto report =
      unwrap(store::fetch(url, cid, blocks, options), "fetching " + cid.to_string());
  const std::string shown = net::redact_url(url);
  unwrap(blocks.pin(cid, "fetched from " + shown));
  ctx.print(fmt::format("fetched {} from {}: {} blocks, {} (verified, pinned)", cid.to_string(),
                        shown, report.blocks, human_bytes(report.bytes)));
  ctx.result = {{"cid", cid.to_string()},      {"from", shown},
                {"blocks", report.blocks},     {"bytes", report.bytes},
                {"requests", report.requests}, {"bytes_received", report.bytes_received}};
  return kExitOk;
}

// --- registration -----------------------------------------------------------------------

const OptionSpec kOutput{"--output", true, "where to write", "-o"};
const OptionSpec kExportCap{"--max-bytes", true,
                            "refuse a file (or tree) declaring more than this, e.g. 512MiB"};

const CommandRegistration add_command{Command{
    "add",
    "",
    "add files or directories to the store (UnixFS, CIDv1)",
    "FILE|DIR... [--only-hash]",
    {{"--only-hash", false, "compute the CIDs without storing anything", "-n"},
     {"--recursive", false, "accepted for kubo's -r: directories are always added whole", "-r"},
     {"--quieter", false, "print only the root CID (kubo's -Q)", "-Q"}},
    "Prints `added <cid> <path>` for every file and directory, the given path's root last,\n"
    "and pins each root. CIDs are those of `ipfs add --cid-version=1`.",
    run_add}};
const CommandRegistration cat_command{Command{"cat",
                                              "",
                                              "write a file's bytes to standard output or a file",
                                              "CID [-o FILE] [--max-bytes N]",
                                              {kOutput, kExportCap},
                                              "",
                                              run_cat}};
const CommandRegistration get_command{
    Command{"get",
            "",
            "write a file or directory tree out of the store",
            "CID [-o PATH] [--max-bytes N]",
            {kOutput, kExportCap},
            "PATH must not exist; it is created complete or not at all (default ./CID).",
            run_get}};
const CommandRegistration car_export_command{
    Command{"car",
            "export",
            "write the DAG below a CID as a CARv1 file",
            "CID [-o FILE.car]",
            {kOutput},
            "Depth-first, each block once, as `ipfs dag export`. -o - writes to stdout.",
            run_car_export}};
const CommandRegistration car_import_command{
    Command{"car",
            "import",
            "import a CARv1 file (all of it or nothing) and pin its roots",
            "FILE.car [--no-pin]",
            {{"--no-pin", false, "store the blocks without pinning (or checking) the roots"}},
            "Every block is checked against its CID and each root's DAG must be complete before\n"
            "anything is stored; the first problem rejects the whole file.",
            run_car_import}};
const CommandRegistration pin_add_command{Command{"pin",
                                                  "add",
                                                  "pin a DAG that is complete in the store",
                                                  "CID [--name NAME]",
                                                  {{"--name", true, "a label for the pin"}},
                                                  "",
                                                  run_pin_add}};
const CommandRegistration pin_rm_command{
    Command{"pin", "rm", "remove a pin (gc then frees its blocks)", "CID", {}, "", run_pin_rm}};
const CommandRegistration pin_ls_command{
    Command{"pin", "ls", "list pinned roots", "", {}, "", run_pin_ls}};
const CommandRegistration gc_command{
    Command{"gc", "", "delete every block not reachable from a pin", "", {}, "", run_gc}};
const CommandRegistration repo_verify_command{
    Command{"repo",
            "verify",
            "re-hash every stored block and walk every pinned DAG",
            "",
            {},
            "",
            run_repo_verify}};
const CommandRegistration gateway_serve_command{Command{
    "gateway",
    "serve",
    "serve the store over the trustless HTTP gateway until SIGINT/SIGTERM",
    "[--listen HOST:PORT] [--trustless] [--port-file FILE]",
    {{"--listen", true, "address to listen on (default 127.0.0.1:8080; port 0 picks one)"},
     {"--trustless", false, "serve only raw blocks and CARs (no deserialised files)"},
     {"--port-file", true, "write the port to FILE once listening"}},
    "GET /ipfs/{cid}?format=raw|car, or Accept: application/vnd.ipld.raw|application/vnd.ipld.car.",
    run_gateway_serve}};
const CommandRegistration fetch_command{
    Command{"fetch",
            "",
            "pull a DAG from another node's gateway, verify all of it, pin it",
            "--from URL CID [--blocks] [--max-bytes N]",
            {{"--from", true, "the gateway, e.g. http://127.0.0.1:8080"},
             {"--blocks", false, "one raw-block request per block instead of one CAR"},
             {"--timeout", true, "seconds to wait for the gateway (default 60)"},
             {"--max-bytes", true,
              "the most the download may take, e.g. 512MiB (default 4GiB); more is refused"}},
            "",
            run_fetch}};

}  // namespace
}  // namespace cairn::cli

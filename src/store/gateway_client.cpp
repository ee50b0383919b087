#include "store/gateway_client.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <limits>
#include <unordered_set>

#include "net/client.hpp"
#include "net/url.hpp"
#include "store/car.hpp"
#include "store/dag.hpp"

namespace cairn::store {
namespace {

// A temporary file that is removed when it goes out of scope.
class TempFile {
 public:
  explicit TempFile(std::filesystem::path path) : path_(std::move(path)) {}
  ~TempFile() {
    if (file_ != nullptr) std::fclose(file_);
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  Status open() {
    file_ = std::fopen(path_.c_str(), "wb");
    if (file_ == nullptr) {
      return fail(Errc::io,
                  fmt::format("cannot create {}: {}", path_.string(), std::strerror(errno)));
    }
    return {};
  }
  bool write(const void* data, std::size_t size) {
    return std::fwrite(data, 1, size, file_) == size;
  }
  Status close() {
    const bool ok = std::fflush(file_) == 0 && std::ferror(file_) == 0;
    std::fclose(file_);
    file_ = nullptr;
    if (!ok) {
      return fail(Errc::io, fmt::format("writing {}: {} (is the disk full?)", path_.string(),
                                        std::strerror(errno)));
    }
    return {};
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

std::filesystem::path temp_name(const FetchOptions& options, const Cid& root) {
  static std::atomic<unsigned> counter{0};
  return options.temp_dir /
         fmt::format("fetch-{}-{}-{}.car", root.to_string(), ::getpid(), counter++);
}

std::string cap_text(std::uint64_t bytes) {
  if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0) return fmt::format("{} GiB", bytes >> 30);
  if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{} bytes", bytes);
}

// A request's failure, named by what was fetched and where; a cap refusal says which cap.
Error fetch_failure(Error error, const net::Url& url, const Cid& cid, std::string_view what,
                    std::uint64_t cap, std::string_view cap_name) {
  if (error.code == Errc::rejected && error.message.find("cap of") != std::string::npos) {
    error.message += fmt::format(" (the {} cap is {})", cap_name, cap_text(cap));
  }
  return std::move(error).context(
      fmt::format("fetching {} {} from the gateway {}", what, cid.to_string(), url.redacted()));
}

net::ClientOptions client_options(const FetchOptions& options) {
  net::ClientOptions client;
  const auto timeout = std::chrono::seconds(std::max(1, options.timeout_seconds));
  client.connect_timeout = std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(10));
  client.read_timeout = timeout;
  // A large DAG takes as long as it takes; every read has its own timeout.
  client.deadline = std::chrono::milliseconds(0);
  return client;
}

// Downloads the CAR of the whole DAG into `file`, under the fetch cap.
Status download_car(net::Client& client, const Cid& root, TempFile& file,
                    const FetchOptions& options, FetchReport& report) {
  net::ClientRequest request;
  request.path = fmt::format("/ipfs/{}?format=car&dag-scope=all", root.to_string());
  request.headers.set("Accept", "application/vnd.ipld.car; version=1; order=dfs; dups=n");
  request.max_response_bytes = static_cast<std::size_t>(
      std::min<std::uint64_t>(options.max_bytes, std::numeric_limits<std::size_t>::max()));
  bool write_failed = false;
  ++report.requests;
  auto response = client.stream(request, [&](ByteView data) -> Status {
    report.bytes_received += data.size();
    if (!file.write(data.data(), data.size())) {
      write_failed = true;
      return fail(Errc::io, fmt::format("writing the download to {}: {}", file.path().string(),
                                        std::strerror(errno)));
    }
    if (options.progress) options.progress(report.bytes_received);
    return {};
  });
  if (!response) {
    if (write_failed) return std::unexpected(std::move(response).error());
    return std::unexpected(fetch_failure(std::move(response).error(), client.url(), root,
                                         "the CAR of", options.max_bytes, "fetch"));
  }
  const std::string type = response->content_type();
  if (!type.starts_with("application/vnd.ipld.car")) {
    return fail(
        Errc::rejected,
        fmt::format("the gateway {} sent '{}' instead of a CAR for {}", client.url().redacted(),
                    type.empty() ? "no content type" : type.substr(0, 80), root.to_string()));
  }
  return file.close();
}

// Walks the DAG with one raw-block request per block, writing a CAR of what it gets.
// Each block is capped at kMaxFetchedBlockBytes, and all of them together at the fetch cap.
Status download_blocks(net::Client& client, const Cid& root, TempFile& file,
                       const FetchOptions& options, FetchReport& report) {
  const Cid roots[] = {root};
  const Bytes header = encode_car_header(roots);
  if (!file.write(header.data(), header.size())) return fail(Errc::io, "writing the download");
  std::unordered_set<Cid> seen;
  std::vector<Cid> stack{root};
  while (!stack.empty()) {
    Cid cid = std::move(stack.back());
    stack.pop_back();
    if (!seen.insert(cid).second || cid.hash().code == multihash_code::kIdentity) continue;
    Bytes block;
    bool local = false;
    if (options.existing != nullptr) {
      CAIRN_TRY_ASSIGN(local, options.existing->has(cid));
      if (local && cid.codec() != codec::kRaw) {
        CAIRN_TRY_ASSIGN(block, options.existing->get(cid));
      }
    }
    if (!local) {
      const std::uint64_t left =
          options.max_bytes - std::min(options.max_bytes, report.bytes_received);
      if (left == 0) {
        return fail(
            Errc::rejected,
            fmt::format("fetching {} from the gateway {}: the blocks passed the fetch "
                        "cap of {}",
                        root.to_string(), client.url().redacted(), cap_text(options.max_bytes)));
      }
      const bool block_cap = left >= kMaxFetchedBlockBytes;
      net::ClientRequest request;
      request.path = fmt::format("/ipfs/{}?format=raw", cid.to_string());
      request.headers.set("Accept", "application/vnd.ipld.raw");
      request.max_response_bytes =
          block_cap ? kMaxFetchedBlockBytes : static_cast<std::size_t>(left);
      ++report.requests;
      auto response = client.send(request);
      if (!response) {
        const Error& error = response.error();
        if (!block_cap && error.code == Errc::rejected &&
            error.message.find("cap of") != std::string::npos) {
          // The block would not fit in what is left of the whole fetch's cap.
          return fail(Errc::rejected,
                      fmt::format("fetching {} from the gateway {}: the blocks passed the fetch "
                                  "cap of {} (block {} does not fit in the {} bytes left)",
                                  root.to_string(), client.url().redacted(),
                                  cap_text(options.max_bytes), cid.to_string(), left));
        }
        return std::unexpected(fetch_failure(std::move(response).error(), client.url(), cid,
                                             "block", kMaxFetchedBlockBytes, "block"));
      }
      block = to_bytes(response->body);
      report.bytes_received += block.size();
      CAIRN_TRY_ASSIGN(const bool ok, cid.matches(block));
      if (!ok) {
        return fail(Errc::integrity,
                    fmt::format("the gateway {} sent {} bytes for block {} that do not match it",
                                client.url().redacted(), block.size(), cid.to_string()));
      }
      Bytes section;
      append_car_section(section, cid, block);
      if (!file.write(section.data(), section.size())) {
        return fail(Errc::io, fmt::format("writing the download to {}", file.path().string()));
      }
      if (options.progress) options.progress(report.bytes_received);
    }
    if (cid.codec() == codec::kRaw) continue;
    CAIRN_TRY_ASSIGN(auto links, block_links(cid, block));
    for (auto it = links.rbegin(); it != links.rend(); ++it)
      stack.push_back(std::move(*it));
  }
  return file.close();
}

}  // namespace

Result<FetchReport> fetch(const std::string& base_url, const Cid& root, BlockSink& sink,
                          const FetchOptions& options) {
  auto url = net::Url::parse(base_url);
  if (!url) return std::unexpected(std::move(url).error().context("the gateway URL"));
  net::Client client(*url, client_options(options));
  FetchReport report;
  TempFile file(temp_name(options, root));
  CAIRN_TRY(file.open());
  if (options.blocks_only) {
    CAIRN_TRY(download_blocks(client, root, file, options, report));
  } else {
    CAIRN_TRY(download_car(client, root, file, options, report));
  }
  CarImportOptions import_options;
  import_options.require_complete = true;
  import_options.existing = options.existing;
  import_options.dag_roots = {root};
  auto imported = import_car_file(file.path(), sink, import_options);
  if (!imported) {
    return std::unexpected(std::move(imported).error().context(
        fmt::format("the data from {} for {} was rejected", url->redacted(), root.to_string())));
  }
  report.blocks = imported->blocks;
  report.bytes = imported->bytes;
  return report;
}

}  // namespace cairn::store

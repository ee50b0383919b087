#include "store/gateway_client.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <unordered_set>

#include "store/car.hpp"
#include "store/dag.hpp"

namespace cairn::store {
namespace {

struct Endpoint {
  std::string origin;  // scheme://host:port
  std::string prefix;  // path before /ipfs, without a trailing slash
};

Result<Endpoint> parse_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return fail(Errc::invalid_argument,
                fmt::format("'{}' is not a gateway URL (expected http://HOST:PORT)", url));
  }
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return fail(Errc::invalid_argument, fmt::format("'{}': only http and https gateways", url));
  }
  const auto path_start = url.find('/', scheme_end + 3);
  Endpoint endpoint;
  endpoint.origin = url.substr(0, path_start);
  if (endpoint.origin.size() <= scheme_end + 3) {
    return fail(Errc::invalid_argument, fmt::format("'{}' names no host", url));
  }
  if (path_start != std::string::npos) endpoint.prefix = url.substr(path_start);
  while (!endpoint.prefix.empty() && endpoint.prefix.back() == '/')
    endpoint.prefix.pop_back();
  return endpoint;
}

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

std::string short_body(const std::string& body) {
  std::string out = body.substr(0, 300);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

Error http_failure(const std::string& url, const Cid& cid, int status, const std::string& body) {
  if (status == 404) {
    return Error{Errc::not_found, fmt::format("the gateway {} does not have {} (404: {})", url,
                                              cid.to_string(), short_body(body))};
  }
  return Error{status >= 500 ? Errc::unavailable : Errc::rejected,
               fmt::format("the gateway {} answered {} for {}: {}", url, status, cid.to_string(),
                           short_body(body))};
}

std::unique_ptr<httplib::Client> make_client(const Endpoint& endpoint,
                                             const FetchOptions& options) {
  auto client = std::make_unique<httplib::Client>(endpoint.origin);
  client->set_connection_timeout(std::min(options.timeout_seconds, 10), 0);
  client->set_read_timeout(options.timeout_seconds, 0);
  client->set_follow_location(true);
  return client;
}

// Downloads the CAR of the whole DAG into `file`.
Status download_car(httplib::Client& client, const Endpoint& endpoint, const std::string& url,
                    const Cid& root, TempFile& file, const FetchOptions& options,
                    FetchReport& report) {
  const httplib::Headers headers = {
      {"Accept", "application/vnd.ipld.car; version=1; order=dfs; dups=n"}};
  const std::string path =
      fmt::format("{}/ipfs/{}?format=car&dag-scope=all", endpoint.prefix, root.to_string());
  int status = 0;
  std::string content_type;
  std::string error_body;
  bool write_failed = false;
  ++report.requests;
  auto result = client.Get(
      path, headers,
      [&](const httplib::Response& response) {
        status = response.status;
        content_type = response.get_header_value("Content-Type");
        return true;
      },
      [&](const char* data, std::size_t length) {
        if (status != 200) {
          if (error_body.size() < 4096) error_body.append(data, length);
          return true;
        }
        if (!content_type.starts_with("application/vnd.ipld.car")) return false;
        report.bytes_received += length;
        if (!file.write(data, length)) {
          write_failed = true;
          return false;
        }
        if (options.progress) options.progress(report.bytes_received);
        return true;
      });
  if (write_failed) {
    return fail(Errc::io, fmt::format("writing the download to {}: {}", file.path().string(),
                                      std::strerror(errno)));
  }
  if (status != 0 && status != 200)
    return std::unexpected(http_failure(url, root, status, error_body));
  if (status == 200 && !content_type.starts_with("application/vnd.ipld.car")) {
    return fail(Errc::rejected,
                fmt::format("the gateway {} sent '{}' instead of a CAR", url, content_type));
  }
  if (!result) {
    return fail(Errc::unavailable, fmt::format("fetching {} from {}: {}", root.to_string(), url,
                                               httplib::to_string(result.error())));
  }
  return file.close();
}

// Walks the DAG with one raw-block request per block, writing a CAR of what it gets.
Status download_blocks(httplib::Client& client, const Endpoint& endpoint, const std::string& url,
                       const Cid& root, TempFile& file, const FetchOptions& options,
                       FetchReport& report) {
  const Cid roots[] = {root};
  const Bytes header = encode_car_header(roots);
  if (!file.write(header.data(), header.size())) return fail(Errc::io, "writing the download");
  const httplib::Headers headers = {{"Accept", "application/vnd.ipld.raw"}};
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
      ++report.requests;
      auto response = client.Get(
          fmt::format("{}/ipfs/{}?format=raw", endpoint.prefix, cid.to_string()), headers);
      if (!response) {
        return fail(Errc::unavailable, fmt::format("fetching block {} from {}: {}", cid.to_string(),
                                                   url, httplib::to_string(response.error())));
      }
      if (response->status != 200) {
        return std::unexpected(http_failure(url, cid, response->status, response->body));
      }
      block = to_bytes(response->body);
      report.bytes_received += block.size();
      CAIRN_TRY_ASSIGN(const bool ok, cid.matches(block));
      if (!ok) {
        return fail(Errc::integrity,
                    fmt::format("the gateway {} sent {} bytes for block {} that do not match it",
                                url, block.size(), cid.to_string()));
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
  CAIRN_TRY_ASSIGN(const Endpoint endpoint, parse_url(base_url));
  auto client = make_client(endpoint, options);
  FetchReport report;
  TempFile file(temp_name(options, root));
  CAIRN_TRY(file.open());
  if (options.blocks_only) {
    CAIRN_TRY(download_blocks(*client, endpoint, base_url, root, file, options, report));
  } else {
    CAIRN_TRY(download_car(*client, endpoint, base_url, root, file, options, report));
  }
  CarImportOptions import_options;
  import_options.require_complete = true;
  import_options.existing = options.existing;
  import_options.dag_roots = {root};
  auto imported = import_car_file(file.path(), sink, import_options);
  if (!imported) {
    return std::unexpected(std::move(imported).error().context(
        fmt::format("the data from {} for {} was rejected", base_url, root.to_string())));
  }
  report.blocks = imported->blocks;
  report.bytes = imported->bytes;
  return report;
}

}  // namespace cairn::store

#pragma once
// Pulls a DAG from another node's trustless gateway and checks all of it before storing.
//
// The default asks for the whole DAG as one CAR (`?format=car`, dag-scope=all) and streams
// the response to a temporary file; with `blocks_only` it walks the DAG itself, one
// `?format=raw` request per block, skipping blocks the local store already has. Either
// way every block is re-hashed against its CID and the DAG below the requested root must
// be complete before the first block reaches the sink (the verified blocks go through
// import_car_file's two passes). The gateway is not trusted: the CAR's header roots are
// ignored, extra blocks are harmless, a missing or wrong block fails the whole fetch.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "base/error.hpp"
#include "store/block.hpp"
#include "store/cid.hpp"

namespace cairn::store {

struct FetchOptions {
  // Where the download is staged (a file removed afterwards); must exist.
  std::filesystem::path temp_dir;
  bool blocks_only = false;
  // Blocks already held locally: completeness counts them, and blocks_only skips them.
  BlockSource* existing = nullptr;
  int timeout_seconds = 60;
  std::function<void(std::uint64_t bytes_received)> progress{};
};

struct FetchReport {
  std::uint64_t blocks = 0;          // blocks put into the sink
  std::uint64_t bytes = 0;           // their bytes
  std::uint64_t bytes_received = 0;  // over the network
  std::uint64_t requests = 0;
};

// `base_url` is "http://host:port" (https too), optionally with a path prefix.
[[nodiscard]] Result<FetchReport> fetch(const std::string& base_url, const Cid& root,
                                        BlockSink& sink, const FetchOptions& options);

}  // namespace cairn::store

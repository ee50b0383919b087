#pragma once
// Pulls a DAG from another node's trustless gateway and checks all of it before storing.
//
// The default asks for the whole DAG as one CAR (`?format=car`, dag-scope=all) and streams
// the response to a temporary file; with `blocks_only` it walks the DAG itself, one
// `?format=raw` request per block, skipping blocks the local store already has. Either
// way every block is re-hashed against its CID and the DAG below the requested root must
// be complete before the first block reaches the sink (the verified blocks go through
// import_car_file's two passes). The gateway is not trusted: the CAR's header roots are
// ignored, extra blocks are harmless, a missing or wrong block fails the whole fetch, and
// what it sends is capped (FetchOptions::max_bytes for the whole download, and
// kMaxFetchedBlockBytes for each raw block): a gateway that sends more is refused while
// the bytes arrive, not after they filled the disk.
//
// HTTP is net::Client's (docs/net.md): timeouts, retries of the idempotent GETs until the
// first byte was kept, no redirects, errors that name the redacted URL and the cause.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "base/error.hpp"
#include "store/block.hpp"
#include "store/car.hpp"
#include "store/cid.hpp"

namespace cairn::store {

// The largest raw block a gateway may send: the largest CAR section cairn reads.
inline constexpr std::size_t kMaxFetchedBlockBytes = kMaxCarSectionBytes;
// FetchOptions::max_bytes by default.
inline constexpr std::uint64_t kDefaultFetchMaxBytes = 4ull << 30;  // 4 GiB

struct FetchOptions {
  // Where the download is staged (a file removed afterwards); must exist.
  std::filesystem::path temp_dir;
  bool blocks_only = false;
  // Blocks already held locally: completeness counts them, and blocks_only skips them.
  BlockSource* existing = nullptr;
  // Seconds to connect (at most 10) and between bytes of an answer.
  int timeout_seconds = 60;
  // The most bytes the download may take: the CAR, or all raw blocks together. A gateway
  // that announces or sends more is refused (Errc::rejected) as soon as it passes the cap.
  std::uint64_t max_bytes = kDefaultFetchMaxBytes;
  std::function<void(std::uint64_t bytes_received)> progress{};
};

struct FetchReport {
  std::uint64_t blocks = 0;          // blocks put into the sink
  std::uint64_t bytes = 0;           // their bytes
  std::uint64_t bytes_received = 0;  // over the network
  std::uint64_t requests = 0;
};

// `base_url` is "http://host:port" (https too), optionally with a path prefix; userinfo is
// sent as Basic auth and never shown in messages.
[[nodiscard]] Result<FetchReport> fetch(const std::string& base_url, const Cid& root,
                                        BlockSink& sink, const FetchOptions& options);

}  // namespace cairn::store

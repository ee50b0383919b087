#pragma once
// The UnixFS exporter: reads files and directories back out of blocks.
//
// Blocks come from a BlockSource, which checks each against its CID. Beyond that the
// exporter checks the UnixFS structure of every node: a file node's blocksizes must match
// its links one to one, the bytes each child yields must equal its blocksize, and filesize
// must equal the node's own data plus its blocksizes. A missing block fails with
// `not_found` naming the CID. A file DAG deeper than kMaxDagDepth levels, or directories
// nested deeper than kMaxDirectoryDepth, fail with `parse` (a hostile DAG cannot exhaust
// the stack; balanced files of 2^64 bytes need 9 levels).

#include <cstdint>
#include <filesystem>
#include <functional>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "store/block.hpp"
#include "store/cid.hpp"

namespace cairn::store {

inline constexpr int kMaxDagDepth = 64;
inline constexpr int kMaxDirectoryDepth = 256;

// What an export may produce. A small de-duplicated DAG can declare a file of any size (one
// block linked a million times), so a caller exporting what a peer sent sets a cap.
struct ExportLimits {
  // The most bytes the export may write: a file's size, or all files of a tree together.
  // A file whose declared size (UnixFS filesize, or its data plus blocksizes; a raw block's
  // length) is past what is left is refused with `rejected` before any of it is written; a
  // directory whose links' cumulative sizes (Tsize) add up past the cap is refused before
  // anything is created. The bytes written are counted too. Default: no cap.
  std::uint64_t max_bytes = UINT64_MAX;
};

// Streams the bytes of the file `cid` names (a raw block, or a UnixFS file DAG) to
// `write`, in order, one chunk at a time. Fails with `invalid_argument` for a directory.
[[nodiscard]] Status export_file(const Cid& cid, BlockSource& source,
                                 const std::function<Status(ByteView)>& write,
                                 const ExportLimits& limits = {});

// Writes the file or directory tree `cid` names at `destination`, which must not exist.
// It is built under a temporary name beside `destination` and renamed into place only when
// complete, so a failure leaves nothing at `destination`. Names in a directory are refused
// (`integrity`) when empty, ".", "..", or containing '/' or NUL, or when repeated.
// HAMT-sharded directories are read (fanout a power of two, murmur3-x64-64 hashing; the
// slot prefixes are checked for shape, not recomputed). Symbolic links are `unsupported`.
[[nodiscard]] Status export_to_path(const Cid& cid, BlockSource& source,
                                    const std::filesystem::path& destination,
                                    const ExportLimits& limits = {});

}  // namespace cairn::store

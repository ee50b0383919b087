#pragma once
// The UnixFS importer: turns bytes, files and directory trees into blocks whose CIDs are
// byte-identical to `ipfs add --cid-version=1` and to npm ipfs-unixfs-importer's defaults:
// CIDv1, sha2-256, 262144-byte fixed-size chunks stored as raw leaves, a balanced tree of
// dag-pb UnixFS file nodes with at most 174 links each, and a file of one chunk (or none)
// being just its raw leaf. Directories are UnixFS directory nodes with links sorted by
// name; above the reference importer's sharding threshold they become HAMT shards built
// exactly as it builds them (docs/store.md).
//
// Memory stays bounded whatever the input size: the current chunk (import_file: one
// 4 MiB read buffer), plus at most max_links pending links per tree level (about 6 KiB each).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "store/block.hpp"
#include "store/cid.hpp"

namespace cairn::store {

struct ImportOptions {
  std::size_t chunk_size = 262144;
  std::size_t max_links = 174;  // children per file node (the balanced layout's width)
  // Leaves as raw blocks (codec 0x55). With false, leaves are dag-pb UnixFS File nodes
  // carrying their data, as `ipfs add --raw-leaves=false` writes them.
  bool raw_leaves = true;
  // Called after each chunk with the number of content bytes consumed so far (of the
  // current file for import_file, of all files for import_path).
  std::function<void(std::uint64_t bytes_done)> progress;
  // Threads hashing raw leaves when a write() brings several whole chunks (import_file
  // always does): 0 = one per core (at most 8), 1 = hash on the calling thread only. The
  // blocks still reach the sink one at a time, in order, from the calling thread.
  std::size_t threads = 0;
  // Directories whose links' names + CIDs exceed this many bytes become HAMT shards (the
  // reference's shardSplitThresholdBytes).
  std::size_t shard_threshold = 262144;
};

// The reference importer's sharding threshold: a directory whose links' names plus CIDs
// exceed this many bytes becomes a HAMT shard (murmur3-x64-64, fanout 256).
inline constexpr std::size_t kShardSplitThresholdBytes = 262144;

struct ImportedFile {
  Cid cid;
  std::uint64_t size = 0;      // content bytes
  std::uint64_t dag_size = 0;  // bytes of all blocks of the DAG (the Tsize a parent records)
};

// Streaming import of one file: write() any number of times, then finish() once.
class FileImporter {
 public:
  explicit FileImporter(BlockSink& sink, ImportOptions options = {});
  ~FileImporter();
  FileImporter(const FileImporter&) = delete;
  FileImporter& operator=(const FileImporter&) = delete;

  [[nodiscard]] Status write(ByteView data);
  [[nodiscard]] Result<ImportedFile> finish();

  std::uint64_t bytes_written() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

[[nodiscard]] Result<ImportedFile> import_bytes(ByteView data, BlockSink& sink,
                                                const ImportOptions& options = {});
// Reads the file with large sequential reads; fails with `io` naming the file if it
// cannot be opened or read.
[[nodiscard]] Result<ImportedFile> import_file(const std::filesystem::path& path, BlockSink& sink,
                                               const ImportOptions& options = {});

struct ImportedEntry {
  // Path as `ipfs add -r` prints it: the given file's or directory's own name, then
  // "/"-joined names below it ("photos", "photos/a.jpg").
  std::string path;
  Cid cid;
  std::uint64_t size = 0;      // content bytes (for a directory: of all files below it)
  std::uint64_t dag_size = 0;  // bytes of all blocks of the DAG
  bool directory = false;
};

// Imports a file, or a directory tree (entries in name order, depth first). Returns every
// entry in the order `ipfs add -r` prints them: children before their parent, the given
// path's own entry last. Symbolic links and special files are refused (`unsupported`).
[[nodiscard]] Result<std::vector<ImportedEntry>> import_path(const std::filesystem::path& path,
                                                             BlockSink& sink,
                                                             const ImportOptions& options = {});

// One child of a directory being built in memory (import_path uses this; exposed so the
// CLI and tests can assemble directories from already imported DAGs).
struct DirectoryEntry {
  std::string name;
  Cid cid;
  std::uint64_t dag_size = 0;  // the child's Tsize
  std::uint64_t size = 0;      // its content bytes (only summed into the result's size)
  // Whether the entry counts toward the sharding threshold. The reference importer counts
  // files and empty directories (name bytes + CID bytes) but not directories that have
  // entries: those have no CID yet while it decides. import_path follows that rule.
  bool counts_toward_sharding = true;
};
// Stores the UnixFS directory node for `entries` (sorted by name here; names must be
// non-empty, unique, without '/' or NUL) — a HAMT shard when the entries counting toward
// sharding pass `shard_threshold` — and returns its CID, dag_size, and the sum of the
// entries' sizes.
[[nodiscard]] Result<ImportedFile> put_directory(
    std::vector<DirectoryEntry> entries, BlockSink& sink,
    std::size_t shard_threshold = kShardSplitThresholdBytes);

}  // namespace cairn::store

#pragma once
// The node's block store: one RocksDB database per repository (<repo>/blocks).
//
// Blocks are keyed by their multihash (as kubo keys its flatfs/badger datastores), so a
// CIDv0 and its CIDv1, or the same bytes as raw and as dag-pb, share one copy. Every read
// re-hashes the block and fails with `integrity` when the stored bytes no longer match.
//
// Pins live in their own column family, keyed by the CIDv1 of a root. A pin is the only
// way the store claims that a DAG is complete, and it is written last: `pin()` first makes
// every block written so far durable (blocks skip the write-ahead log; their memtable is
// flushed to disk and waited for), then checks that the DAG below the
// root is all there, then records the pin with a second synced write. A process killed
// in the middle of an add therefore leaves blocks without a pin (which `gc()` removes),
// never a pin without its blocks.
//
// Thread safety: reads (get/has/walks) may run concurrently from many threads (the
// gateway does); writes are serialised internally.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "store/block.hpp"
#include "store/cid.hpp"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace cairn::store {

struct BlockstoreOptions {
  // Open without taking the database lock: sees what was durable when it opened, and
  // refuses every write. Lets `cairn cat` read a repository that a gateway is serving.
  bool read_only = false;
  // Puts are collected in a write batch and handed to RocksDB (memtable only, no WAL)
  // when it reaches this size; `flush()` and `pin()` flush them to disk.
  std::size_t batch_bytes = 8u << 20;
};

struct Pin {
  Cid cid;
  std::string name;          // what was added (a file name), may be empty
  std::int64_t created = 0;  // unix seconds

  friend bool operator==(const Pin&, const Pin&) = default;
};

struct GcReport {
  std::uint64_t blocks_removed = 0;
  std::uint64_t bytes_freed = 0;
  std::uint64_t blocks_kept = 0;
  std::uint64_t bytes_kept = 0;
};

struct VerifyReport {
  std::uint64_t blocks = 0;
  std::uint64_t bytes = 0;
  std::vector<std::string> problems;  // one line per block that failed to verify
  bool ok() const { return problems.empty(); }
};

class Blockstore final : public BlockSink, public BlockSource {
 public:
  // Opens (creating when missing, unless read-only) the database in `dir`. Fails with
  // `conflict` when another process holds the database, `io` when the directory cannot be
  // created or written.
  [[nodiscard]] static Result<std::unique_ptr<Blockstore>> open(
      const std::filesystem::path& dir, const BlockstoreOptions& options = {});
  ~Blockstore() override;
  Blockstore(const Blockstore&) = delete;
  Blockstore& operator=(const Blockstore&) = delete;

  // BlockSink. Identity-hash CIDs carry their block inline and are not stored. Blocks the
  // store already has are not written again.
  Status put(const Cid& cid, ByteView data) override;
  // BlockSource: the block, re-hashed against `cid`.
  Result<Bytes> get(const Cid& cid) override;
  Result<bool> has(const Cid& cid) override;

  // Removes a block (pins are not consulted; gc() is the safe way to free space).
  Status remove(const Cid& cid);
  // Makes every put so far durable (flushes the blocks' memtable to disk and waits).
  Status flush();

  // Records `root` as a complete, pinned DAG. Syncs pending blocks first, then walks the
  // DAG to prove every block is present and verifies, then writes the pin (synced).
  // Fails with `not_found` naming the first missing block.
  Status pin(const Cid& root, std::string_view name = {});
  // Fails with `not_found` when `root` is not pinned.
  Status unpin(const Cid& root);
  Result<bool> is_pinned(const Cid& root);
  Result<std::vector<Pin>> pins();

  // Deletes every block not reachable from a pin. Marks by walking each pinned DAG first;
  // if any pinned DAG cannot be walked (a missing or corrupt block) nothing is deleted.
  Result<GcReport> gc();
  // Re-hashes every stored block.
  Result<VerifyReport> verify_all();
  // Calls `visit` with each stored block's multihash and bytes, unverified.
  using RawBlockVisitor = std::function<Status(const Multihash& hash, ByteView data)>;
  Status for_each_block(const RawBlockVisitor& visit);

  const std::filesystem::path& dir() const { return dir_; }
  bool read_only() const { return options_.read_only; }

 private:
  Blockstore(std::filesystem::path dir, BlockstoreOptions options);
  Status write_pending_locked(bool durable);
  Status require_writable(std::string_view doing) const;

  std::filesystem::path dir_;
  BlockstoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* blocks_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* pins_cf_ = nullptr;
  std::mutex write_mutex_;
  std::unique_ptr<rocksdb::WriteBatch> pending_;
  std::size_t pending_bytes_ = 0;
  std::atomic<bool> has_pending_{false};
};

}  // namespace cairn::store

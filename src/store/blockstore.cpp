#include "store/blockstore.hpp"

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "base/json.hpp"
#include "store/dag.hpp"

namespace cairn::store {
namespace {

constexpr const char* kBlocksFamily = "blocks";
constexpr const char* kPinsFamily = "pins";
constexpr const char* kFormatKey = "cairn-format";
constexpr const char* kFormatValue = "cairn-blockstore-1";

rocksdb::Slice slice(ByteView bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
ByteView view(const rocksdb::Slice& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// RocksDB's status, as a cairn error that names what the store was doing.
Error to_error(const rocksdb::Status& status, std::string_view doing) {
  const std::string detail = status.ToString();
  Errc code = Errc::io;
  std::string hint;
  if (status.IsCorruption()) {
    code = Errc::integrity;
  } else if (status.IsNoSpace() || detail.find("No space left") != std::string::npos ||
             detail.find("File too large") != std::string::npos ||
             detail.find("Disk quota") != std::string::npos) {
    hint = " (the disk is full or a file size limit was reached; free space and retry)";
  } else if (detail.find("lock") != std::string::npos &&
             (detail.find("Resource temporarily unavailable") != std::string::npos ||
              detail.find("No locks available") != std::string::npos)) {
    code = Errc::conflict;
  } else if (status.IsNotSupported()) {
    code = Errc::unsupported;
  }
  return Error{code, fmt::format("{}: {}{}", doing, detail, hint)};
}

Status check(const rocksdb::Status& status, std::string_view doing) {
  if (status.ok()) return {};
  return std::unexpected(to_error(status, doing));
}

// The key a block is stored under: its multihash.
Bytes block_key(const Cid& cid) {
  return cid.hash().encode();
}
Bytes pin_key(const Cid& cid) {
  return cid.to_v1().bytes();
}

rocksdb::ColumnFamilyOptions blocks_family_options() {
  rocksdb::ColumnFamilyOptions options;
  // Blocks are up to 256 KiB of mostly incompressible data: keep the large ones in blob
  // files so compaction does not rewrite them, and the small ones (dag-pb nodes) in SSTs.
  options.enable_blob_files = true;
  options.min_blob_size = 4096;
  options.enable_blob_garbage_collection = true;
  // Two 32 MiB memtables bound the memory an add of any size uses.
  options.write_buffer_size = 32u << 20;
  options.max_write_buffer_number = 2;
  options.compression = rocksdb::kNoCompression;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

// Visits every CID of the DAG below `root` once. Raw leaves (the bulk of a file) are only
// looked up, not read: they link nowhere, and reading them would double the cost of pin
// and gc. Interior nodes are read (and so verified) to find their links.
Status mark_dag(const Cid& root, BlockSource& source, const std::function<void(const Cid&)>& mark) {
  std::unordered_set<Cid> seen;
  std::vector<Cid> stack{root};
  while (!stack.empty()) {
    Cid cid = std::move(stack.back());
    stack.pop_back();
    if (!seen.insert(cid).second) continue;
    if (cid.codec() == codec::kRaw || cid.hash().code == multihash_code::kIdentity) {
      CAIRN_TRY_ASSIGN(const bool present, source.has(cid));
      if (!present) {
        return fail(Errc::not_found, fmt::format("block {} is missing", cid.to_string()));
      }
      mark(cid);
      continue;
    }
    CAIRN_TRY_ASSIGN(const Bytes block, source.get(cid));
    CAIRN_TRY_ASSIGN(auto links, block_links(cid, block));
    mark(cid);
    for (auto it = links.rbegin(); it != links.rend(); ++it)
      stack.push_back(std::move(*it));
  }
  return {};
}

}  // namespace

Blockstore::Blockstore(std::filesystem::path dir, BlockstoreOptions options)
    : dir_(std::move(dir)), options_(options), pending_(std::make_unique<rocksdb::WriteBatch>()) {}

Blockstore::~Blockstore() {
  if (db_) {
    // Best effort: a caller that needs durability calls flush() and checks it.
    if (!options_.read_only) (void)flush();
    for (auto* handle : {default_cf_, blocks_cf_, pins_cf_}) {
      if (handle != nullptr) (void)db_->DestroyColumnFamilyHandle(handle);
    }
    (void)db_->Close();
  }
}

Result<std::unique_ptr<Blockstore>> Blockstore::open(const std::filesystem::path& dir,
                                                     const BlockstoreOptions& options) {
  std::unique_ptr<Blockstore> store(new Blockstore(dir, options));
  const std::string where = dir.string();
  if (!options.read_only) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return fail(Errc::io, fmt::format("cannot create the block store directory {}: {}", where,
                                        ec.message()));
    }
  } else if (!std::filesystem::exists(dir / "CURRENT")) {
    return fail(Errc::not_found, fmt::format("no block store at {}", where));
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !options.read_only;
  db_options.create_missing_column_families = !options.read_only;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 2;
  db_options.max_total_wal_size = 256u << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kBlocksFamily, blocks_family_options()},
      {kPinsFamily, rocksdb::ColumnFamilyOptions()},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status status =
      options.read_only ? rocksdb::DB::OpenForReadOnly(db_options, where, families, &handles, &raw)
                        : rocksdb::DB::Open(db_options, where, families, &handles, &raw);
  if (!status.ok()) {
    Error error = to_error(status, fmt::format("opening the block store {}", where));
    if (error.code == Errc::conflict) {
      error.message = fmt::format(
          "the repository {} is in use by another cairn process (its lock {}/LOCK is held); "
          "stop that process or use another --repo",
          dir.parent_path().string(), where);
    }
    return std::unexpected(std::move(error));
  }
  store->db_.reset(raw);
  store->default_cf_ = handles[0];
  store->blocks_cf_ = handles[1];
  store->pins_cf_ = handles[2];

  std::string format;
  const auto got = raw->Get(rocksdb::ReadOptions(), store->default_cf_, kFormatKey, &format);
  if (got.IsNotFound()) {
    if (!options.read_only) {
      rocksdb::WriteOptions sync;
      sync.sync = true;
      CAIRN_TRY(check(raw->Put(sync, store->default_cf_, kFormatKey, kFormatValue),
                      fmt::format("initialising the block store {}", where)));
    }
  } else if (!got.ok()) {
    return std::unexpected(to_error(got, fmt::format("reading the block store {}", where)));
  } else if (format != kFormatValue) {
    return fail(Errc::unsupported,
                fmt::format("{} holds a block store of format '{}'; this cairn reads '{}'", where,
                            format, kFormatValue));
  }
  return store;
}

Status Blockstore::require_writable(std::string_view doing) const {
  if (options_.read_only) {
    return fail(Errc::conflict,
                fmt::format("{}: the block store {} is open read-only (another process holds it)",
                            doing, dir_.string()));
  }
  return {};
}

Status Blockstore::write_pending_locked(bool durable) {
  if (pending_->Count() > 0) {
    // Blocks bypass the write-ahead log: each byte is then written once (to a blob file
    // when the memtable flushes) instead of twice. That is safe because nothing claims a
    // block is there until `durable` has flushed the memtable: a crash before then loses
    // only unpinned blocks, which nothing refers to.
    rocksdb::WriteOptions write_options;
    write_options.disableWAL = true;
    const auto status = db_->Write(write_options, pending_.get());
    pending_->Clear();
    pending_bytes_ = 0;
    has_pending_ = false;
    CAIRN_TRY(check(status, fmt::format("writing blocks to {}", dir_.string())));
  }
  if (!durable) return {};
  rocksdb::FlushOptions flush;
  flush.wait = true;
  flush.allow_write_stall = true;
  return check(db_->Flush(flush, blocks_cf_),
               fmt::format("making blocks durable in {}", dir_.string()));
}

Status Blockstore::put(const Cid& cid, ByteView data) {
  if (cid.hash().code == multihash_code::kIdentity) return {};
  CAIRN_TRY(require_writable("storing a block"));
  std::lock_guard lock(write_mutex_);
  const Bytes key = block_key(cid);
  {
    // Skip blocks already stored intact: re-adding a file writes nothing new, and a
    // damaged copy is replaced.
    rocksdb::PinnableSlice existing;
    const auto status = db_->Get(rocksdb::ReadOptions(), blocks_cf_, slice(key), &existing);
    if (status.ok() && equal(view(existing), data)) return {};
  }
  const auto status = pending_->Put(blocks_cf_, slice(key), slice(data));
  CAIRN_TRY(check(status, "staging a block"));
  pending_bytes_ += key.size() + data.size();
  has_pending_ = true;
  if (pending_bytes_ >= options_.batch_bytes) CAIRN_TRY(write_pending_locked(false));
  return {};
}

Status Blockstore::flush() {
  if (options_.read_only) return {};
  std::lock_guard lock(write_mutex_);
  return write_pending_locked(true);
}

Result<Bytes> Blockstore::get(const Cid& cid) {
  if (cid.hash().code == multihash_code::kIdentity) return cid.hash().digest;
  if (has_pending_) {
    // Puts not yet handed to RocksDB must be visible to reads.
    std::lock_guard lock(write_mutex_);
    if (pending_->Count() > 0) CAIRN_TRY(write_pending_locked(false));
  }
  const Bytes key = block_key(cid);
  rocksdb::PinnableSlice value;
  const auto status = db_->Get(rocksdb::ReadOptions(), blocks_cf_, slice(key), &value);
  if (status.IsNotFound()) {
    return fail(Errc::not_found, fmt::format("block {} is not in the store", cid.to_string()));
  }
  CAIRN_TRY(check(status, fmt::format("reading block {}", cid.to_string())));
  Bytes data(value.size());
  if (!data.empty()) std::memcpy(data.data(), value.data(), value.size());
  CAIRN_TRY_ASSIGN(const bool ok, cid.matches(data));
  if (!ok) {
    return fail(Errc::integrity,
                fmt::format("block {} is corrupt: its {} stored bytes do not hash to its CID",
                            cid.to_string(), data.size()));
  }
  return data;
}

Result<bool> Blockstore::has(const Cid& cid) {
  if (cid.hash().code == multihash_code::kIdentity) return true;
  if (has_pending_) {
    // Puts not yet handed to RocksDB must be visible to reads.
    std::lock_guard lock(write_mutex_);
    if (pending_->Count() > 0) CAIRN_TRY(write_pending_locked(false));
  }
  const Bytes key = block_key(cid);
  rocksdb::PinnableSlice value;
  const auto status = db_->Get(rocksdb::ReadOptions(), blocks_cf_, slice(key), &value);
  if (status.IsNotFound()) return false;
  CAIRN_TRY(check(status, fmt::format("looking up block {}", cid.to_string())));
  return true;
}

Status Blockstore::remove(const Cid& cid) {
  CAIRN_TRY(require_writable("removing a block"));
  std::lock_guard lock(write_mutex_);
  CAIRN_TRY(write_pending_locked(false));
  const Bytes key = block_key(cid);
  return check(db_->Delete(rocksdb::WriteOptions(), blocks_cf_, slice(key)),
               fmt::format("removing block {}", cid.to_string()));
}

Status Blockstore::pin(const Cid& root, std::string_view name) {
  CAIRN_TRY(require_writable("pinning"));
  // Order matters for crash safety: blocks durable first, completeness proven, pin last.
  CAIRN_TRY(flush());
  CAIRN_TRY(with_context(mark_dag(root, *this, [](const Cid&) {}),
                         fmt::format("cannot pin {}: its DAG is not complete", root.to_string())));
  const nlohmann::json record = {
      {"name", std::string(name)},
      {"created", std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count()}};
  const std::string value = record.dump();
  const Bytes key = pin_key(root);
  rocksdb::WriteBatch batch;
  CAIRN_TRY(check(batch.Put(pins_cf_, slice(key), value), "staging a pin"));
  rocksdb::WriteOptions sync;
  sync.sync = true;
  std::lock_guard lock(write_mutex_);
  return check(db_->Write(sync, &batch), fmt::format("recording the pin of {}", root.to_string()));
}

Status Blockstore::unpin(const Cid& root) {
  CAIRN_TRY(require_writable("unpinning"));
  CAIRN_TRY_ASSIGN(const bool pinned, is_pinned(root));
  if (!pinned) return fail(Errc::not_found, fmt::format("{} is not pinned", root.to_string()));
  rocksdb::WriteOptions sync;
  sync.sync = true;
  const Bytes key = pin_key(root);
  std::lock_guard lock(write_mutex_);
  return check(db_->Delete(sync, pins_cf_, slice(key)),
               fmt::format("removing the pin of {}", root.to_string()));
}

Result<bool> Blockstore::is_pinned(const Cid& root) {
  std::string value;
  const Bytes key = pin_key(root);
  const auto status = db_->Get(rocksdb::ReadOptions(), pins_cf_, slice(key), &value);
  if (status.IsNotFound()) return false;
  CAIRN_TRY(check(status, "reading pins"));
  return true;
}

Result<std::vector<Pin>> Blockstore::pins() {
  std::vector<Pin> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), pins_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto cid = Cid::decode(view(it->key()));
    if (!cid) return std::unexpected(std::move(cid).error().context("a pin key in the store"));
    Pin pin{*cid, {}, 0};
    const auto record = parse_json(it->value().ToString(), "a pin record");
    if (record && record->is_object()) {
      if (record->contains("name") && (*record)["name"].is_string())
        pin.name = (*record)["name"].get<std::string>();
      if (record->contains("created") && (*record)["created"].is_number_integer())
        pin.created = (*record)["created"].get<std::int64_t>();
    }
    out.push_back(std::move(pin));
  }
  CAIRN_TRY(check(it->status(), "listing pins"));
  return out;
}

Status Blockstore::for_each_block(const RawBlockVisitor& visit) {
  if (!options_.read_only) CAIRN_TRY(flush());
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), blocks_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto hash = Multihash::decode(view(it->key()));
    if (!hash) return std::unexpected(std::move(hash).error().context("a block key in the store"));
    CAIRN_TRY(visit(*hash, view(it->value())));
  }
  return check(it->status(), "listing blocks");
}

Result<VerifyReport> Blockstore::verify_all() {
  VerifyReport report;
  CAIRN_TRY(for_each_block([&](const Multihash& hash, ByteView data) -> Status {
    ++report.blocks;
    report.bytes += data.size();
    const auto ok = hash.matches(data);
    if (!ok) {
      report.problems.push_back(ok.error().message);
    } else if (!*ok) {
      report.problems.push_back(fmt::format("block {} ({} bytes) does not hash to its key",
                                            Cid::v1(codec::kRaw, hash).to_string(), data.size()));
    }
    return {};
  }));
  return report;
}

Result<GcReport> Blockstore::gc() {
  CAIRN_TRY(require_writable("collecting garbage"));
  CAIRN_TRY(flush());
  std::unordered_set<std::string> live;
  CAIRN_TRY_ASSIGN(const auto pinned, pins());
  for (const auto& pin : pinned) {
    CAIRN_TRY(with_context(
        mark_dag(pin.cid, *this,
                 [&](const Cid& cid) {
                   const Bytes key = block_key(cid);
                   live.emplace(reinterpret_cast<const char*>(key.data()), key.size());
                 }),
        fmt::format("garbage collection stopped, nothing deleted: pinned DAG {} is damaged",
                    pin.cid.to_string())));
  }
  GcReport report;
  rocksdb::WriteBatch batch;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), blocks_cf_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (live.contains(it->key().ToString())) {
        ++report.blocks_kept;
        report.bytes_kept += it->value().size();
        continue;
      }
      ++report.blocks_removed;
      report.bytes_freed += it->value().size();
      CAIRN_TRY(check(batch.Delete(blocks_cf_, it->key()), "staging a deletion"));
    }
    CAIRN_TRY(check(it->status(), "listing blocks"));
  }
  rocksdb::WriteOptions sync;
  sync.sync = true;
  {
    std::lock_guard lock(write_mutex_);
    CAIRN_TRY(check(db_->Write(sync, &batch), "deleting unpinned blocks"));
  }
  if (report.blocks_removed > 0) {
    // Give the space back now rather than at some later compaction.
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    // Rewrite every blob file that holds a deleted block, so its space is returned too.
    compact.blob_garbage_collection_policy = rocksdb::BlobGarbageCollectionPolicy::kForce;
    compact.blob_garbage_collection_age_cutoff = 1.0;
    CAIRN_TRY(check(db_->CompactRange(compact, blocks_cf_, nullptr, nullptr),
                    "compacting the block store"));
  }
  return report;
}

}  // namespace cairn::store

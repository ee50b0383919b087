#pragma once
// A block store in memory: for `--only-hash`-style dry runs that must read back what they
// wrote, for tools that assemble a DAG before committing it, and for tests. Like every
// BlockSource it checks blocks against their CIDs when handing them out.

#include <cstdint>
#include <unordered_map>

#include "store/block.hpp"

namespace cairn::store {

class MemoryBlockStore final : public BlockSink, public BlockSource {
 public:
  Status put(const Cid& cid, ByteView data) override;
  Result<Bytes> get(const Cid& cid) override;
  Result<bool> has(const Cid& cid) override { return blocks_.contains(cid); }

  bool erase(const Cid& cid) { return blocks_.erase(cid) > 0; }
  // Replaces a block's bytes without any check (lets tests play a corrupted store).
  void overwrite(const Cid& cid, Bytes data) { blocks_[cid] = std::move(data); }
  std::size_t size() const { return blocks_.size(); }
  std::uint64_t bytes() const { return bytes_; }
  const std::unordered_map<Cid, Bytes>& blocks() const { return blocks_; }

 private:
  std::unordered_map<Cid, Bytes> blocks_;
  std::uint64_t bytes_ = 0;
};

}  // namespace cairn::store

#pragma once
// Where blocks go and where they come from. The importer writes to a BlockSink (the
// RocksDB blockstore, or a discarding sink for --only-hash); the exporter, CAR writer and
// gateway read from a BlockSource. Implementations verify what they hand out.

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "store/cid.hpp"

namespace cairn::store {

class BlockSink {
 public:
  virtual ~BlockSink() = default;
  // Stores `data` under `cid`. REQUIRES: `cid` is the CID of `data`.
  virtual Status put(const Cid& cid, ByteView data) = 0;
};

class BlockSource {
 public:
  virtual ~BlockSource() = default;
  // The block's bytes, checked against the CID; `not_found` if absent, `integrity` if the
  // stored bytes do not hash to the CID.
  virtual Result<Bytes> get(const Cid& cid) = 0;
  virtual Result<bool> has(const Cid& cid) = 0;
};

// A sink that keeps nothing: `cairn add --only-hash`.
class DiscardingSink final : public BlockSink {
 public:
  Status put(const Cid&, ByteView) override { return {}; }
};

}  // namespace cairn::store

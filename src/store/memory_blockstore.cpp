#include "store/memory_blockstore.hpp"

#include <fmt/format.h>

namespace cairn::store {

Status MemoryBlockStore::put(const Cid& cid, ByteView data) {
  auto [it, inserted] = blocks_.try_emplace(cid);
  if (inserted) {
    it->second = to_bytes(data);
    bytes_ += data.size();
  }
  return {};
}

Result<Bytes> MemoryBlockStore::get(const Cid& cid) {
  const auto it = blocks_.find(cid);
  if (it == blocks_.end())
    return fail(Errc::not_found, fmt::format("block {} not found", cid.to_string()));
  CAIRN_TRY_ASSIGN(const bool ok, cid.matches(it->second));
  if (!ok) {
    return fail(Errc::integrity, fmt::format("block {} does not match its CID", cid.to_string()));
  }
  return it->second;
}

}  // namespace cairn::store

#pragma once
// Walking DAGs of blocks, for CAR export, pinning and garbage collection, and fetching.

#include <functional>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "store/block.hpp"
#include "store/cid.hpp"

namespace cairn::store {

// The CIDs a block links to, in order: none for raw blocks, the links of a dag-pb node.
// Fails with `parse` when the block does not decode, `unsupported` for any other codec.
[[nodiscard]] Result<std::vector<Cid>> block_links(const Cid& cid, ByteView block);

// Depth-first, pre-order walk from `root`: visits a block, then the DAGs below its links
// in link order; each distinct CID is visited once (later links to it are skipped). This
// is the block order `ipfs dag export` writes into a CAR. Blocks come from `source`
// (which verifies them); identity-hash CIDs are their own block and need no source.
// Stops at the first failure, of the source, of block_links or of `visit`.
using BlockVisitor = std::function<Status(const Cid& cid, ByteView block)>;
[[nodiscard]] Status walk_dag(const Cid& root, BlockSource& source, const BlockVisitor& visit);

}  // namespace cairn::store

#include "store/dag.hpp"

#include <fmt/format.h>

#include <unordered_set>

#include "store/dag_pb.hpp"

namespace cairn::store {

Result<std::vector<Cid>> block_links(const Cid& cid, ByteView block) {
  switch (cid.codec()) {
    case codec::kRaw:
      return std::vector<Cid>{};
    case codec::kDagPb: {
      auto node = decode_pb_node(block);
      if (!node) return std::unexpected(std::move(node).error().context(cid.to_string()));
      std::vector<Cid> links;
      links.reserve(node->links.size());
      for (auto& link : node->links)
        links.push_back(std::move(link.cid));
      return links;
    }
    default:
      return fail(Errc::unsupported,
                  fmt::format("{}: cannot follow links of {} blocks (cairn reads raw and dag-pb)",
                              cid.to_string(), codec_name(cid.codec())));
  }
}

Status walk_dag(const Cid& root, BlockSource& source, const BlockVisitor& visit) {
  // An explicit stack (children pushed in reverse) gives the recursive pre-order without
  // recursion, so a deep hostile DAG cannot overflow the call stack.
  std::vector<Cid> pending{root};
  std::unordered_set<Cid> seen;
  while (!pending.empty()) {
    Cid cid = std::move(pending.back());
    pending.pop_back();
    if (!seen.insert(cid).second) continue;
    Bytes fetched;
    ByteView block;
    if (cid.hash().code == multihash_code::kIdentity) {
      block = cid.hash().digest;
    } else {
      auto got = source.get(cid);
      if (!got) return std::unexpected(std::move(got).error());
      fetched = std::move(*got);
      block = fetched;
    }
    CAIRN_TRY(visit(cid, block));
    CAIRN_TRY_ASSIGN(auto links, block_links(cid, block));
    for (auto it = links.rbegin(); it != links.rend(); ++it) {
      if (!seen.contains(*it)) pending.push_back(std::move(*it));
    }
  }
  return {};
}

}  // namespace cairn::store

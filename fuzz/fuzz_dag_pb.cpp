// dag-pb: decoding never reads past the input, and since the decoder accepts only the
// canonical form, whatever decodes re-encodes to exactly the input.
#include <cstdlib>

#include "store/dag.hpp"
#include "store/dag_pb.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cairn::store;
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  const auto node = decode_pb_node(input);
  const auto cid = Cid::of(codec::kDagPb, input);
  const auto links = block_links(cid, input);
  if (node.has_value() != links.has_value()) std::abort();
  if (!node) return 0;
  if (!cairn::equal(encode_pb_node(*node), input)) std::abort();
  if (encoded_pb_node_size(*node) != size) std::abort();
  if (links->size() != node->links.size()) std::abort();
  return 0;
}

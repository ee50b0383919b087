#pragma once
// The dag-pb codec (multicodec 0x70): the protobuf encoding IPFS uses for UnixFS nodes.
//
//   message PBLink { optional bytes Hash = 1; optional string Name = 2; optional uint64 Tsize = 3;
//   } message PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }
//
// Encoding is canonical as the dag-pb spec and @ipld/dag-pb write it: all Links before
// Data, fields inside a link in the order Hash, Name, Tsize, varints minimal. A link's Name
// is written whenever it is present, even when empty (UnixFS file nodes carry Name "" on
// every link, byte-for-byte as go-ipfs and js-ipfs write them); Tsize when present.
//
// Decoding is strict: it accepts exactly the canonical form. It rejects unknown field
// numbers, wrong wire types, duplicate Data/Hash/Name/Tsize, a Link after Data, fields of
// a link out of order, a link without Hash or with a Hash that is not a CID, non-minimal
// varints, and lengths that run past the input. It never reads past its input. Names are
// kept as the bytes they are (go-ipfs writes file names without checking UTF-8); the
// exporter decides which names it will write to a file system.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "store/cid.hpp"

namespace cairn::store {

struct PbLink {
  Cid cid;
  // Absent and empty are different on the wire; the importer always writes a name.
  std::optional<std::string> name;
  std::optional<std::uint64_t> tsize;  // cumulative size of the DAG below the link

  friend bool operator==(const PbLink&, const PbLink&) = default;
};

struct PbNode {
  std::vector<PbLink> links;
  std::optional<Bytes> data;

  friend bool operator==(const PbNode&, const PbNode&) = default;
};

// The canonical dag-pb bytes of `node` (links in the order given: the caller sorts
// directory links, see sort_links_by_name).
[[nodiscard]] Bytes encode_pb_node(const PbNode& node);
// Appends the encoding to `out` (lets the importer reuse one buffer).
void encode_pb_node_to(const PbNode& node, Bytes& out);
// Size in bytes of encode_pb_node(node), computed without encoding.
[[nodiscard]] std::size_t encoded_pb_node_size(const PbNode& node);

[[nodiscard]] Result<PbNode> decode_pb_node(ByteView block);

// Sorts links by name as @ipld/dag-pb's prepare() does: byte-wise on the UTF-8 name, a
// proper prefix first, a missing name as empty; stable, so equal names keep their order.
void sort_links_by_name(std::vector<PbLink>& links);

}  // namespace cairn::store

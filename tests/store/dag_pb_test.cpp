#include "store/dag_pb.hpp"

#include <gtest/gtest.h>

#include "base/encoding.hpp"

namespace cairn::store {
namespace {

Bytes unhex(std::string_view text) {
  return from_hex(text).value();
}

const Cid& leaf_cid() {
  static const Cid cid =
      Cid::parse("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e").value();
  return cid;
}
const Cid& v0_cid() {
  static const Cid cid = Cid::parse("QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n").value();
  return cid;
}

// Bytes written by @ipld/dag-pb 4.2.0 encode() for the same node (see the test name).
constexpr std::string_view kReferenceNode =
    "122a0a2401551220b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde91200180b"
    "12260a2401551220b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
    "122e0a221220e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8551205636166c3a9"
    "18ac02"
    "0a0408021805";

PbNode reference_node() {
  PbNode node;
  node.links.push_back(PbLink{leaf_cid(), std::string(), 11});
  node.links.push_back(PbLink{leaf_cid(), std::nullopt, std::nullopt});
  node.links.push_back(PbLink{v0_cid(), std::string("caf\xc3\xa9"), 300});
  node.data = unhex("08021805");
  return node;
}

TEST(DagPb, EncodesLikeIpldDagPb) {
  const auto encoded = encode_pb_node(reference_node());
  EXPECT_EQ(to_hex(encoded), kReferenceNode);
  EXPECT_EQ(encoded_pb_node_size(reference_node()), encoded.size());
}

TEST(DagPb, DecodesReferenceBytesBackToTheSameNode) {
  const auto node = decode_pb_node(unhex(kReferenceNode)).value();
  EXPECT_EQ(node, reference_node());
  // An empty name and a missing name stay distinct, so re-encoding is byte-identical.
  EXPECT_EQ(node.links[0].name, std::optional<std::string>(""));
  EXPECT_EQ(node.links[1].name, std::nullopt);
  EXPECT_EQ(to_hex(encode_pb_node(node)), kReferenceNode);
}

TEST(DagPb, EmptyNodeAndEmptyData) {
  EXPECT_TRUE(encode_pb_node(PbNode{}).empty());
  EXPECT_EQ(decode_pb_node({}).value(), PbNode{});
  PbNode with_empty_data;
  with_empty_data.data = Bytes{};
  EXPECT_EQ(to_hex(encode_pb_node(with_empty_data)), "0a00");
  EXPECT_EQ(decode_pb_node(unhex("0a00")).value(), with_empty_data);
}

TEST(DagPb, SortsLinksByteWiseWithPrefixFirst) {
  std::vector<PbLink> links;
  for (const char* name : {"b", "a\xff", "ab", "a", "", "B"}) {
    links.push_back(PbLink{leaf_cid(), std::string(name), 1});
  }
  links.push_back(PbLink{v0_cid(), std::nullopt, 2});  // no name sorts as ""
  sort_links_by_name(links);
  std::vector<std::string> order;
  for (const auto& link : links)
    order.push_back(link.name.value_or("<none>"));
  EXPECT_EQ(order, (std::vector<std::string>{"", "<none>", "B", "a", "ab", "a\xff", "b"}));
}

void expect_rejected(std::string_view hex, std::string_view message_part) {
  const auto decoded = decode_pb_node(unhex(hex));
  ASSERT_FALSE(decoded) << hex << " decoded";
  EXPECT_EQ(decoded.error().code, Errc::parse);
  EXPECT_NE(decoded.error().message.find(message_part), std::string::npos)
      << "message: " << decoded.error().message;
}

TEST(DagPb, RejectsMalformedNodes) {
  const std::string link = std::string(kReferenceNode.substr(0, 88));  // first link, whole
  expect_rejected("0a", "truncated");                                  // Data key only
  expect_rejected("0a05aabb", "runs past the end");                    // Data length too long
  expect_rejected("0a00" + link, "Link after Data");                   // wrong order
  expect_rejected("0a000a00", "second Data after Data");               // duplicate Data
  expect_rejected("1a00", "unknown field 3");                          // unknown field
  expect_rejected("0800", "wire type 0");                              // Data as a varint
  expect_rejected("0d00000000", "wire type 5");                        // Data as fixed32
  expect_rejected("8a00", "not minimally encoded");                    // padded key varint
  expect_rejected("0a8000", "not minimally encoded");                  // padded length
  expect_rejected("0affffffffffffffffff7f", "overflows 64 bits");      // huge length
  expect_rejected("0aff", "truncated varint");
  expect_rejected("0200", "invalid protobuf field number 0");
  expect_rejected("1200", "has no Hash");        // empty link
  expect_rejected("1203120161", "has no Hash");  // name only
  expect_rejected(
      "1206"
      "0a0401551220",
      "CID multihash");  // truncated CID
  expect_rejected(
      "1203"
      "0a0155",
      "link 0 Hash");  // CID without hash
}

TEST(DagPb, RejectsMalformedLinks) {
  const std::string cid_field = "0a24" + to_hex(leaf_cid().bytes());
  const auto wrap = [](const std::string& body) {
    return "12" + to_hex(Bytes{std::byte(body.size() / 2)}) + body;
  };
  EXPECT_TRUE(decode_pb_node(unhex(wrap(cid_field + "1200" + "1805"))));
  expect_rejected(wrap("1200" + cid_field), "field 1 after field 2");  // Name before Hash
  expect_rejected(wrap(cid_field + "1805" + "1200"), "field 2 after field 3");
  expect_rejected(wrap(cid_field + cid_field), "duplicate field 1");
  expect_rejected(wrap(cid_field + "12001200"), "duplicate field 2");
  expect_rejected(wrap(cid_field + "18051805"), "duplicate field 3");
  expect_rejected(wrap(cid_field + "2000"), "unknown field 4");
  expect_rejected(wrap(cid_field + "1a00"), "wire type 2");     // Tsize as bytes
  expect_rejected(wrap(cid_field + "1000"), "wire type 0");     // Name as varint
  expect_rejected(wrap(cid_field + "18"), "truncated varint");  // Tsize cut off
  expect_rejected(wrap(cid_field + "1880"), "truncated varint");
  expect_rejected(wrap(cid_field + "188000"), "not minimally encoded");
  expect_rejected(wrap(cid_field + "1205616263"), "runs past the end");  // Name overlong
}

TEST(DagPb, NeverReadsPastATruncatedNode) {
  // Every proper prefix of a valid node either fails or decodes fewer links (never more,
  // never a crash): cutting at a field boundary is a valid shorter node.
  const auto full = unhex(kReferenceNode);
  for (std::size_t length = 0; length < full.size(); ++length) {
    const auto prefix = ByteView(full).first(length);
    const auto decoded = decode_pb_node(prefix);
    if (decoded) {
      EXPECT_EQ(encode_pb_node(*decoded), to_bytes(prefix));
    }
  }
}

}  // namespace
}  // namespace cairn::store

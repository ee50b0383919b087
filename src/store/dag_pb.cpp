#include "store/dag_pb.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "store/protobuf.hpp"

namespace cairn::store {
namespace {

// Field numbers (dag-pb spec).
constexpr std::uint32_t kNodeData = 1;
constexpr std::uint32_t kNodeLinks = 2;
constexpr std::uint32_t kLinkHash = 1;
constexpr std::uint32_t kLinkName = 2;
constexpr std::uint32_t kLinkTsize = 3;

std::size_t link_body_size(const PbLink& link) {
  std::size_t size = pb::bytes_field_size(kLinkHash, link.cid.bytes().size());
  if (link.name) size += pb::bytes_field_size(kLinkName, link.name->size());
  if (link.tsize) size += 1 + pb::varint_size(*link.tsize);
  return size;
}

Result<PbLink> decode_link(ByteView body, std::size_t index) {
  pb::Reader reader(body);
  PbLink link;
  bool have_hash = false;
  std::uint32_t last_field = 0;
  const auto where = [index](std::string_view field) {
    return fmt::format("link {} {}", index, field);
  };
  while (!reader.done()) {
    CAIRN_TRY_ASSIGN(const auto key, reader.key());
    if (key.field < kLinkHash || key.field > kLinkTsize) {
      return fail(Errc::parse, fmt::format("link {}: unknown field {} (PBLink has Hash=1, "
                                           "Name=2, Tsize=3)",
                                           index, key.field));
    }
    if (key.field == last_field) {
      return fail(Errc::parse, fmt::format("link {}: duplicate field {}", index, key.field));
    }
    if (key.field < last_field) {
      return fail(Errc::parse, fmt::format("link {}: field {} after field {} (must be Hash, "
                                           "Name, Tsize in that order)",
                                           index, key.field, last_field));
    }
    last_field = key.field;
    const auto expected = key.field == kLinkTsize ? pb::kVarint : pb::kLengthDelimited;
    if (key.wire != expected) {
      return fail(Errc::parse,
                  fmt::format("link {} field {}: {} where {} is required", index, key.field,
                              pb::wire_type_name(key.wire), pb::wire_type_name(expected)));
    }
    switch (key.field) {
      case kLinkHash: {
        CAIRN_TRY_ASSIGN(const auto hash, reader.length_delimited(where("Hash")));
        auto cid = Cid::decode(hash);
        if (!cid) return std::unexpected(std::move(cid).error().context(where("Hash")));
        link.cid = std::move(*cid);
        have_hash = true;
        break;
      }
      case kLinkName: {
        CAIRN_TRY_ASSIGN(const auto name, reader.length_delimited(where("Name")));
        link.name = std::string(as_chars(name));
        break;
      }
      default: {
        CAIRN_TRY_ASSIGN(const auto tsize, reader.varint(where("Tsize")));
        link.tsize = tsize;
        break;
      }
    }
  }
  if (!have_hash) return fail(Errc::parse, fmt::format("link {} has no Hash", index));
  return link;
}

}  // namespace

std::size_t encoded_pb_node_size(const PbNode& node) {
  std::size_t size = 0;
  for (const auto& link : node.links)
    size += pb::bytes_field_size(kNodeLinks, link_body_size(link));
  if (node.data) size += pb::bytes_field_size(kNodeData, node.data->size());
  return size;
}

void encode_pb_node_to(const PbNode& node, Bytes& out) {
  out.reserve(out.size() + encoded_pb_node_size(node));
  for (const auto& link : node.links) {
    pb::append_key(out, kNodeLinks, pb::kLengthDelimited);
    pb::append_varint(out, link_body_size(link));
    pb::append_bytes_field(out, kLinkHash, link.cid.bytes());
    if (link.name) pb::append_bytes_field(out, kLinkName, as_bytes(*link.name));
    if (link.tsize) {
      pb::append_key(out, kLinkTsize, pb::kVarint);
      pb::append_varint(out, *link.tsize);
    }
  }
  if (node.data) pb::append_bytes_field(out, kNodeData, *node.data);
}

Bytes encode_pb_node(const PbNode& node) {
  Bytes out;
  encode_pb_node_to(node, out);
  return out;
}

Result<PbNode> decode_pb_node(ByteView block) {
  pb::Reader reader(block);
  PbNode node;
  while (!reader.done()) {
    const auto offset = reader.position();
    auto key = reader.key();
    if (!key)
      return std::unexpected(
          std::move(key).error().context(fmt::format("dag-pb at byte {}", offset)));
    if (key->field != kNodeData && key->field != kNodeLinks) {
      return fail(Errc::parse, fmt::format("dag-pb: unknown field {} at byte {} (PBNode has "
                                           "Data=1, Links=2)",
                                           key->field, offset));
    }
    if (key->wire != pb::kLengthDelimited) {
      return fail(Errc::parse, fmt::format("dag-pb field {} at byte {}: {} where wire type 2 "
                                           "(length-delimited) is required",
                                           key->field, offset, pb::wire_type_name(key->wire)));
    }
    if (node.data) {
      return fail(Errc::parse,
                  fmt::format("dag-pb: {} after Data at byte {} (Links come first, "
                              "Data once)",
                              key->field == kNodeData ? "second Data" : "Link", offset));
    }
    if (key->field == kNodeData) {
      auto data = reader.length_delimited("dag-pb Data");
      if (!data) return std::unexpected(std::move(data).error());
      node.data = to_bytes(*data);
    } else {
      const auto index = node.links.size();
      auto body = reader.length_delimited(fmt::format("dag-pb link {}", index));
      if (!body) return std::unexpected(std::move(body).error());
      auto link = decode_link(*body, index);
      if (!link) return std::unexpected(std::move(link).error().context("dag-pb"));
      node.links.push_back(std::move(*link));
    }
  }
  return node;
}

void sort_links_by_name(std::vector<PbLink>& links) {
  std::stable_sort(links.begin(), links.end(), [](const PbLink& a, const PbLink& b) {
    // std::string compares as unsigned char, i.e. byte-wise like the JS comparator.
    return a.name.value_or(std::string()) < b.name.value_or(std::string());
  });
}

}  // namespace cairn::store

#include "seal/signature.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>

namespace cairn::seal {
namespace {

// Marks an element that may appear at most once.
Status once(bool& seen, std::string_view what) {
  if (seen) return fail(Errc::parse, fmt::format("{} appears more than once", what));
  seen = true;
  return {};
}

Status require(bool seen, std::string_view what) {
  if (!seen) return fail(Errc::parse, fmt::format("{} is missing", what));
  return {};
}

Result<Imprint> tlv_imprint(const TlvElement& element, std::string_view what) {
  auto imprint = Imprint::parse(element.value);
  if (!imprint) return std::unexpected(std::move(imprint).error().context(what));
  return imprint;
}

// KSI's legacy client ids: 0x03 0x00, a length byte up to 25, that many bytes of UTF-8
// name, zero padding to 29 bytes in all.
Status check_legacy_id(ByteView id) {
  if (id.size() != 29) return fail(Errc::parse, "legacy id is not 29 bytes long");
  if (id[0] != std::byte{0x03} || id[1] != std::byte{0x00}) {
    return fail(Errc::parse, "legacy id has a wrong prefix");
  }
  const auto length = static_cast<std::uint8_t>(id[2]);
  if (length > 25) return fail(Errc::parse, "legacy id name is longer than 25 bytes");
  for (std::size_t i = 3 + length; i < id.size(); ++i) {
    if (id[i] != std::byte{0}) return fail(Errc::parse, "legacy id padding is not zero");
  }
  return {};
}

Result<LinkMetadata> parse_metadata(const TlvElement& element) {
  LinkMetadata metadata;
  metadata.content = to_bytes(element.value);
  CAIRN_TRY_ASSIGN(auto children, read_children(element.value));
  if (children.empty()) return fail(Errc::parse, "metadata: empty");
  bool has_client = false, has_machine = false, has_seq = false, has_time = false;
  for (std::size_t i = 0; i < children.size(); ++i) {
    const auto& child = children[i];
    switch (child.tag) {
      case 0x01:
        CAIRN_TRY(once(has_client, "metadata client id"));
        CAIRN_TRY(assign_to(metadata.client_id, tlv_utf8(child)));
        break;
      case 0x02: {
        CAIRN_TRY(once(has_machine, "metadata machine id"));
        CAIRN_TRY_ASSIGN(std::string machine, tlv_utf8(child));
        metadata.machine_id = machine;
        break;
      }
      case 0x03: {
        CAIRN_TRY(once(has_seq, "metadata sequence number"));
        CAIRN_TRY_ASSIGN(std::uint64_t seq, tlv_uint(child));
        metadata.sequence_number = seq;
        break;
      }
      case 0x04: {
        CAIRN_TRY(once(has_time, "metadata request time"));
        CAIRN_TRY_ASSIGN(std::uint64_t time, tlv_uint(child));
        metadata.request_time = time;
        break;
      }
      case tag::metadata_padding:
        ++metadata.padding_count;
        // A lone padding after other elements breaks the structure; a repeated padding
        // after a proper first one is left to the verifier (INT-11).
        if (i != 0 && !metadata.padding_first) {
          return fail(Errc::parse, "metadata padding is not the first element");
        }
        if (i == 0) {
          metadata.padding_first = true;
          metadata.padding_flags_ok = !child.tlv16 && child.non_critical && child.forward;
          metadata.padding_value = to_bytes(child.value);
        }
        break;
      default:
        CAIRN_TRY(skip_unknown(child, "metadata"));
    }
  }
  CAIRN_TRY(require(has_client, "metadata client id"));
  return metadata;
}

Result<AggregationLink> parse_aggregation_link(const TlvElement& element) {
  AggregationLink link;
  link.left = element.tag == tag::left_link;
  CAIRN_TRY_ASSIGN(auto children, read_children(element.value));
  bool has_level = false;
  int siblings = 0;
  for (const auto& child : children) {
    switch (child.tag) {
      case 0x01:
        CAIRN_TRY(once(has_level, "link level correction"));
        CAIRN_TRY(assign_to(link.level_correction, tlv_uint(child)));
        break;
      case 0x02:
        ++siblings;
        link.kind = AggregationLink::Kind::sibling_hash;
        CAIRN_TRY(assign_to(link.sibling, tlv_imprint(child, "link sibling hash")));
        break;
      case 0x03:
        ++siblings;
        link.kind = AggregationLink::Kind::legacy_id;
        CAIRN_TRY(check_legacy_id(child.value));
        link.legacy_id = to_bytes(child.value);
        break;
      case 0x04: {
        ++siblings;
        link.kind = AggregationLink::Kind::metadata;
        CAIRN_TRY_ASSIGN(LinkMetadata metadata, parse_metadata(child));
        link.metadata = std::make_shared<const LinkMetadata>(std::move(metadata));
        break;
      }
      default:
        CAIRN_TRY(skip_unknown(child, "aggregation link"));
    }
  }
  if (siblings != 1) {
    return fail(Errc::parse, fmt::format("aggregation link has {} sibling values (needs exactly "
                                         "one of hash, legacy id, metadata)",
                                         siblings));
  }
  return link;
}

Result<AggregationChain> parse_aggregation_chain(const TlvElement& element) {
  AggregationChain chain;
  CAIRN_TRY_ASSIGN(auto children, read_children(element.value));
  bool has_time = false, has_input_data = false, has_input = false, has_algorithm = false;
  for (const auto& child : children) {
    switch (child.tag) {
      case 0x02:
        CAIRN_TRY(once(has_time, "aggregation chain time"));
        CAIRN_TRY(assign_to(chain.aggregation_time, tlv_uint(child)));
        break;
      case 0x03: {
        CAIRN_TRY_ASSIGN(std::uint64_t index, tlv_uint(child));
        chain.chain_index.push_back(index);
        break;
      }
      case 0x04:
        CAIRN_TRY(once(has_input_data, "aggregation chain input data"));
        chain.input_data = to_bytes(child.value);
        break;
      case 0x05:
        CAIRN_TRY(once(has_input, "aggregation chain input hash"));
        CAIRN_TRY(assign_to(chain.input_hash, tlv_imprint(child, "aggregation chain input hash")));
        break;
      case 0x06:
        CAIRN_TRY(once(has_algorithm, "aggregation chain algorithm"));
        CAIRN_TRY(assign_to(chain.algorithm, tlv_uint(child)));
        break;
      case tag::left_link:
      case tag::right_link: {
        CAIRN_TRY_ASSIGN(auto link, parse_aggregation_link(child));
        chain.links.push_back(std::move(link));
        break;
      }
      default:
        CAIRN_TRY(skip_unknown(child, "aggregation chain"));
    }
  }
  CAIRN_TRY(require(has_time, "aggregation chain time"));
  CAIRN_TRY(require(!chain.chain_index.empty(), "aggregation chain index"));
  CAIRN_TRY(require(has_input, "aggregation chain input hash"));
  CAIRN_TRY(require(has_algorithm, "aggregation chain algorithm"));
  CAIRN_TRY(require(!chain.links.empty(), "aggregation chain link"));
  if (chain.links.size() > 63) return fail(Errc::parse, "aggregation chain has over 63 links");
  return chain;
}

Result<SignatureData> parse_signature_data(const TlvElement& element) {
  SignatureData data;
  CAIRN_TRY_ASSIGN(auto children, read_children(element.value));
  bool has_type = false, has_value = false, has_id = false, has_uri = false;
  for (const auto& child : children) {
    switch (child.tag) {
      case 0x01:
        CAIRN_TRY(once(has_type, "signature type"));
        CAIRN_TRY(assign_to(data.type, tlv_utf8(child)));
        break;
      case 0x02:
        CAIRN_TRY(once(has_value, "signature value"));
        data.value = to_bytes(child.value);
        break;
      case 0x03:
        CAIRN_TRY(once(has_id, "certificate id"));
        data.certificate_id = to_bytes(child.value);
        break;
      case 0x04: {
        CAIRN_TRY(once(has_uri, "certificate repository URI"));
        CAIRN_TRY_ASSIGN(std::string uri, tlv_utf8(child));
        data.certificate_repository_uri = uri;
        break;
      }
      default:
        CAIRN_TRY(skip_unknown(child, "signature data"));
    }
  }
  CAIRN_TRY(require(has_type, "signature type"));
  CAIRN_TRY(require(has_value, "signature value"));
  CAIRN_TRY(require(has_id, "certificate id"));
  return data;
}

Result<CalendarAuthRecord> parse_calendar_auth(const TlvElement& element) {
  CalendarAuthRecord record;
  CAIRN_TRY_ASSIGN(auto children, read_children(element.value));
  bool has_data = false, has_signature = false;
  for (const auto& child : children) {
    switch (child.tag) {
      case tag::published_data:
        CAIRN_TRY(once(has_data, "calendar authentication published data"));
        CAIRN_TRY(assign_to(record.data, parse_published_data(child)));
        record.data_raw = to_bytes(child.raw);
        break;
      case tag::signature_data:
        CAIRN_TRY(once(has_signature, "calendar authentication signature data"));
        CAIRN_TRY(assign_to(record.signature, parse_signature_data(child)));
        break;
      default:
        CAIRN_TRY(skip_unknown(child, "calendar authentication record"));
    }
  }
  CAIRN_TRY(require(has_data, "calendar authentication published data"));
  CAIRN_TRY(require(has_signature, "calendar authentication signature data"));
  return record;
}

Status parse_aggregation_auth(const TlvElement& element) {
  // The aggregation authentication record is obsolete; its structure is still checked.
  CAIRN_TRY_ASSIGN(auto children, read_children(element.value));
  bool has_time = false, has_input = false, has_signature = false, has_index = false;
  for (const auto& child : children) {
    switch (child.tag) {
      case 0x02:
        CAIRN_TRY(once(has_time, "aggregation authentication time"));
        CAIRN_TRY(tlv_uint(child));
        break;
      case 0x03:
        has_index = true;
        CAIRN_TRY(tlv_uint(child));
        break;
      case 0x05:
        CAIRN_TRY(once(has_input, "aggregation authentication input hash"));
        CAIRN_TRY(tlv_imprint(child, "aggregation authentication input hash"));
        break;
      case tag::signature_data:
        CAIRN_TRY(once(has_signature, "aggregation authentication signature data"));
        CAIRN_TRY(parse_signature_data(child));
        break;
      default:
        CAIRN_TRY(skip_unknown(child, "aggregation authentication record"));
    }
  }
  CAIRN_TRY(require(has_time && has_index && has_input && has_signature,
                    "aggregation authentication record element"));
  return {};
}

Result<Rfc3161Record> parse_rfc3161(const TlvElement& element) {
  Rfc3161Record record;
  CAIRN_TRY_ASSIGN(auto children, read_children(element.value));
  bool seen[0x16] = {};
  for (const auto& child : children) {
    if (child.tag >= 0x16 || (child.tag != 0x02 && child.tag != 0x03 && child.tag != 0x05 &&
                              (child.tag < 0x10 || child.tag > 0x15))) {
      CAIRN_TRY(skip_unknown(child, "RFC 3161 record"));
      continue;
    }
    if (child.tag != 0x03)
      CAIRN_TRY(once(seen[child.tag], fmt::format("RFC 3161 element 0x{:x}", child.tag)));
    switch (child.tag) {
      case 0x02:
        CAIRN_TRY(assign_to(record.aggregation_time, tlv_uint(child)));
        break;
      case 0x03: {
        CAIRN_TRY_ASSIGN(std::uint64_t index, tlv_uint(child));
        record.chain_index.push_back(index);
        seen[0x03] = true;
        break;
      }
      case 0x05:
        CAIRN_TRY(assign_to(record.input_hash, tlv_imprint(child, "RFC 3161 input hash")));
        break;
      case 0x10:
        record.tst_info_prefix = to_bytes(child.value);
        break;
      case 0x11:
        record.tst_info_suffix = to_bytes(child.value);
        break;
      case 0x12:
        CAIRN_TRY(assign_to(record.tst_info_algorithm, tlv_uint(child)));
        break;
      case 0x13:
        record.signed_attr_prefix = to_bytes(child.value);
        break;
      case 0x14:
        record.signed_attr_suffix = to_bytes(child.value);
        break;
      case 0x15:
        CAIRN_TRY(assign_to(record.signed_attr_algorithm, tlv_uint(child)));
        break;
    }
  }
  for (int t : {0x02, 0x03, 0x05, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15}) {
    CAIRN_TRY(require(seen[t], fmt::format("RFC 3161 element 0x{:x}", t)));
  }
  return record;
}

void write_imprint(Bytes& out, std::uint16_t t, const Imprint& imprint) {
  write_tlv(out, t, imprint.bytes());
}

}  // namespace

LinkMetadata LinkMetadata::make(std::string client_id) {
  LinkMetadata metadata;
  metadata.client_id = std::move(client_id);
  metadata.padding_count = 1;
  metadata.padding_first = true;
  metadata.padding_flags_ok = true;
  Bytes body;
  write_utf8(body, 0x01, metadata.client_id);
  // One or two padding bytes make the content length even, so it never has the odd
  // length (1 + digest) of an imprint.
  metadata.padding_value = Bytes((body.size() + 3) % 2 == 0 ? 1 : 2, std::byte{0x01});
  metadata.content = metadata.encode_content();
  return metadata;
}

Bytes LinkMetadata::encode_content() const {
  Bytes out;
  if (padding_count > 0) write_tlv(out, tag::metadata_padding, padding_value, true, true);
  write_utf8(out, 0x01, client_id);
  if (machine_id) write_utf8(out, 0x02, *machine_id);
  if (sequence_number) write_uint(out, 0x03, *sequence_number);
  if (request_time) write_uint(out, 0x04, *request_time);
  return out;
}

ByteView AggregationLink::sibling_bytes() const {
  switch (kind) {
    case Kind::sibling_hash:
      return sibling.bytes();
    case Kind::legacy_id:
      return legacy_id;
    case Kind::metadata:
      return metadata ? ByteView(metadata->content) : ByteView();
  }
  return {};
}

Bytes PublishedData::encode() const {
  Bytes body;
  write_uint(body, 0x02, publication_time);
  write_imprint(body, 0x04, published_hash);
  Bytes out;
  write_tlv(out, tag::published_data, body);
  return out;
}

Result<PublishedData> parse_published_data(const TlvElement& element) {
  PublishedData data;
  CAIRN_TRY_ASSIGN(auto children, read_children(element.value));
  bool has_time = false, has_hash = false;
  for (const auto& child : children) {
    switch (child.tag) {
      case 0x02:
        CAIRN_TRY(once(has_time, "publication time"));
        CAIRN_TRY(assign_to(data.publication_time, tlv_uint(child)));
        break;
      case 0x04:
        CAIRN_TRY(once(has_hash, "published hash"));
        CAIRN_TRY(assign_to(data.published_hash, tlv_imprint(child, "published hash")));
        break;
      default:
        CAIRN_TRY(skip_unknown(child, "published data"));
    }
  }
  CAIRN_TRY(require(has_time, "publication time"));
  CAIRN_TRY(require(has_hash, "published hash"));
  return data;
}

Result<PublicationRecord> parse_publication_record(const TlvElement& element) {
  PublicationRecord record;
  CAIRN_TRY_ASSIGN(auto children, read_children(element.value));
  bool has_data = false;
  for (const auto& child : children) {
    switch (child.tag) {
      case tag::published_data:
        CAIRN_TRY(once(has_data, "publication record published data"));
        CAIRN_TRY(assign_to(record.data, parse_published_data(child)));
        break;
      case 0x09: {
        CAIRN_TRY_ASSIGN(std::string reference, tlv_utf8(child));
        record.references.push_back(std::move(reference));
        break;
      }
      case 0x0A: {
        CAIRN_TRY_ASSIGN(std::string uri, tlv_utf8(child));
        record.repository_uris.push_back(std::move(uri));
        break;
      }
      default:
        CAIRN_TRY(skip_unknown(child, "publication record"));
    }
  }
  CAIRN_TRY(require(has_data, "publication record published data"));
  return record;
}

Bytes encode_publication_record(const PublicationRecord& record, std::uint16_t element_tag) {
  Bytes body = record.data.encode();
  for (const auto& reference : record.references)
    write_utf8(body, 0x09, reference);
  for (const auto& uri : record.repository_uris)
    write_utf8(body, 0x0A, uri);
  Bytes out;
  write_tlv(out, element_tag, body);
  return out;
}

Result<CalendarChain> parse_calendar_chain(const TlvElement& element) {
  CalendarChain chain;
  CAIRN_TRY_ASSIGN(auto children, read_children(element.value));
  bool has_pub_time = false, has_aggr_time = false, has_input = false;
  for (const auto& child : children) {
    switch (child.tag) {
      case 0x01:
        CAIRN_TRY(once(has_pub_time, "calendar chain publication time"));
        CAIRN_TRY(assign_to(chain.publication_time, tlv_uint(child)));
        break;
      case 0x02: {
        CAIRN_TRY(once(has_aggr_time, "calendar chain aggregation time"));
        CAIRN_TRY_ASSIGN(std::uint64_t time, tlv_uint(child));
        chain.aggregation_time = time;
        break;
      }
      case 0x05:
        CAIRN_TRY(once(has_input, "calendar chain input hash"));
        CAIRN_TRY(assign_to(chain.input_hash, tlv_imprint(child, "calendar chain input hash")));
        break;
      case tag::left_link:
      case tag::right_link: {
        CalendarLink link;
        link.left = child.tag == tag::left_link;
        CAIRN_TRY(assign_to(link.sibling, tlv_imprint(child, "calendar chain link")));
        chain.links.push_back(std::move(link));
        break;
      }
      default:
        CAIRN_TRY(skip_unknown(child, "calendar chain"));
    }
  }
  CAIRN_TRY(require(has_pub_time, "calendar chain publication time"));
  CAIRN_TRY(require(has_input, "calendar chain input hash"));
  CAIRN_TRY(require(!chain.links.empty(), "calendar chain link"));
  if (chain.links.size() > 64) return fail(Errc::parse, "calendar chain has over 64 links");
  return chain;
}

Bytes encode_calendar_chain(const CalendarChain& chain) {
  Bytes body;
  write_uint(body, 0x01, chain.publication_time);
  if (chain.aggregation_time) write_uint(body, 0x02, *chain.aggregation_time);
  write_imprint(body, 0x05, chain.input_hash);
  for (const auto& link : chain.links) {
    write_imprint(body, link.left ? tag::left_link : tag::right_link, link.sibling);
  }
  Bytes out;
  write_tlv(out, tag::calendar_chain, body);
  return out;
}

Bytes encode_aggregation_chain(const AggregationChain& chain) {
  Bytes body;
  write_uint(body, 0x02, chain.aggregation_time);
  for (auto index : chain.chain_index)
    write_uint(body, 0x03, index);
  if (chain.input_data) write_tlv(body, 0x04, *chain.input_data);
  write_imprint(body, 0x05, chain.input_hash);
  write_uint(body, 0x06, chain.algorithm);
  for (const auto& link : chain.links) {
    Bytes link_body;
    if (link.level_correction != 0) write_uint(link_body, 0x01, link.level_correction);
    switch (link.kind) {
      case AggregationLink::Kind::sibling_hash:
        write_imprint(link_body, 0x02, link.sibling);
        break;
      case AggregationLink::Kind::legacy_id:
        write_tlv(link_body, 0x03, link.legacy_id);
        break;
      case AggregationLink::Kind::metadata:
        write_tlv(link_body, 0x04, link.metadata->content);
        break;
    }
    write_tlv(body, link.left ? tag::left_link : tag::right_link, link_body);
  }
  Bytes out;
  write_tlv(out, tag::aggregation_chain, body);
  return out;
}

Result<Signature> Signature::parse(ByteView bytes) {
  CAIRN_TRY_ASSIGN(TlvElement root, read_single_tlv(bytes));
  if (root.tag != tag::signature) {
    return fail(Errc::parse, fmt::format("not a KSI signature: outer element is 0x{:x}, "
                                         "expected 0x800",
                                         root.tag));
  }
  Signature signature;
  CAIRN_TRY_ASSIGN(auto children, read_children(root.value));
  bool has_calendar = false, has_publication = false, has_auth = false, has_rfc = false;
  bool has_aggr_auth = false;
  for (const auto& child : children) {
    switch (child.tag) {
      case tag::aggregation_chain: {
        CAIRN_TRY_ASSIGN(auto chain, parse_aggregation_chain(child));
        signature.aggregation_chains.push_back(std::move(chain));
        break;
      }
      case tag::calendar_chain: {
        CAIRN_TRY(once(has_calendar, "calendar hash chain"));
        CAIRN_TRY_ASSIGN(auto chain, parse_calendar_chain(child));
        signature.calendar_chain = std::move(chain);
        break;
      }
      case tag::publication_record: {
        CAIRN_TRY(once(has_publication, "publication record"));
        CAIRN_TRY_ASSIGN(auto record, parse_publication_record(child));
        signature.publication = std::move(record);
        break;
      }
      case tag::aggregation_auth_record:
        CAIRN_TRY(once(has_aggr_auth, "aggregation authentication record"));
        CAIRN_TRY(parse_aggregation_auth(child));
        break;
      case tag::calendar_auth_record: {
        CAIRN_TRY(once(has_auth, "calendar authentication record"));
        CAIRN_TRY_ASSIGN(auto record, parse_calendar_auth(child));
        signature.calendar_auth = std::move(record);
        break;
      }
      case tag::rfc3161_record: {
        CAIRN_TRY(once(has_rfc, "RFC 3161 record"));
        CAIRN_TRY_ASSIGN(auto record, parse_rfc3161(child));
        signature.rfc3161 = std::move(record);
        break;
      }
      default:
        CAIRN_TRY(skip_unknown(child, "signature"));
    }
  }
  CAIRN_TRY(require(!signature.aggregation_chains.empty(), "aggregation hash chain"));
  if (has_publication && has_auth) {
    return fail(Errc::parse,
                "signature has both a publication record and a calendar "
                "authentication record");
  }
  if ((has_publication || has_auth) && !has_calendar) {
    return fail(Errc::parse,
                "signature has a publication or authentication record but no "
                "calendar hash chain");
  }
  // Chains are stored in any order; the document's chain has the longest index.
  std::stable_sort(signature.aggregation_chains.begin(), signature.aggregation_chains.end(),
                   [](const AggregationChain& a, const AggregationChain& b) {
                     return a.chain_index.size() > b.chain_index.size();
                   });
  return signature;
}

Bytes Signature::serialize() const {
  Bytes body;
  for (const auto& chain : aggregation_chains)
    append(body, encode_aggregation_chain(chain));
  if (calendar_chain) append(body, encode_calendar_chain(*calendar_chain));
  if (publication) append(body, encode_publication_record(*publication, tag::publication_record));
  if (calendar_auth) {
    Bytes record =
        calendar_auth->data_raw.empty() ? calendar_auth->data.encode() : calendar_auth->data_raw;
    Bytes sig;
    write_utf8(sig, 0x01, calendar_auth->signature.type);
    write_tlv(sig, 0x02, calendar_auth->signature.value);
    write_tlv(sig, 0x03, calendar_auth->signature.certificate_id);
    if (calendar_auth->signature.certificate_repository_uri) {
      write_utf8(sig, 0x04, *calendar_auth->signature.certificate_repository_uri);
    }
    write_tlv(record, tag::signature_data, sig);
    write_tlv(body, tag::calendar_auth_record, record);
  }
  if (rfc3161) {
    Bytes record;
    write_uint(record, 0x02, rfc3161->aggregation_time);
    for (auto index : rfc3161->chain_index)
      write_uint(record, 0x03, index);
    write_imprint(record, 0x05, rfc3161->input_hash);
    write_tlv(record, 0x10, rfc3161->tst_info_prefix);
    write_tlv(record, 0x11, rfc3161->tst_info_suffix);
    write_uint(record, 0x12, rfc3161->tst_info_algorithm);
    write_tlv(record, 0x13, rfc3161->signed_attr_prefix);
    write_tlv(record, 0x14, rfc3161->signed_attr_suffix);
    write_uint(record, 0x15, rfc3161->signed_attr_algorithm);
    write_tlv(body, tag::rfc3161_record, record);
  }
  Bytes out;
  write_tlv(out, tag::signature, body);
  return out;
}

const Imprint& Signature::document_hash() const {
  return rfc3161 ? rfc3161->input_hash : aggregation_chains.front().input_hash;
}

std::uint64_t Signature::aggregation_time() const {
  return aggregation_chains.front().aggregation_time;
}

Result<ChainResult> compute_aggregation_chain(const AggregationChain& chain, const Imprint& input,
                                              std::uint64_t level) {
  CAIRN_TRY_ASSIGN(HashId id, checked_hash_id(chain.algorithm));
  ImprintHasher hasher(id);
  Imprint current = input;
  for (const auto& link : chain.links) {
    if (link.level_correction > 0xFF || level + link.level_correction + 1 > 0xFF) {
      return fail(Errc::integrity, "aggregation chain level exceeds 255");
    }
    level += link.level_correction + 1;
    if (link.left) {
      hasher.update(current.bytes()).update(link.sibling_bytes());
    } else {
      hasher.update(link.sibling_bytes()).update(current.bytes());
    }
    hasher.update(static_cast<std::uint8_t>(level));
    current = hasher.finish();
  }
  return ChainResult{std::move(current), level};
}

Result<Imprint> compute_calendar_chain(const std::vector<CalendarLink>& links,
                                       const Imprint& input) {
  Imprint current = input;
  for (const auto& link : links) {
    // The step hashes with the function of the right-hand input: the sibling's for a left
    // link, the running hash's for a right link.
    ImprintHasher hasher(link.left ? link.sibling.algorithm() : current.algorithm());
    if (link.left) {
      hasher.update(current.bytes()).update(link.sibling.bytes());
    } else {
      hasher.update(link.sibling.bytes()).update(current.bytes());
    }
    hasher.update(std::uint8_t{0xFF});
    current = hasher.finish();
  }
  return current;
}

Result<Imprint> compute_calendar_chain(const CalendarChain& chain) {
  return compute_calendar_chain(chain.links, chain.input_hash);
}

namespace {
std::uint64_t high_bit(std::uint64_t n) {
  return n == 0 ? 0 : std::uint64_t{1} << (63 - std::countl_zero(n));
}
}  // namespace

Result<std::uint64_t> calendar_chain_time(const CalendarChain& chain) {
  std::uint64_t remaining = chain.publication_time;
  std::uint64_t time = 0;
  for (auto it = chain.links.rbegin(); it != chain.links.rend(); ++it) {
    if (remaining == 0) return fail(Errc::integrity, "calendar chain is too long for its time");
    const std::uint64_t bit = high_bit(remaining);
    if (it->left) {
      remaining = bit - 1;
    } else {
      time += bit;
      remaining -= bit;
    }
  }
  if (remaining != 0) return fail(Errc::integrity, "calendar chain is too short for its time");
  return time;
}

std::uint64_t chain_shape(const AggregationChain& chain) {
  std::uint64_t shape = 1;
  for (auto it = chain.links.rbegin(); it != chain.links.rend(); ++it) {
    shape = (shape << 1) | (it->left ? 1 : 0);
  }
  return shape;
}

}  // namespace cairn::seal

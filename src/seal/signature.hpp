#pragma once
// The KSI signature (TLV 0x0800) and its parts, parsed into plain structures, plus the
// hash-chain arithmetic the verifier and the signing service share.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "seal/imprint.hpp"
#include "seal/tlv.hpp"

namespace cairn::seal {

namespace tag {
inline constexpr std::uint16_t signature = 0x800;
inline constexpr std::uint16_t aggregation_chain = 0x801;
inline constexpr std::uint16_t calendar_chain = 0x802;
inline constexpr std::uint16_t publication_record = 0x803;
inline constexpr std::uint16_t aggregation_auth_record = 0x804;
inline constexpr std::uint16_t calendar_auth_record = 0x805;
inline constexpr std::uint16_t rfc3161_record = 0x806;
inline constexpr std::uint16_t published_data = 0x10;
inline constexpr std::uint16_t signature_data = 0x0B;
inline constexpr std::uint16_t left_link = 0x07;
inline constexpr std::uint16_t right_link = 0x08;
inline constexpr std::uint16_t metadata_padding = 0x1E;
}  // namespace tag

struct LinkMetadata {
  std::string client_id;
  std::optional<std::string> machine_id;
  std::optional<std::uint64_t> sequence_number;
  std::optional<std::uint64_t> request_time;
  Bytes content;  // the element's value: what the chain hashes
  // The padding rules of KSI, checked by the verifier (INT-11) rather than the parser.
  std::size_t padding_count = 0;
  bool padding_first = false;
  bool padding_flags_ok = false;  // TLV8 with non-critical and forward set
  Bytes padding_value;

  // Builds metadata with the padding that keeps its content from reading as an imprint.
  static LinkMetadata make(std::string client_id);
  Bytes encode_content() const;
};

struct AggregationLink {
  enum class Kind { sibling_hash, legacy_id, metadata };
  bool left = false;  // TLV 0x07: the running hash is the left input of this step
  std::uint64_t level_correction = 0;
  Kind kind = Kind::sibling_hash;
  Imprint sibling;
  Bytes legacy_id;
  // Shared and immutable: a round's requesters from one client carry the same metadata.
  std::shared_ptr<const LinkMetadata> metadata;

  // The bytes that stand beside the running hash in this step.
  ByteView sibling_bytes() const;
};

struct AggregationChain {
  std::uint64_t aggregation_time = 0;
  std::vector<std::uint64_t> chain_index;
  std::optional<Bytes> input_data;
  Imprint input_hash;
  std::uint64_t algorithm = 0;  // KSI hash id, checked when the chain is computed
  std::vector<AggregationLink> links;
};

struct CalendarLink {
  bool left = false;  // TLV 0x07: the running hash is the left input
  Imprint sibling;
};

struct CalendarChain {
  std::uint64_t publication_time = 0;
  std::optional<std::uint64_t> aggregation_time;
  Imprint input_hash;
  std::vector<CalendarLink> links;

  std::uint64_t effective_aggregation_time() const {
    return aggregation_time.value_or(publication_time);
  }
};

struct PublishedData {
  std::uint64_t publication_time = 0;
  Imprint published_hash;
  Bytes encode() const;  // the TLV 0x10 element, as signed by calendar authentication
  bool operator==(const PublishedData& other) const {
    return publication_time == other.publication_time && published_hash == other.published_hash;
  }
};

struct PublicationRecord {
  PublishedData data;
  std::vector<std::string> references;
  std::vector<std::string> repository_uris;
};

struct SignatureData {
  std::string type;  // an OID: 1.2.840.113549.1.1.11 (RSA), 1.3.101.112 (Ed25519), ...
  Bytes value;
  Bytes certificate_id;
  std::optional<std::string> certificate_repository_uri;
};

struct CalendarAuthRecord {
  PublishedData data;
  Bytes data_raw;  // the published data element exactly as received (what was signed)
  SignatureData signature;
};

struct Rfc3161Record {
  std::uint64_t aggregation_time = 0;
  std::vector<std::uint64_t> chain_index;
  Imprint input_hash;
  Bytes tst_info_prefix, tst_info_suffix;
  std::uint64_t tst_info_algorithm = 0;
  Bytes signed_attr_prefix, signed_attr_suffix;
  std::uint64_t signed_attr_algorithm = 0;
};

struct Signature {
  std::vector<AggregationChain> aggregation_chains;  // from the document up
  std::optional<CalendarChain> calendar_chain;
  std::optional<PublicationRecord> publication;
  std::optional<CalendarAuthRecord> calendar_auth;
  std::optional<Rfc3161Record> rfc3161;

  // Parses and checks the structure (mandatory and repeated elements, value formats,
  // unknown critical elements); consistency is the verifier's job.
  static Result<Signature> parse(ByteView bytes);
  Bytes serialize() const;

  // The hash the signature was made for (the RFC 3161 record's input, if present).
  const Imprint& document_hash() const;
  std::uint64_t aggregation_time() const;
};

// ---- Hash chains ----
struct ChainResult {
  Imprint hash;
  std::uint64_t level = 0;
};
// Runs an aggregation chain from `input` at `level`; fails on unknown algorithm or on a
// level above 255.
Result<ChainResult> compute_aggregation_chain(const AggregationChain& chain, const Imprint& input,
                                              std::uint64_t level);
// The calendar chain root: each step uses its sibling's hash function and level byte 0xFF.
Result<Imprint> compute_calendar_chain(const CalendarChain& chain);
Result<Imprint> compute_calendar_chain(const std::vector<CalendarLink>& links,
                                       const Imprint& input);
// The aggregation time a calendar chain's shape encodes for its publication time.
Result<std::uint64_t> calendar_chain_time(const CalendarChain& chain);
// The chain index value a chain's left/right shape encodes.
std::uint64_t chain_shape(const AggregationChain& chain);

// Parses a calendar hash chain element (TLV 0x0802) on its own (extender responses).
Result<CalendarChain> parse_calendar_chain(const TlvElement& element);
Bytes encode_calendar_chain(const CalendarChain& chain);
Result<PublishedData> parse_published_data(const TlvElement& element);
Result<PublicationRecord> parse_publication_record(const TlvElement& element);
Bytes encode_publication_record(const PublicationRecord& record, std::uint16_t element_tag);
Bytes encode_aggregation_chain(const AggregationChain& chain);

}  // namespace cairn::seal

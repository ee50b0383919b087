#pragma once
// The strict readers of every JSON artifact a peer sends in the market (formats in
// docs/platform.md, "Artifacts"), and of the roles' local state files. One reader per
// artifact: each parses with parse_json (no exception, depth cap, duplicate keys refused)
// and reads every object closed (an unknown key is an error), every value by type and in
// range, so that what a reader returns can be read with nlohmann's accessors without a
// throw. They return the checked document (the roles pass documents on: into the passport,
// into the next version of an offer) and need neither libtorch nor the RPC client, so the
// fuzz build links them (fuzz/fuzz_market_artifacts.cpp).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "chain/address.hpp"
#include "chain/u256.hpp"
#include "market/passport.hpp"

namespace cairn::market {

// Artifact types ("type" in their canonical JSON).
inline constexpr std::string_view kTaskSpecType = "cairn.task.v1";
inline constexpr std::string_view kDatasetType = "cairn.dataset.v1";
inline constexpr std::string_view kAggregateType = "cairn.aggregate.v1";
inline constexpr std::string_view kRoundRecordType = "cairn.round.v1";
inline constexpr std::string_view kContributionsType = "cairn.contributions.v1";
inline constexpr std::string_view kComputeOfferType = "cairn.compute.v1";

// Each returns the document when it is a well-formed artifact of its type, else an
// Errc::parse error naming `what` and the path of the first problem.
[[nodiscard]] Result<nlohmann::json> parse_task_spec(ByteView bytes,
                                                     std::string_view what = "task spec");
[[nodiscard]] Result<nlohmann::json> parse_dataset_manifest(
    ByteView bytes, std::string_view what = "dataset manifest");
[[nodiscard]] Result<nlohmann::json> parse_aggregate_manifest(
    ByteView bytes, std::string_view what = "aggregate manifest");
[[nodiscard]] Result<nlohmann::json> parse_round_record(ByteView bytes,
                                                        std::string_view what = "round record");
[[nodiscard]] Result<nlohmann::json> parse_compute_offer(ByteView bytes,
                                                         std::string_view what = "compute offer");
[[nodiscard]] Result<nlohmann::json> parse_contribution_report(
    ByteView bytes, std::string_view what = "contribution report");

// The same checks over a document already in memory (e.g. a round record in a passport).
[[nodiscard]] Status check_round_record(const nlohmann::json& document, std::string_view what);

// ---- readers shared by the artifacts (domain values over JsonNode) ----

// A CID in its text form; the text is returned (artifacts carry CIDs as text).
[[nodiscard]] Result<std::string> read_cid_text(const JsonNode& node);
// A CID in the canonical text form cairn writes, parsed.
[[nodiscard]] Result<store::Cid> read_cid(const JsonNode& node);
// A transaction hash: 0x and 64 lower-case hex digits.
[[nodiscard]] Result<ByteArray<32>> read_hash32(const JsonNode& node);
// A calendar imprint in its canonical hex form.
[[nodiscard]] Result<seal::Imprint> read_imprint(const JsonNode& node);
[[nodiscard]] Result<chain::Address> read_address(const JsonNode& node);
// A decimal string of digits ("1000000000000000000"), as amounts in wei are written: no
// leading zeros.
[[nodiscard]] Result<chain::U256> read_decimal_u256(const JsonNode& node);
// A decimal string of digits that fits `max` (deal ids are written as strings).
[[nodiscard]] Result<std::uint64_t> read_decimal_u64(
    const JsonNode& node, std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
// The anchor of a calendar publication as a round record carries it.
[[nodiscard]] Result<AnchorRecord> read_anchor(const JsonNode& node);
[[nodiscard]] nlohmann::json anchor_to_json(const AnchorRecord& anchor);

// Decimal text → u64 with std::from_chars: digits only, no sign or space, in [0, max].
[[nodiscard]] std::optional<std::uint64_t> decimal_u64(std::string_view text,
                                                       std::uint64_t max = ~std::uint64_t{0});

// ---- local state files (written by the roles under <state_dir>) ----

// data_provider/offer.json: {"manifest": CID, "data_sha256": HEX, "signature"?: CID}.
struct OfferState {
  std::string manifest;
  std::string data_sha256;
  std::optional<std::string> signature;
};
[[nodiscard]] Result<OfferState> parse_offer_state(ByteView bytes);
[[nodiscard]] nlohmann::json offer_state_to_json(const OfferState& state);

// data_provider/delegation.json: {"compute_provider": ADDR, "wrapped_key": CID,
// "deal"?: "ID"}.
struct DelegationState {
  std::string compute_provider;
  std::string wrapped_key;
  std::optional<std::string> deal;
};
[[nodiscard]] Result<DelegationState> parse_delegation_state(ByteView bytes);
[[nodiscard]] nlohmann::json delegation_state_to_json(const DelegationState& state);

}  // namespace cairn::market

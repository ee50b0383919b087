// The market's artifact readers (market/artifacts.hpp), one chosen by the first input byte:
// task spec, dataset manifest, aggregate manifest, round record, compute offer,
// contribution report; and the data market's schema (market/data_exchange.hpp), what a
// buyer reads before paying. Each refuses what is malformed without an exception, and
// whatever it accepts is accepted again after a canonical re-serialization (the same
// document). A contribution report's rounds also go through the reward rule's reader
// (market/reward_rule.hpp: what the passport verifier replays the amounts from).
#include <cstdlib>

#include "market/artifacts.hpp"
#include "market/data_exchange.hpp"
#include "market/reward_rule.hpp"

namespace {

using Parser = cairn::Result<nlohmann::json> (*)(cairn::ByteView, std::string_view);

constexpr Parser kParsers[] = {
    cairn::market::parse_task_spec,          cairn::market::parse_dataset_manifest,
    cairn::market::parse_aggregate_manifest, cairn::market::parse_round_record,
    cairn::market::parse_compute_offer,      cairn::market::parse_contribution_report,
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  if (data[0] % (std::size(kParsers) + 1) == std::size(kParsers)) {
    const auto schema = cairn::market::DataSchema::parse(input);
    if (!schema) return 0;
    const std::string text = schema->to_json();
    const auto reparsed = cairn::market::DataSchema::parse(cairn::as_bytes(text));
    if (!reparsed || reparsed->to_json() != text) std::abort();
    return 0;
  }
  const Parser parse = kParsers[data[0] % std::size(kParsers)];
  const auto document = parse(input, "fuzz");
  if (!document) return 0;
  if (parse == cairn::market::parse_contribution_report) {
    // Totals or an error, never an exception.
    (void)cairn::market::shapley_totals(document->value("rounds", nlohmann::json::array()));
  }
  const cairn::Bytes again = cairn::market::canonical_json_bytes(*document);
  const auto reparsed = parse(again, "fuzz");
  if (!reparsed || *reparsed != *document) std::abort();
  return 0;
}

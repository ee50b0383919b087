// The strict artifact readers (market/artifacts.hpp): what the writers produce is accepted
// unchanged, and a table per artifact of malformed documents is refused with an error, never
// an exception.
#include "market/artifacts.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace cairn::market {
namespace {

using nlohmann::json;

std::string text_of(const Bytes& bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

constexpr const char* kCid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
constexpr const char* kAddress = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const std::string kHash32 = std::string(64, 'a');

json task_spec() {
  return {{"type", "cairn.task.v1"},
          {"model", "logreg"},
          {"initial_parameters", kCid},
          {"rounds", 3},
          {"participants", 2},
          {"aggregation", "fedavg"},
          {"privacy", "paillier"},
          {"paillier_public_key", "0a0b0c"},
          {"packing", {{"frac_bits", 16}, {"value_bits", 40}, {"headroom_bits", 4}}},
          {"schema", {{"format", "idx"}, {"features", {28, 28}}, {"classes", 10}}},
          {"test_set", {{"rows", 100}, {"sha256", kHash32}}},
          {"training", {{"epochs", 1}, {"lr", 0.05}, {"batch_size", 64}, {"seed", 1}}},
          {"reward_wei", "1000000000000000000"},
          {"round_timeout_s", 120},
          {"exclude_harmful", true},
          {"input_standardisation", {{"mean", 0.286}, {"std", 0.353}}}};
}

json dataset_manifest() {
  return {{"type", "cairn.dataset.v1"},
          {"owner", kAddress},
          {"dataset", "mnist-shard-0"},
          {"schema", {{"format", "idx"}, {"features", {28, 28}}, {"classes", 10}}},
          {"shards", json::array({{{"images", kCid},
                                   {"labels", kCid},
                                   {"rows", 600},
                                   {"encryption", "xchacha20-poly1305"}}})},
          {"quality",
           {{"rows", 600},
            {"label_counts", {60, 60, 60, 60, 60, 60, 60, 60, 60, 60}},
            {"label_entropy_bits", 3.32},
            {"label_balance", nullptr},
            {"missing_values", 0},
            {"duplicate_rows", 0},
            {"nonconforming_cells", 0},
            {"rejected_rows", 0},
            {"schema_conformance", 1.0},
            {"completeness", 1.0}}},
          {"price_wei", "0"},
          {"compute", {{"provider", kAddress}, {"deal", "7"}, {"key", kCid}}}};
}

json aggregate_manifest() {
  return {
      {"type", "cairn.aggregate.v1"},
      {"task", 1},
      {"round", 0},
      {"included", json::array({{{"participant", kAddress}, {"cid", kCid}}})},
      {"excluded", json::array({{{"participant", kAddress},
                                 {"cid", nullptr},
                                 {"reason", "no update committed before the round timed out"}}})},
      {"sum", kCid}};
}

json contribution_config() {
  return {{"seed", 1},
          {"max_permutations", 0},
          {"between_round_tolerance", 1e-3},
          {"within_round_tolerance", 5e-3},
          {"convergence_tolerance", 0.02},
          {"min_subset", 2}};
}

json round_contribution() {
  return {{"round", 0},
          {"clients", {kAddress, "0x0000000000000000000000000000000000000001"}},
          {"empty_utility", 0.1},
          {"full_utility", 0.8},
          {"truncated_round", false},
          {"permutations", {{0, 1}, {1, 0}}},
          {"subsets",
           json::array({{{"members", {0, 1}}, {"utility", 0.8}, {"aggregate_sha256", kHash32}}})},
          {"shapley", {0.35, 0.35}},
          {"leave_one_out", {0.0, 0.0}}};
}

json round_record() {
  return {{"type", "cairn.round.v1"},
          {"task", 1},
          {"round", 0},
          {"global_model", kCid},
          {"start_accuracy", 0.1},
          {"aggregate",
           {{"posted", kCid},
            {"posted_sum", kCid},
            {"used", kCid},
            {"accepted", true},
            {"reason", ""}}},
          {"included", json::array({{{"participant", kAddress}, {"cid", kCid}}})},
          {"excluded", json::array()},
          {"result_model", kCid},
          {"accuracy", 0.8},
          {"contributions", round_contribution()},
          {"contribution_config", contribution_config()},
          {"signatures", {{kCid, "0102"}}},
          {"anchor",
           {{"publication_time", 1700000000},
            {"root", "01" + kHash32},
            {"contract", kAddress},
            {"signer", kAddress},
            {"tx", "0x" + kHash32},
            {"block", 12}}}};
}

json compute_offer() {
  return {{"type", "cairn.compute.v1"},
          {"owner", kAddress},
          {"price_wei", "5"},
          {"x25519_public_key", kHash32},
          {"deliveries", json::array({{{"deal", "3"},
                                       {"task", 1},
                                       {"round", 0},
                                       {"participant", kAddress},
                                       {"update", kCid}}})}};
}

json contribution_report() {
  return {{"type", "cairn.contributions.v1"},
          {"task_id", 1},
          {"method", "GTG-Shapley"},
          {"config", contribution_config()},
          {"rounds", json::array({{{"round", 0}, {"contributions", round_contribution()}},
                                  {{"round", 1}, {"contributions", nullptr}}})},
          {"rewards", json::array({{{"participant", kAddress},
                                    {"amount_wei", "500000"},
                                    {"shapley_total", 0.35},
                                    {"leave_one_out_total", 0.0}}})},
          {"reward_rule", "pool x share"}};
}

using Parser = Result<json> (*)(ByteView, std::string_view);

struct Artifact {
  const char* name;
  Parser parse;
  std::function<json()> make;
  // A path to a required integer with a range, and a value outside it.
  json::json_pointer ranged;
  json out_of_range;
};

std::vector<Artifact> artifacts() {
  return {
      {"task spec", parse_task_spec, task_spec, json::json_pointer("/rounds"), 0},
      {"dataset manifest", parse_dataset_manifest, dataset_manifest,
       json::json_pointer("/compute/deal"), "18446744073709551616"},
      {"aggregate manifest", parse_aggregate_manifest, aggregate_manifest,
       json::json_pointer("/round"), 256},
      {"round record", parse_round_record, round_record,
       json::json_pointer("/contributions/permutations/0/0"), 2},
      {"compute offer", parse_compute_offer, compute_offer,
       json::json_pointer("/deliveries/0/round"), -1},
      {"contribution report", parse_contribution_report, contribution_report,
       json::json_pointer("/rewards/0/amount_wei"), "-1"},
  };
}

Result<json> parse(const Artifact& artifact, const std::string& text) {
  return artifact.parse(as_bytes(text), artifact.name);
}

TEST(MarketArtifacts, WhatTheWritersProduceRoundTrips) {
  for (const auto& artifact : artifacts()) {
    const json document = artifact.make();
    const std::string text = text_of(canonical_json_bytes(document));
    auto parsed = parse(artifact, text);
    ASSERT_TRUE(parsed) << artifact.name << ": " << parsed.error().to_string();
    EXPECT_EQ(*parsed, document) << artifact.name;
    EXPECT_EQ(text_of(canonical_json_bytes(*parsed)), text) << artifact.name;
  }
}

TEST(MarketArtifacts, OptionalAndNullableFieldsAsTheWritersLeaveThem) {
  json spec = task_spec();
  spec.erase("input_standardisation");
  EXPECT_TRUE(parse_task_spec(as_bytes(spec.dump())));
  json manifest = dataset_manifest();
  manifest["compute"] = nullptr;
  EXPECT_TRUE(parse_dataset_manifest(as_bytes(manifest.dump())));
  json aggregate = aggregate_manifest();
  aggregate["sum"] = nullptr;
  aggregate["included"] = json::array();
  EXPECT_TRUE(parse_aggregate_manifest(as_bytes(aggregate.dump())));
  json record = round_record();
  record["contributions"] = nullptr;
  record["aggregate"]["used"] = nullptr;
  record["aggregate"]["posted"] = nullptr;
  EXPECT_TRUE(parse_round_record(as_bytes(record.dump())));
  json report = contribution_report();
  report["config"] = nullptr;
  EXPECT_TRUE(parse_contribution_report(as_bytes(report.dump())));
}

TEST(MarketArtifacts, MalformedDocumentsAreRefused) {
  for (const auto& artifact : artifacts()) {
    SCOPED_TRACE(artifact.name);
    const json good = artifact.make();
    std::vector<std::pair<std::string, std::string>> cases;
    {
      json doc = good;
      doc["unknown_key"] = 1;
      cases.emplace_back("unknown key at the top", doc.dump());
    }
    {
      json doc = good;
      doc[doc.contains("task") ? "task" : "type"] = json::array();
      cases.emplace_back("wrong type", doc.dump());
    }
    {
      json doc = good;
      doc["type"] = "cairn.other.v1";
      cases.emplace_back("another type", doc.dump());
    }
    for (const auto& [key, value] : good.items()) {
      json doc = good;
      doc.erase(key);
      if (key == "input_standardisation") continue;  // optional
      cases.emplace_back("missing " + key, doc.dump());
    }
    {
      json doc = good;
      doc[artifact.ranged] = artifact.out_of_range;
      cases.emplace_back("out of range", doc.dump());
    }
    {
      // Nested unknown key: in the first object one level down, or in a list's first item.
      json doc = good;
      for (auto& [key, value] : doc.items()) {
        if (value.is_object()) {
          value["surplus"] = true;
          break;
        }
        if (value.is_array() && !value.empty() && value[0].is_object()) {
          value[0]["surplus"] = true;
          break;
        }
      }
      cases.emplace_back("nested unknown key", doc.dump());
    }
    {
      std::string deep(200, '[');
      deep += std::string(200, ']');
      json doc = good;
      std::string text = doc.dump();
      text.insert(text.size() - 1, ",\"deep\":" + deep);
      cases.emplace_back("deep nesting", text);
    }
    {
      std::string text = good.dump();
      text.insert(1, "\"type\":\"x\",");
      cases.emplace_back("duplicate key", text);
    }
    cases.emplace_back("not JSON", "{\"type\":");
    cases.emplace_back("not an object", "[1,2,3]");
    cases.emplace_back("empty", "");
    for (const auto& [label, text] : cases) {
      Result<json> result = fail(Errc::internal, "not run");
      EXPECT_NO_THROW(result = parse(artifact, text)) << label;
      EXPECT_FALSE(result) << label;
      if (!result) {
        EXPECT_EQ(result.error().code, Errc::parse) << label << ": " << result.error().to_string();
      }
    }
  }
}

TEST(MarketArtifacts, ErrorsNameThePath) {
  json record = round_record();
  record["anchor"]["tx"] = "0x12";
  auto parsed = parse_round_record(as_bytes(record.dump()), "round record");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("anchor.tx"), std::string::npos) << parsed.error().message;
}

TEST(MarketArtifacts, DecimalStrings) {
  EXPECT_EQ(decimal_u64("0"), 0u);
  EXPECT_EQ(decimal_u64("18446744073709551615"), ~std::uint64_t{0});
  EXPECT_FALSE(decimal_u64("18446744073709551616"));
  EXPECT_FALSE(decimal_u64(""));
  EXPECT_FALSE(decimal_u64("-1"));
  EXPECT_FALSE(decimal_u64("+1"));
  EXPECT_FALSE(decimal_u64(" 1"));
  EXPECT_FALSE(decimal_u64("1x"));
  EXPECT_FALSE(decimal_u64("11", 10));
}

TEST(MarketArtifacts, LocalState) {
  const OfferState offer{kCid, kHash32, kCid};
  auto read = parse_offer_state(as_bytes(offer_state_to_json(offer).dump()));
  ASSERT_TRUE(read) << read.error().to_string();
  EXPECT_EQ(read->manifest, offer.manifest);
  EXPECT_EQ(read->signature, offer.signature);
  EXPECT_FALSE(parse_offer_state(
      as_bytes(R"({"manifest":")" + std::string(kCid) + R"(","data_sha256":"00","x":1})")));
  const DelegationState delegation{kAddress, kCid, "12"};
  auto state = parse_delegation_state(as_bytes(delegation_state_to_json(delegation).dump()));
  ASSERT_TRUE(state) << state.error().to_string();
  EXPECT_EQ(state->deal, delegation.deal);
  EXPECT_EQ(state->compute_provider, kAddress);
  EXPECT_FALSE(
      parse_delegation_state(as_bytes(std::string("{\"compute_provider\":\"") + kAddress +
                                      "\",\"wrapped_key\":\"" + kCid + "\",\"deal\":\"1e3\"}")));
}

}  // namespace
}  // namespace cairn::market

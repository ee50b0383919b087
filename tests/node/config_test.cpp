#include "node/config.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "node/metrics.hpp"

namespace cairn::node {
namespace {

using nlohmann::json;

json valid_config() {
  return json::parse(R"({
    "name": "data-provider-1",
    "repo": "nodes/dp1",
    "chain": {"rpc": "http://127.0.0.1:8545", "deployment": "deployment.json"},
    "account": {"dev_account": 1},
    "gateway": {"listen": "127.0.0.1:0"},
    "api": {"listen": "127.0.0.1:0", "token_file": "nodes/dp1/api-token"},
    "seal": {"url": "http://127.0.0.1:8180"},
    "poll_ms": 200,
    "roles": {
      "data_provider": {"images": "shards/1/images.idx", "labels": "/abs/labels.idx",
                        "dataset": "fashion-mnist", "price_wei": "0", "behaviour": "honest"}
    }
  })");
}

Result<NodeConfig> parse(const json& doc, const std::filesystem::path& file = "/etc/cairn/n.json") {
  const std::string text = doc.dump();
  return parse_node_config(as_bytes(text), file);
}

// Expects the parse to fail with a message containing `fragment`.
void expect_rejected(const json& doc, const std::string& fragment) {
  auto parsed = parse(doc);
  ASSERT_FALSE(parsed.has_value()) << "accepted: " << doc.dump();
  EXPECT_NE(parsed.error().message.find(fragment), std::string::npos) << parsed.error().message;
}

TEST(NodeConfigTest, ParsesTheBriefsShapeAndResolvesPathsAgainstTheConfigDirectory) {
  auto config = parse(valid_config());
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_EQ(config->name, "data-provider-1");
  EXPECT_EQ(config->repo, "/etc/cairn/nodes/dp1");
  EXPECT_EQ(config->deployment_file, "/etc/cairn/deployment.json");
  EXPECT_EQ(config->token_file, "/etc/cairn/nodes/dp1/api-token");
  EXPECT_EQ(config->rpc, "http://127.0.0.1:8545");
  ASSERT_TRUE(config->account.dev_account);
  EXPECT_EQ(*config->account.dev_account, 1u);
  EXPECT_EQ(config->gateway.host, "127.0.0.1");
  EXPECT_EQ(config->gateway.port, 0);
  ASSERT_TRUE(config->seal);
  EXPECT_EQ(config->seal->url, "http://127.0.0.1:8180");
  EXPECT_EQ(config->poll.count(), 200);
  ASSERT_EQ(config->roles.size(), 1u);
  const json& role = config->roles.at("data_provider");
  EXPECT_EQ(role["images"], "/etc/cairn/shards/1/images.idx");
  EXPECT_EQ(role["labels"], "/abs/labels.idx");
  EXPECT_EQ(role["behaviour"], "honest");  // the role's own keys pass through untouched
}

TEST(NodeConfigTest, KeystoreAccountAndServedSeal) {
  json doc = valid_config();
  doc["account"] = {{"keystore", "keys/k.json"}, {"password_file", "keys/pw"}};
  doc["seal"] = {{"serve", "127.0.0.1:8181"}, {"anchor", true}, {"round_ms", 250}};
  auto config = parse(doc);
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_FALSE(config->account.dev_account);
  EXPECT_EQ(config->account.keystore, "/etc/cairn/keys/k.json");
  EXPECT_EQ(config->account.password_file, "/etc/cairn/keys/pw");
  ASSERT_TRUE(config->seal && config->seal->serve);
  EXPECT_EQ(config->seal->serve->port, 8181);
  EXPECT_TRUE(config->seal->anchor);
  EXPECT_EQ(config->seal->round.count(), 250);
}

TEST(NodeConfigTest, SealAndPollAreOptional) {
  json doc = valid_config();
  doc.erase("seal");
  doc.erase("poll_ms");
  auto config = parse(doc);
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_FALSE(config->seal);
  EXPECT_EQ(config->poll.count(), 200);
}

TEST(NodeConfigTest, RejectsUnknownKeysNamingTheirPath) {
  json doc = valid_config();
  doc["colour"] = "blue";
  expect_rejected(doc, "colour: unknown key");
  doc = valid_config();
  doc["chain"]["rcp"] = "http://x";
  expect_rejected(doc, "chain.rcp: unknown key");
  doc = valid_config();
  doc["api"]["tokenfile"] = "x";
  expect_rejected(doc, "api.tokenfile: unknown key");
  doc = valid_config();
  doc["roles"]["miner"] = json::object();
  expect_rejected(doc, "roles.miner: unknown key");
  doc = valid_config();
  doc["seal"]["anchr"] = true;
  expect_rejected(doc, "seal.anchr: unknown key");
}

TEST(NodeConfigTest, RejectsWrongTypesNamingTheirPath) {
  json doc = valid_config();
  doc["name"] = 7;
  expect_rejected(doc, "name: must be a string");
  doc = valid_config();
  doc["poll_ms"] = "200";
  expect_rejected(doc, "poll_ms: must be an integer");
  doc = valid_config();
  doc["poll_ms"] = 2.5;
  expect_rejected(doc, "poll_ms: must be an integer");
  doc = valid_config();
  doc["poll_ms"] = 0;
  expect_rejected(doc, "poll_ms: must be an integer between");
  doc = valid_config();
  doc["poll_ms"] = 18446744073709551615ULL;
  expect_rejected(doc, "poll_ms: must be an integer between");
  doc = valid_config();
  doc["chain"] = "http://127.0.0.1:8545";
  expect_rejected(doc, "chain: must be an object");
  doc = valid_config();
  doc["account"]["dev_account"] = 10;
  expect_rejected(doc, "account.dev_account: must be an integer between 0 and 9");
  doc = valid_config();
  doc["roles"]["data_provider"] = "honest";
  expect_rejected(doc, "roles.data_provider: must be an object");
  doc = valid_config();
  doc["roles"]["data_provider"]["images"] = 3;
  expect_rejected(doc, "roles.data_provider.images: must be a non-empty path");
  doc = valid_config();
  doc["seal"]["url"] = true;
  expect_rejected(doc, "seal.url: must be a string");
}

TEST(NodeConfigTest, RejectsMissingAndContradictorySettings) {
  for (const char* key : {"name", "repo", "chain", "account", "gateway", "api", "roles"}) {
    json doc = valid_config();
    doc.erase(key);
    expect_rejected(doc, std::string(key) + ": missing");
  }
  json doc = valid_config();
  doc["chain"].erase("deployment");
  expect_rejected(doc, "chain.deployment: missing");
  doc = valid_config();
  doc["account"] = json::object();
  expect_rejected(doc, "account: give either dev_account or keystore");
  doc = valid_config();
  doc["account"] = {{"dev_account", 1}, {"keystore", "k"}, {"password_file", "p"}};
  expect_rejected(doc, "account: give either dev_account or keystore");
  doc = valid_config();
  doc["account"] = {{"keystore", "k"}};
  expect_rejected(doc, "account.password_file: missing");
  doc = valid_config();
  doc["seal"] = {{"url", "http://a:1"}, {"serve", "127.0.0.1:0"}};
  expect_rejected(doc, "seal: give either url");
  doc = valid_config();
  doc["seal"] = {{"url", "http://a:1"}, {"anchor", true}};
  expect_rejected(doc, "seal.anchor: only with seal.serve");
  doc = valid_config();
  doc["roles"] = json::object();
  expect_rejected(doc, "roles: the node has no role");
  doc = valid_config();
  doc["chain"]["rpc"] = "ws://127.0.0.1:8545";
  expect_rejected(doc, "chain.rpc: must be an http");
  doc = valid_config();
  doc["name"] = "two words";
  expect_rejected(doc, "name: 1..64 letters");
  doc = valid_config();
  doc["repo"] = "";
  expect_rejected(doc, "repo: must not be empty");
}

TEST(NodeConfigTest, RejectsMalformedListenAddresses) {
  for (const char* bad :
       {"127.0.0.1", ":80", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:8x", "127.0.0.1:-1"}) {
    json doc = valid_config();
    doc["gateway"]["listen"] = bad;
    expect_rejected(doc, "gateway.listen");
  }
  auto address = parse_listen_address("[::1]:8080");
  ASSERT_TRUE(address);
  EXPECT_EQ(address->host, "[::1]");
  EXPECT_EQ(address->port, 8080);
}

TEST(NodeConfigTest, PaillierBelow2048NeedsTheInsecureTestKeyFlag) {
  json doc = valid_config();
  doc["roles"]["model_provider"] = {{"model", "logreg"}, {"paillier_bits", 1024}};
  expect_rejected(doc, "roles.model_provider.paillier_bits: below 2048 is insecure");
  doc["roles"]["model_provider"]["insecure_test_key"] = "yes";
  expect_rejected(doc, "roles.model_provider.insecure_test_key: must be true or false");
  doc["roles"]["model_provider"]["insecure_test_key"] = true;
  auto config = parse(doc);
  ASSERT_TRUE(config) << config.error().to_string();
  doc["roles"]["model_provider"]["paillier_bits"] = 100;
  expect_rejected(doc, "paillier_bits: must be an integer in 256..8192");
  doc["roles"]["model_provider"]["paillier_bits"] = 2048;
  doc["roles"]["model_provider"].erase("insecure_test_key");
  EXPECT_TRUE(parse(doc));
}

TEST(NodeConfigTest, RejectsInputThatIsNotAJsonObject) {
  for (const std::string text : {"", "{", "[]", "\"name\"", "{\"name\": }", "null", "{}{}"}) {
    auto parsed = parse_node_config(as_bytes(text), "/tmp/c.json");
    ASSERT_FALSE(parsed) << text;
    EXPECT_NE(parsed.error().message.find("/tmp/c.json"), std::string::npos);
  }
  // Truncations of a valid document never parse.
  const std::string text = valid_config().dump();
  for (std::size_t cut = 0; cut < text.size(); cut += 7) {
    EXPECT_FALSE(parse_node_config(as_bytes(std::string_view(text).substr(0, cut)), "/c.json"));
  }
}

TEST(NodeConfigTest, TheInitSkeletonParses) {
  for (const std::vector<std::string>& roles : {std::vector<std::string>{"data_provider"},
                                                {"model_provider", "auditor"},
                                                {"aggregator"},
                                                {"compute_provider"}}) {
    const std::string text = config_skeleton("n1", roles, 2).dump();
    auto config = parse_node_config(as_bytes(text), "/work/n1.json");
    ASSERT_TRUE(config) << config.error().to_string();
    EXPECT_EQ(config->roles.size(), roles.size());
    EXPECT_EQ(*config->account.dev_account, 2u);
    // Every node seals: through the model provider's signing service, or by running it.
    ASSERT_TRUE(config->seal.has_value()) << roles.front();
  }
  // The paths are where `cairn learn partition --out shards` writes; a compute provider's
  // price is one DataTransfer accepts.
  const auto skeleton =
      config_skeleton("n1", {"data_provider", "model_provider", "compute_provider"}, 2);
  EXPECT_EQ(skeleton["roles"]["data_provider"]["images"], "shards/provider-1/images.idx");
  EXPECT_EQ(skeleton["roles"]["model_provider"]["test_images"], "shards/test/images.idx");
  EXPECT_NE(skeleton["roles"]["compute_provider"]["price_wei"], "0");
}

TEST(MetricsFormatTest, RendersHelpTypeAndSamples) {
  std::vector<MetricFamily> families = {
      {"cairn_steps_total",
       "Steps.\nSecond line \\ slash",
       "counter",
       {{{{"role", "data_provider"}}, 3}, {{{"role", "say \"hi\""}}, 1.5}}},
      {"cairn-bad name", "Gauge.", "gauge", {{{}, 7}}},
      {"cairn_steps_total", "ignored duplicate help", "counter", {{{{"role", "x"}}, 0}}},
  };
  const std::string text = render_prometheus(families);
  EXPECT_EQ(text,
            "# HELP cairn_steps_total Steps.\\nSecond line \\\\ slash\n"
            "# TYPE cairn_steps_total counter\n"
            "cairn_steps_total{role=\"data_provider\"} 3\n"
            "cairn_steps_total{role=\"say \\\"hi\\\"\"} 1.5\n"
            "cairn_steps_total{role=\"x\"} 0\n"
            "# HELP cairn_bad_name Gauge.\n"
            "# TYPE cairn_bad_name gauge\n"
            "cairn_bad_name 7\n");
  EXPECT_EQ(metric_name("9lives"), "_lives");
  EXPECT_EQ(metric_name("a:b_c9"), "a:b_c9");
}

}  // namespace
}  // namespace cairn::node

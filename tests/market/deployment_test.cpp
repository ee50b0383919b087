// The deployment file (market/deployment.hpp): what `cairn chain deploy` writes, nodes and
// the CLI read back; one writer, one strict reader.
#include "market/deployment.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "chain/anvil_fixture.hpp"  // EXPECT_FAILS_WITH
#include "testing/testing.hpp"

namespace cairn::market {
namespace {

using nlohmann::json;

DeploymentFile sample() {
  DeploymentFile file;
  file.rpc = "http://127.0.0.1:8545";
  file.deployment.chain_id = 31337;
  file.deployment.start_block = 4;
  file.deployment.anchor =
      chain::Address::parse("0x5fbdb2315678afecb367f032d93f642f64180aa3").value();
  file.deployment.data_transfer =
      chain::Address::parse("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512").value();
  file.deployment.registry =
      chain::Address::parse("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0").value();
  file.deployment.training_task =
      chain::Address::parse("0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9").value();
  return file;
}

void expect_same(const DeploymentFile& a, const DeploymentFile& b) {
  EXPECT_EQ(a.rpc, b.rpc);
  EXPECT_EQ(a.deployment.chain_id, b.deployment.chain_id);
  EXPECT_EQ(a.deployment.start_block, b.deployment.start_block);
  EXPECT_EQ(a.deployment.contracts(), b.deployment.contracts());
}

TEST(DeploymentFileTest, ParsesWhatChainDeployWrites) {
  const std::string text = R"({"rpc": "http://127.0.0.1:8545", "chainId": 31337, "startBlock": 4,
    "contracts": {"Anchor": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                  "DataTransfer": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
                  "Registry": "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
                  "TrainingTask": "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9"}})";
  auto parsed = parse_deployment(as_bytes(text), "d.json");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->deployment.chain_id, 31337u);
  EXPECT_EQ(parsed->deployment.start_block, 4u);
  EXPECT_EQ(parsed->deployment.anchor.to_lower_hex(), "0x5fbdb2315678afecb367f032d93f642f64180aa3");
  EXPECT_EQ(parsed->rpc, "http://127.0.0.1:8545");
  expect_same(*parsed, sample());
}

TEST(DeploymentFileTest, RoundTripsThroughTheWriter) {
  const auto file = sample();
  const std::string text = format_deployment(file);
  EXPECT_EQ(text.back(), '\n');
  const auto parsed = parse_deployment(as_bytes(text), "d.json");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  expect_same(*parsed, file);
  // The contracts by name, in name order, as `chain deploy` prints them.
  const auto contracts = file.deployment.contracts();
  ASSERT_EQ(contracts.size(), 4u);
  EXPECT_EQ(contracts[0].first, "Anchor");
  EXPECT_EQ(contracts[1].first, "DataTransfer");
  EXPECT_EQ(contracts[2].first, "Registry");
  EXPECT_EQ(contracts[3].first, "TrainingTask");
  EXPECT_EQ(contracts[2].second, file.deployment.registry);

  testing::TempDir dir;
  const auto path = dir / "sub" / "deployment.json";
  ASSERT_TRUE(save_deployment(path, file));
  const auto loaded = load_deployment(path);
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  expect_same(*loaded, file);

  // Without startBlock, scans begin at block 0.
  auto document = json::parse(text);
  document.erase("startBlock");
  const auto without = parse_deployment(as_bytes(document.dump()), "d.json");
  ASSERT_TRUE(without);
  EXPECT_EQ(without->deployment.start_block, 0u);
}

TEST(DeploymentFileTest, RejectsMissingContractsAndBadAddresses) {
  const json doc = json::parse(format_deployment(sample()));
  const auto parse = [](const json& d) { return parse_deployment(as_bytes(d.dump()), "d.json"); };
  ASSERT_TRUE(parse(doc));
  json d = doc;
  d["contracts"].erase("TrainingTask");
  EXPECT_FAILS_WITH(parse(d), "d.json: contracts.TrainingTask: missing");
  d = doc;
  d["contracts"]["Anchor"] = "0x1234";
  EXPECT_FAILS_WITH(parse(d), "d.json: contracts.Anchor");
  d = doc;
  d["contracts"]["Registri"] = d["contracts"]["Registry"];
  EXPECT_FAILS_WITH(parse(d), "d.json: contracts.Registri: unknown key");
  d = doc;
  d["contracts"] = json::array();
  EXPECT_FAILS_WITH(parse(d), "d.json: contracts: must be an object");
  d = doc;
  d["chainId"] = -1;
  EXPECT_FAILS_WITH(parse(d), "d.json: chainId");
  d = doc;
  d["chainId"] = 0;
  EXPECT_FAILS_WITH(parse(d), "d.json: chainId");
  d = doc;
  d["startBlock"] = "4";
  EXPECT_FAILS_WITH(parse(d), "d.json: startBlock");
  d = doc;
  d.erase("rpc");
  EXPECT_FAILS_WITH(parse(d), "d.json: rpc: missing");
  d = doc;
  d["rcp"] = "http://x";
  EXPECT_FAILS_WITH(parse(d), "d.json: rcp: unknown key");
  EXPECT_FAILS_WITH(parse(json::array()), "d.json: must be an object");
  EXPECT_EQ(parse(json::array()).error().code, Errc::parse);
  const auto garbage = parse_deployment(as_bytes(std::string_view("{\"rpc\":")), "d.json");
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message.find("not valid JSON"), std::string::npos);
}

TEST(DeploymentFileTest, LoadNamesTheFile) {
  testing::TempDir dir;
  const auto missing = load_deployment(dir / "none.json");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("none.json"), std::string::npos);
  const auto directory = load_deployment(dir.path());
  ASSERT_FALSE(directory);
  ASSERT_TRUE(file::write_atomic(dir / "bad.json", std::string_view("{}")));
  const auto bad = load_deployment(dir / "bad.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("bad.json: rpc: missing"), std::string::npos)
      << bad.error().message;
}

}  // namespace
}  // namespace cairn::market

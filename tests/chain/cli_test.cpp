// The chain and data commands as users run them: the real cairn binary against anvil.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "chain/anvil.hpp"
#include "testing/testing.hpp"

namespace cairn::chain {
namespace {

using cairn::testing::run_command;
using nlohmann::json;

class ChainCli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = Anvil::start();
    ASSERT_TRUE(started) << started.error().to_string();
    anvil = std::move(*started);
  }
  // Runs `cairn ARGS --repo REPO` and returns the result.
  cairn::testing::CommandResult cairn(const std::string& args, const std::string& env = {}) {
    return run_command(env + " " + cairn::testing::cairn_binary().string() + " --repo " +
                       repo.path().string() + " " + args);
  }
  json last_json(const cairn::testing::CommandResult& result) {
    const auto end = result.out.find_last_not_of('\n');
    const auto start = result.out.rfind('\n', end);
    return json::parse(result.out.substr(start == std::string::npos ? 0 : start + 1, end - start));
  }
  std::string rpc() const { return " --rpc " + anvil->url(); }

  std::unique_ptr<Anvil> anvil;
  cairn::testing::TempDir repo;
  cairn::testing::TempDir files;  // inputs and outputs, outside the repository
};

TEST_F(ChainCli, DeployPrintsEveryAddressAndSavesTheDeployment) {
  const auto deployed = cairn("chain deploy --json --dev-account 0 --deal-duration 120" + rpc());
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;
  const auto addresses = last_json(deployed);
  for (const char* name : {"DataTransfer", "Anchor", "Registry", "TrainingTask"}) {
    ASSERT_TRUE(addresses.contains(name)) << deployed.out;
    EXPECT_TRUE(Address::parse(addresses[name].get<std::string>()));
  }
  const auto status = cairn("chain status --json");
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const auto doc = last_json(status);
  EXPECT_EQ(doc["chainId"], 31337);
  EXPECT_TRUE(doc["contracts"]["DataTransfer"]["deployed"].get<bool>());
}

TEST_F(ChainCli, WalletNewImportAndWrongPassword) {
  cairn::testing::write_file(files / "pw", as_bytes(std::string_view("s3cret\n")));
  const auto created =
      cairn("wallet new --light --json --password-file " + (files / "pw").string());
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const auto wallet = last_json(created);
  const auto listed = cairn("wallet list --json");
  EXPECT_EQ(last_json(listed)["wallets"][0]["address"], wallet["address"]);
  // The password comes from the environment as well.
  const auto address = cairn("wallet address --keystore " + wallet["keystore"].get<std::string>(),
                             "CAIRN_PASSWORD=s3cret");
  ASSERT_EQ(address.exit_code, 0) << address.err;
  EXPECT_EQ(address.out, wallet["address"].get<std::string>() + "\n");
  const auto wrong = cairn("wallet address --keystore " + wallet["keystore"].get<std::string>(),
                           "CAIRN_PASSWORD=nope");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("wrong password"), std::string::npos) << wrong.err;
  // Without a password anywhere: a usage error, not a prompt or an empty password.
  const auto missing = cairn("wallet new", "env -u CAIRN_PASSWORD");
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  const auto empty = cairn("wallet new", "CAIRN_PASSWORD=");
  EXPECT_EQ(empty.exit_code, 2) << empty.err;
  EXPECT_NE(empty.err.find("the password is empty"), std::string::npos) << empty.err;
  // The same key imported twice stays one keystore.
  cairn::testing::write_file(
      files / "key", as_bytes(std::string_view(
                         "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d\n")));
  for (int i = 0; i < 2; ++i) {
    const auto imported =
        cairn("wallet import --json --private-key-file " + (files / "key").string(),
              "CAIRN_PASSWORD=s3cret");
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    EXPECT_EQ(last_json(imported)["imported"].get<bool>(), i == 0);
  }
  EXPECT_EQ(last_json(cairn("wallet list --json"))["wallets"].size(), 2u);
  // A keystore signs deployments: fund it from a dev account first.
  const auto keystore = wallet["keystore"].get<std::string>();
  const auto deploy_unfunded =
      cairn("chain deploy --keystore " + keystore + rpc(), "CAIRN_PASSWORD=s3cret");
  EXPECT_EQ(deploy_unfunded.exit_code, 1);
  EXPECT_NE(deploy_unfunded.err.find("insufficient funds"), std::string::npos)
      << deploy_unfunded.err;
}

// Secrets never reach standard output, standard error or --json: not a keystore's password,
// not an imported private key, not the credentials or API key in an RPC URL.
TEST_F(ChainCli, NoSecretInOutputOrErrors) {
  const std::string password = "pw-Zq81mX";
  const std::string key_hex = "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
  cairn::testing::write_file(files / "pw", as_bytes(password + "\n"));
  cairn::testing::write_file(files / "key", as_bytes("0x" + key_hex + "\n"));
  const std::string url_secret = "hunter2-Kq7";
  const std::string url_key = "apikey-Wv3";
  const std::string leaky_rpc = "http://alice:" + url_secret + "@" +
                                anvil->url().substr(std::string("http://").size()) + "/v3/" +
                                url_key;
  std::vector<cairn::testing::CommandResult> results;
  for (const std::string json_flag : {"", "--json "}) {
    results.push_back(
        cairn(json_flag + "wallet new --light --password-file " + (files / "pw").string()));
    results.push_back(cairn(json_flag + "wallet import --light --private-key-file " +
                            (files / "key").string() + " --password-file " +
                            (files / "pw").string()));
    results.push_back(cairn(json_flag + "wallet list"));
    results.push_back(
        cairn(json_flag + "wallet address --keystore nowhere", "CAIRN_PASSWORD=" + password));
    results.push_back(cairn(json_flag + "chain status --rpc " + leaky_rpc));
    results.push_back(cairn(json_flag + "chain deploy --dev-account 0 --rpc " + leaky_rpc));
    results.push_back(cairn(json_flag + "events --rpc " + leaky_rpc));
    results.push_back(cairn(json_flag + "chain status --rpc http://bob:" + url_secret +
                            "@127.0.0.1:1/" + url_key));
  }
  ASSERT_EQ(results[0].exit_code, 0) << results[0].err;
  ASSERT_EQ(results[1].exit_code, 0) << results[1].err;
  for (const auto& result : results) {
    for (const std::string& secret : {password, key_hex, url_secret, url_key}) {
      EXPECT_EQ(result.out.find(secret), std::string::npos) << secret << " in:\n" << result.out;
      EXPECT_EQ(result.err.find(secret), std::string::npos) << secret << " in:\n" << result.err;
    }
  }
}

TEST_F(ChainCli, RefusesAWrongChainForTheDeployment) {
  ASSERT_EQ(cairn("chain deploy --dev-account 0" + rpc()).exit_code, 0);
  // Another chain (id 1) behind the deployment's URL is refused.
  AnvilOptions options;
  options.chain_id = 1;
  auto other = Anvil::start(options);
  ASSERT_TRUE(other);
  const auto config_path = repo / "chain" / "config.json";
  const auto config_bytes = cairn::testing::read_file(config_path);
  auto config = json::parse(as_chars(config_bytes));
  config["rpc"] = (*other)->url();
  cairn::testing::write_file(config_path, as_bytes(config.dump()));
  const auto events = cairn("events");
  EXPECT_EQ(events.exit_code, 1);
  EXPECT_NE(events.err.find("wrong chain"), std::string::npos) << events.err;
}

#ifdef CAIRN_WITH_STORE
// The whole DataTransfer flow with a real file: offer, buy, provide (encrypted, key
// wrapped), accept (decrypted, checked, paid); then a second deal settled by dispute.
TEST_F(ChainCli, WholeDataTransferFlowWithRealFiles) {
  ASSERT_EQ(cairn("chain deploy --dev-account 9 --deal-duration 120" + rpc()).exit_code, 0);
  const auto data = cairn::testing::pseudo_random_bytes(600000, 7);  // three chunks
  cairn::testing::write_file(files / "dataset.bin", data);
  const std::string provider = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";  // dev account 2

  const auto offered = cairn("data offer " + (files / "dataset.bin").string() +
                             " --price 1ether --dev-account 2 --json");
  ASSERT_EQ(offered.exit_code, 0) << offered.err;
  const auto schema = last_json(offered)["schema"].get<std::string>();

  // Nothing is escrowed for a schema that was never offered, or not by that provider.
  const std::string never_offered = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
  const auto unoffered = cairn("data buy --provider " + provider + " --schema " + never_offered +
                               " --price 1ether --dev-account 1");
  EXPECT_EQ(unoffered.exit_code, 1);
  EXPECT_NE(unoffered.err.find("no offer of schema"), std::string::npos) << unoffered.err;
  const auto wrong_provider =
      cairn("data buy --provider 0x90F79bf6EB2c4f870365E785982E1f101E93b906 --schema " + schema +
            " --price 1ether --dev-account 1");
  EXPECT_EQ(wrong_provider.exit_code, 1);
  // Offers are looked up by the provider named: another account's entry for the same schema
  // is never taken for its offer.
  EXPECT_NE(wrong_provider.err.find("is registered by 0x90F79bf6EB2c4f870365E785982E1f101E93b906"),
            std::string::npos)
      << wrong_provider.err;
  const auto no_price =
      cairn("data offer " + (files / "dataset.bin").string() + " --dev-account 2");
  EXPECT_EQ(no_price.exit_code, 2) << no_price.err;

  const auto bought = cairn("data buy --provider " + provider + " --schema " + schema +
                            " --price 1ether --dev-account 1 --json");
  ASSERT_EQ(bought.exit_code, 0) << bought.err;
  EXPECT_EQ(last_json(bought)["dealId"], "1");

  // Only the provider may deliver.
  const auto impostor = cairn("data provide 1 --dev-account 3");
  EXPECT_EQ(impostor.exit_code, 1);

  const auto provided = cairn("data provide 1 --dev-account 2 --json");
  ASSERT_EQ(provided.exit_code, 0) << provided.err;

  const auto accepted =
      cairn("data accept 1 -o " + (files / "received.bin").string() + " --dev-account 1 --json");
  ASSERT_EQ(accepted.exit_code, 0) << accepted.err;
  EXPECT_EQ(cairn::testing::read_file(files / "received.bin"), data);
  EXPECT_EQ(last_json(cairn("data status 1 --json"))["open"], false);

  // Deal 2: the provider delivers and the consumer goes silent; the provider disputes and
  // the authority (dev account 9) settles.
  ASSERT_EQ(cairn("data buy --provider " + provider + " --schema " + schema +
                  " --price 2ether --dev-account 1")
                .exit_code,
            0);
  ASSERT_EQ(cairn("data provide 2 --dev-account 2").exit_code, 0);
  const auto disputed = cairn("data dispute 2 --dev-account 2");
  ASSERT_EQ(disputed.exit_code, 0) << disputed.err;
  EXPECT_EQ(cairn("data settle 2 --dev-account 1").exit_code, 1);  // not the authority
  const auto settled = cairn("data settle 2 --dev-account 9");
  ASSERT_EQ(settled.exit_code, 0) << settled.err;

  // Deal 3: nothing delivered; cancel only after the expiry.
  ASSERT_EQ(cairn("data buy --provider " + provider + " --schema " + schema +
                  " --price 1ether --dev-account 1")
                .exit_code,
            0);
  const auto early = cairn("data cancel 3 --dev-account 1");
  EXPECT_EQ(early.exit_code, 1);
  EXPECT_NE(early.err.find("DealNotExpired"), std::string::npos) << early.err;

  // The hub saw it all, in order.
  const auto events = cairn("events --json");
  ASSERT_EQ(events.exit_code, 0) << events.err;
  std::vector<std::string> names;
  const auto doc = last_json(events);
  for (const auto& e : doc["events"]) {
    if (e["contract"].get<std::string>() == "DataTransfer")
      names.push_back(e["event"].get<std::string>());
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "DealInitiated", "DataProvided", "DealSettled", "DealInitiated",
                       "DataProvided", "ForcefulSettleRequested", "DealSettled", "DealInitiated"}))
      << events.out;
}
#endif

}  // namespace
}  // namespace cairn::chain

// The verifier's trust root: its file (strict reader, one writer) and the calendar keys a
// signing service's operator registers in the Registry, from which a trust root is built.
#include "market/trust_root.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "chain/anvil_fixture.hpp"
#include "chain/contract.hpp"
#include "crypto/hash.hpp"
#include "market/directory.hpp"
#include "seal/keys.hpp"

namespace cairn::market {
namespace {

using chain::testing::AnvilTest;
using nlohmann::json;

Bytes new_certificate() {
  return seal::ServiceKeys::generate().value().calendar_cert_der;
}

TrustRoot sample() {
  TrustRoot trust;
  trust.chain_id = 31337;
  trust.training_task = chain::Address::parse("0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9").value();
  trust.registry = chain::Address::parse("0x9FE46736679d2d9a65F0992f32272De9F3c7Fa6e").value();
  trust.anchor = chain::Address::parse("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512").value();
  trust.calendar_certificates = {new_certificate()};
  trust.anchor_signers = {
      chain::Address::parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8").value()};
  trust.max_anchor_delay_s = 600;
  return trust;
}

TEST(TrustRootFileTest, WhatIsWrittenReadsBackTheSame) {
  const TrustRoot trust = sample();
  const std::string text = format_trust_root(trust);
  const auto parsed = parse_trust_root(as_bytes(text), "trust.json");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(format_trust_root(*parsed), text);
  EXPECT_TRUE(parsed->pins_certificate(trust.calendar_certificates.front()));
  EXPECT_FALSE(parsed->pins_certificate(new_certificate()));
  EXPECT_TRUE(parsed->pins_signer(trust.anchor_signers.front()));
  // The delay has a default.
  json without_delay = json::parse(text);
  without_delay.erase("max_anchor_delay_s");
  const auto defaulted = parse_trust_root(as_bytes(without_delay.dump()), "trust.json");
  ASSERT_TRUE(defaulted) << defaulted.error().to_string();
  EXPECT_EQ(defaulted->max_anchor_delay_s, kDefaultMaxAnchorDelaySeconds);
}

TEST(TrustRootFileTest, MalformedFilesAreRefusedWithTheirPath) {
  const json good = json::parse(format_trust_root(sample()));
  const std::string certificate = good["calendar_certificates"][0].get<std::string>();
  struct Case {
    std::function<void(json&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](json& j) { j["type"] = "cairn.trust.v0"; }, "type: is cairn.trust.v0"},
      {[](json& j) { j["extra"] = 1; }, "extra: unknown key"},
      {[](json& j) { j.erase("chain_id"); }, "chain_id"},
      {[](json& j) { j["chain_id"] = 0; }, "chain_id"},
      {[](json& j) { j["contracts"].erase("Anchor"); }, "contracts.Anchor"},
      {[](json& j) { j["contracts"]["DataTransfer"] = j["contracts"]["Anchor"]; },
       "contracts.DataTransfer: unknown key"},
      {[](json& j) { j["contracts"]["Registry"] = "0x1234"; }, "contracts.Registry"},
      {[](json& j) { j["calendar_certificates"] = json::array(); },
       "calendar_certificates: must pin at least one certificate"},
      {[](json& j) { j["calendar_certificates"] = "3082"; }, "calendar_certificates"},
      {[](json& j) { j["calendar_certificates"][0] = "30820102"; },
       "calendar_certificates[0]: not an X.509 certificate"},
      {[](json& j) { j["calendar_certificates"][0] = "xyz"; }, "calendar_certificates[0]"},
      {[&](json& j) { j["calendar_certificates"].push_back(certificate); },
       "calendar_certificates[1]: listed twice"},
      {[](json& j) { j["anchor_signers"] = json::array(); },
       "anchor_signers: must pin at least one signer"},
      {[](json& j) { j["anchor_signers"].push_back(j["anchor_signers"][0]); },
       "anchor_signers[1]: listed twice"},
      {[](json& j) { j["anchor_signers"][0] = "0x70997970"; }, "anchor_signers[0]"},
      {[](json& j) { j["max_anchor_delay_s"] = 0; }, "max_anchor_delay_s"},
      {[](json& j) { j["max_anchor_delay_s"] = 1.5; }, "max_anchor_delay_s"},
  };
  for (const auto& item : cases) {
    json changed = good;
    item.change(changed);
    const auto parsed = parse_trust_root(as_bytes(changed.dump()), "trust.json");
    ASSERT_FALSE(parsed) << item.message;
    EXPECT_NE(parsed.error().message.find("trust.json"), std::string::npos)
        << parsed.error().message;
    EXPECT_NE(parsed.error().message.find(item.message), std::string::npos)
        << item.message << " / " << parsed.error().message;
  }
  const std::string text = good.dump();
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, text.size() / 2, text.size() - 1}) {
    EXPECT_FALSE(parse_trust_root(as_bytes(std::string_view(text).substr(0, cut)), "trust.json"));
  }
  EXPECT_FALSE(parse_trust_root(as_bytes(std::string_view("[]")), "trust.json"));
}

class CalendarKeyRegistryTest : public AnvilTest {};

// A node serving a signing service registers its calendar key under the account it anchors
// with; a trust root is built from those entries. Only the operator's own, active entries
// whose metadata is the certificate their digest commits to are pinned.
TEST_F(CalendarKeyRegistryTest, TheOperatorsRegisteredKeysBecomeTheTrustRoot) {
  auto registry = chain::Contract::deploy(sender, accounts[0], "Registry");
  ASSERT_TRUE(registry) << registry.error().to_string();
  Deployment deployment;
  deployment.chain_id = 31337;
  deployment.registry = registry->address();
  deployment.training_task = accounts[8].address;  // only named here
  deployment.anchor = accounts[9].address;
  const chain::Signer& operator_account = accounts[1];
  const chain::Signer& stranger = accounts[2];

  auto none = trust_root_from_registry(sender, deployment, operator_account.address);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::not_found);

  const Bytes current = new_certificate();
  ASSERT_TRUE(announce_calendar_key(*registry, operator_account, current));
  const std::uint64_t blocks = rpc->block_number().value();
  ASSERT_TRUE(announce_calendar_key(*registry, operator_account, current));  // idempotent
  EXPECT_EQ(rpc->block_number().value(), blocks);

  // A stranger's key, registered by the stranger: not the operator's.
  ASSERT_TRUE(announce_calendar_key(*registry, stranger, new_certificate()));
  // A retired key of the operator's.
  const Bytes retired = new_certificate();
  auto registered = registry->transact(
      operator_account, "register",
      {chain::abi::Value(static_cast<std::uint64_t>(RegistryKind::calendar_key)),
       chain::abi::Value(crypto::sha256(retired)), chain::abi::Value::text(to_hex(retired))});
  ASSERT_TRUE(registered);
  const auto retired_id = registry->event_in(registered->receipt, "Registered").value().at(0);
  ASSERT_TRUE(registry->transact(operator_account, "retire", {retired_id}));
  // An entry whose metadata is not the certificate its digest names.
  ASSERT_TRUE(
      registry->transact(operator_account, "register",
                         {chain::abi::Value(static_cast<std::uint64_t>(RegistryKind::calendar_key)),
                          chain::abi::Value(crypto::sha256(new_certificate())),
                          chain::abi::Value::text(to_hex(current))}));

  const auto trust = trust_root_from_registry(sender, deployment, operator_account.address);
  ASSERT_TRUE(trust) << trust.error().to_string();
  ASSERT_EQ(trust->calendar_certificates.size(), 1u);
  EXPECT_EQ(trust->calendar_certificates.front(), current);
  EXPECT_EQ(trust->anchor_signers, std::vector<chain::Address>{operator_account.address});
  EXPECT_EQ(trust->registry, deployment.registry);
  EXPECT_EQ(trust->anchor, deployment.anchor);
  EXPECT_EQ(trust->chain_id, 31337u);

  Deployment other_chain = deployment;
  other_chain.chain_id = 1;
  EXPECT_FALSE(trust_root_from_registry(sender, other_chain, operator_account.address));
}

}  // namespace
}  // namespace cairn::market

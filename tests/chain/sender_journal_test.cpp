// The transaction journal as read at start-up: what a crash can leave (a torn last line) is
// ignored, anything else that is not a journal entry is refused with its line named.
#include <gtest/gtest.h>

#include "base/encoding.hpp"
#include "chain/anvil.hpp"
#include "chain/sender.hpp"

namespace cairn::chain {
namespace {

SignedTransaction signed_transfer(std::uint64_t nonce) {
  Transaction tx;
  tx.chain_id = kLocalChainId;
  tx.nonce = nonce;
  tx.max_fee_per_gas = U256(2'000'000'000);
  tx.max_priority_fee_per_gas = U256(1'000'000'000);
  tx.to = Signer::from_key(dev_account_key(1)).address;
  tx.value = U256(1);
  return sign_transaction(tx, dev_account_key(0)).value();
}

std::string line(const SignedTransaction& signed_tx) {
  return "{\"raw\":\"" + to_hex(signed_tx.raw) + "\"}\n";
}

Result<std::vector<SignedTransaction>> parse(std::string_view text, bool legacy = false) {
  return parse_transaction_journal(as_bytes(text), legacy, "test.journal");
}

TEST(TransactionJournal, ReadsEveryVersionOfTheIntentInOrder) {
  const auto first = signed_transfer(7);
  const auto bumped = signed_transfer(7);
  const auto versions = parse(line(first) + "\n" + line(bumped));
  ASSERT_TRUE(versions) << versions.error().to_string();
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].hash, first.hash);
  EXPECT_EQ((*versions)[1].tx.nonce, 7u);
  EXPECT_EQ((*versions)[0].from, Signer::from_key(dev_account_key(0)).address);
}

TEST(TransactionJournal, ATornLastLineWasNeverBroadcastAndIsIgnored) {
  const auto first = signed_transfer(1);
  const std::string whole = line(first);
  const auto versions = parse(whole + whole.substr(0, whole.size() / 2));
  ASSERT_TRUE(versions) << versions.error().to_string();
  EXPECT_EQ(versions->size(), 1u);
  const auto nothing = parse(whole.substr(0, whole.size() - 1));
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->empty());
}

TEST(TransactionJournal, LegacyEntriesAreBareHex) {
  const auto first = signed_transfer(3);
  const auto versions = parse(to_hex(first.raw) + "\n", true);
  ASSERT_TRUE(versions) << versions.error().to_string();
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ((*versions)[0].hash, first.hash);
}

TEST(TransactionJournal, DamageIsRefusedNamingTheLine) {
  const std::string good = line(signed_transfer(1));
  for (const std::string& bad : {
           std::string("not json\n"),
           std::string("{\"raw\":\"zz\"}\n"),                    // not hex
           std::string("{\"raw\":\"02c0\"}\n"),                  // not a transaction
           std::string("{\"hash\":\"00\"}\n"),                   // no raw
           good.substr(0, good.size() - 2) + ",\"extra\":1}\n",  // an unknown key
           std::string("[1,2]\n"),                               // not an object
       }) {
    const auto refused = parse(good + bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_NE(refused.error().to_string().find("test.journal line 2"), std::string::npos)
        << refused.error().to_string();
  }
  const auto legacy = parse("xyz\n", true);
  ASSERT_FALSE(legacy);
  EXPECT_NE(legacy.error().to_string().find("line 1"), std::string::npos);
}

}  // namespace
}  // namespace cairn::chain

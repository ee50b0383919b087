// The DataTransfer exchange of market/data_exchange.hpp: CIDs from the chain's digests, the
// schema, sealing a file to a deal and opening it, and the Registry's listing of offers.
// (tests/chain/cli_test.cpp runs the whole exchange through `cairn data` against anvil.)
#include "market/data_exchange.hpp"

#include <gtest/gtest.h>

#include "base/encoding.hpp"
#include "chain/anvil_fixture.hpp"
#include "crypto/hash.hpp"
#include "market/directory.hpp"
#include "market/passport.hpp"
#include "store/blockstore.hpp"
#include "testing/testing.hpp"

namespace cairn::market {
namespace {

using chain::testing::AnvilTest;

const chain::Address kProvider =
    chain::Address::parse("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC").value();
const chain::Address kContract =
    chain::Address::parse("0x5FbDB2315678afecb367f032d93F642f64180aa3").value();

class DataExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::Blockstore::open(dir.path() / "blocks");
    ASSERT_TRUE(opened) << opened.error().to_string();
    blocks = std::move(*opened);
  }

  // A deal for `content` as the chain records it once bought and provided: the schema and
  // the consumer's key in the store, the delivery sealed to deal `deal_id`.
  struct Deal {
    crypto::X25519KeyPair consumer;
    chain::DealInitiated initiated;
    chain::DataProvided provided;
    Delivery delivery;
  };
  Deal make_deal(ByteView content, const chain::U256& deal_id, ByteView schema_of = {}) {
    Deal deal;
    const auto schema = DataSchema::describe("data.bin", schema_of.empty() ? content : schema_of,
                                             "", chain::U256(1000), kProvider);
    const auto stored = store_schema(*blocks, schema);
    EXPECT_TRUE(stored) << stored.error().to_string();
    deal.consumer = crypto::x25519_generate();
    const auto key = put_pinned_raw_block(*blocks, deal.consumer.public_key, "consumer key");
    EXPECT_TRUE(key) << key.error().to_string();
    deal.initiated.deal_id = deal_id;
    deal.initiated.provider = kProvider;
    deal.initiated.schema = stored->digest;
    deal.initiated.consumer_pub_key = cid_commitment(*key).value();
    auto delivery =
        seal_delivery(*blocks, content, deal.initiated.consumer_pub_key, kContract, deal_id);
    EXPECT_TRUE(delivery) << delivery.error().to_string();
    deal.delivery = *delivery;
    deal.provided.deal_id = deal_id;
    deal.provided.data = delivery->data_digest;
    deal.provided.encrypted_key = delivery->encrypted_key_digest;
    return deal;
  }

  testing::TempDir dir;
  std::unique_ptr<store::Blockstore> blocks;
};

TEST_F(DataExchangeTest, ChainDigestsGiveBackTheirCids) {
  const Bytes bytes = testing::pseudo_random_bytes(100, 1);
  const auto raw = store::Cid::of(store::codec::kRaw, bytes);
  const auto digest = cid_commitment(raw);
  ASSERT_TRUE(digest);
  EXPECT_EQ(cid_of_digest(store::codec::kRaw, *digest), raw);
  const auto dag_pb = store::Cid::of(store::codec::kDagPb, bytes);
  EXPECT_EQ(cid_of_digest(store::codec::kDagPb, cid_commitment(dag_pb).value()), dag_pb);

  // find_cid: the raw CID of a stored block, not_found (naming what) otherwise.
  const auto missing = find_cid(*blocks, *digest, "the schema");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message.find("the schema"), std::string::npos);
  const auto stored = put_pinned_raw_block(*blocks, bytes, "test");
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored, raw);
  EXPECT_EQ(find_cid(*blocks, *digest, "the schema").value(), raw);
  EXPECT_TRUE(blocks->is_pinned(raw).value());
}

TEST_F(DataExchangeTest, SchemaRoundTripsAndIsStrict) {
  const Bytes content = testing::pseudo_random_bytes(1234, 2);
  const auto schema = DataSchema::describe("data.bin", content, "sensor logs",
                                           chain::U256(5'000'000'000ULL), kProvider);
  EXPECT_EQ(schema.size, 1234u);
  EXPECT_EQ(schema.sha256, crypto::sha256(content));
  const auto parsed = DataSchema::parse(as_bytes(schema.to_json()));
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->name, "data.bin");
  EXPECT_EQ(parsed->size, 1234u);
  EXPECT_EQ(parsed->sha256, schema.sha256);
  EXPECT_EQ(parsed->description, "sensor logs");
  EXPECT_EQ(parsed->price, chain::U256(5'000'000'000ULL));
  EXPECT_EQ(parsed->provider, kProvider);
  EXPECT_TRUE(parsed->check(content));

  Bytes changed = content;
  changed[0] ^= std::byte{1};
  const auto mismatch = parsed->check(changed);
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, Errc::integrity);
  EXPECT_EQ(parsed->check(ByteView(content).first(100)).error().code, Errc::integrity);

  // Each key changed in turn, and the message that names it.
  const std::vector<std::pair<nlohmann::json, std::string>> changes = {
      {{{"extra", 1}}, "extra: unknown key"},
      {{{"sha256", nullptr}}, "sha256: missing"},
      {{{"sha256", "abcd"}}, "sha256"},
      {{{"price", 5}}, "price"},
      {{{"provider", "0x12"}}, "provider"}};
  for (const auto& [change, message] : changes) {
    auto document = nlohmann::json::parse(schema.to_json());
    document.merge_patch(change);  // a null removes the key
    EXPECT_FAILS_WITH(DataSchema::parse(as_bytes(document.dump())), message);
  }
  EXPECT_FALSE(DataSchema::parse(as_bytes(std::string_view("[1]"))));
  EXPECT_FALSE(DataSchema::parse(as_bytes(std::string_view("{"))));
}

TEST_F(DataExchangeTest, SealedDeliveryOpensForItsDealOnly) {
  // One chunk (a raw leaf) and three chunks (a dag-pb root).
  for (const std::size_t size : {std::size_t{1000}, std::size_t{600000}}) {
    SCOPED_TRACE(size);
    const Bytes content = testing::pseudo_random_bytes(size, size);
    const auto deal = make_deal(content, chain::U256(7));
    EXPECT_NE(deal.delivery.data, deal.delivery.encrypted_key);
    EXPECT_TRUE(blocks->is_pinned(deal.delivery.data).value());
    EXPECT_TRUE(blocks->is_pinned(deal.delivery.encrypted_key).value());
    const auto opened =
        open_delivery(*blocks, deal.consumer, deal.initiated, deal.provided, kContract);
    ASSERT_TRUE(opened) << opened.error().to_string();
    EXPECT_EQ(*opened, content);

    // The sealed bytes are bound to the contract and the deal number.
    const chain::Address other_contract =
        chain::Address::parse("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512").value();
    const auto elsewhere =
        open_delivery(*blocks, deal.consumer, deal.initiated, deal.provided, other_contract);
    ASSERT_FALSE(elsewhere);
    EXPECT_EQ(elsewhere.error().code, Errc::integrity);
    EXPECT_NE(elsewhere.error().message.find("does not decrypt for this deal"), std::string::npos);
    auto initiated = deal.initiated;
    auto provided = deal.provided;
    initiated.deal_id = provided.deal_id = chain::U256(8);
    EXPECT_EQ(open_delivery(*blocks, deal.consumer, initiated, provided, kContract).error().code,
              Errc::integrity);
    // Someone else's key unwraps nothing.
    EXPECT_EQ(
        open_delivery(*blocks, crypto::x25519_generate(), deal.initiated, deal.provided, kContract)
            .error()
            .code,
        Errc::integrity);
  }
}

TEST_F(DataExchangeTest, DeliveryThatIsNotTheSchemasDataIsRefused) {
  const Bytes content = testing::pseudo_random_bytes(5000, 3);
  const Bytes promised = testing::pseudo_random_bytes(5000, 4);
  const auto deal = make_deal(content, chain::U256(1), promised);
  const auto opened =
      open_delivery(*blocks, deal.consumer, deal.initiated, deal.provided, kContract);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::integrity);
  EXPECT_NE(opened.error().message.find("does not match the schema"), std::string::npos)
      << opened.error().message;
}

TEST_F(DataExchangeTest, MissingBlocksAreNotFound) {
  const Bytes content = testing::pseudo_random_bytes(5000, 5);
  const auto deal = make_deal(content, chain::U256(1));
  auto provided = deal.provided;
  provided.encrypted_key = crypto::sha256(as_bytes(std::string_view("no such block")));
  const auto opened = open_delivery(*blocks, deal.consumer, deal.initiated, provided, kContract);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::not_found);
  EXPECT_NE(opened.error().message.find("the wrapped key"), std::string::npos);
  // The provider cannot seal for a consumer key it does not hold.
  const auto sealed =
      seal_delivery(*blocks, content, provided.encrypted_key, kContract, chain::U256(2));
  ASSERT_FALSE(sealed);
  EXPECT_EQ(sealed.error().code, Errc::not_found);
}

// A Registry and a schema of accounts[2]'s, stored.
class DataOfferRegistryTest : public AnvilTest {
 protected:
  void SetUp() override {
    AnvilTest::SetUp();
    if (HasFatalFailure()) return;
    auto registry = chain::Contract::deploy(sender, accounts[0], "Registry");
    ASSERT_TRUE(registry) << registry.error().to_string();
    deployed.emplace(std::move(*registry));
    auto opened = store::Blockstore::open(dir.path() / "blocks");
    ASSERT_TRUE(opened);
    blocks = std::move(*opened);
    const auto schema = DataSchema::describe("a.csv", as_bytes(std::string_view("x,y\n1,2\n")), "",
                                             chain::U256(1), accounts[2].address);
    auto schema_stored = store_schema(*blocks, schema);
    ASSERT_TRUE(schema_stored);
    stored.emplace(*schema_stored);
  }

  std::optional<chain::Contract> deployed;
  testing::TempDir dir;
  std::unique_ptr<store::Blockstore> blocks;
  std::optional<StoredSchema> stored;
};

TEST_F(DataOfferRegistryTest, RegisteredOffersAreCheckedByOwner) {
  const auto never = check_offer(*deployed, stored->cid, accounts[2].address);
  ASSERT_FALSE(never);
  EXPECT_EQ(never.error().code, Errc::not_found);
  EXPECT_NE(never.error().message.find("no offer of schema"), std::string::npos);

  const auto entry = register_offer(*deployed, accounts[2], *stored);
  ASSERT_TRUE(entry) << entry.error().to_string();
  ASSERT_TRUE(entry->has_value());
  EXPECT_FALSE((*entry)->is_zero());
  // Registering again is no error: the Registry already lists it.
  const auto again = register_offer(*deployed, accounts[2], *stored);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_FALSE(again->has_value());

  EXPECT_TRUE(check_offer(*deployed, stored->cid, accounts[2].address));
  const auto other = check_offer(*deployed, stored->cid, accounts[3].address);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, Errc::not_found);
  EXPECT_NE(other.error().message.find("registered by " + accounts[3].address.to_checksum()),
            std::string::npos)
      << other.error().message;
}

// The attack: a stranger who reads a provider's schema digest (from its store, or a
// transaction in the pool) registers it first. With digests unique across the Registry the
// provider's own registration was then taken for done and every buyer's check named the
// stranger as the one who offered it, so the offer could never be bought. Per owner, the
// stranger's entry is its own and the provider's offer goes through.
TEST_F(DataOfferRegistryTest, AStrangerWhoRegistersTheSchemaFirstLocksNobodyOut) {
  const chain::Signer& stranger = accounts[7];
  ASSERT_TRUE(deployed->transact(
      stranger, "register",
      {chain::abi::Value(static_cast<std::uint64_t>(RegistryKind::dataset)),
       chain::abi::Value(stored->digest), chain::abi::Value::text(stored->cid.to_string())}));

  const auto entry = register_offer(*deployed, accounts[2], *stored);
  ASSERT_TRUE(entry) << entry.error().to_string();
  ASSERT_TRUE(entry->has_value()) << "the provider's offer was taken for the stranger's";
  const auto offered = check_offer(*deployed, stored->cid, accounts[2].address);
  EXPECT_TRUE(offered) << offered.error().to_string();
  const auto fields = deployed->call("getEntry", {chain::abi::Value(**entry)}).value();
  EXPECT_EQ(fields.at(0).as_address().value(), accounts[2].address);
}

}  // namespace
}  // namespace cairn::market

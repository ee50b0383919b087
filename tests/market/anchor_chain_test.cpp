// seal's publication anchoring on chain's Anchor contract, on a real anvil.
#include "market/anchor_chain.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/encoding.hpp"
#include "chain/anvil_fixture.hpp"
#include "seal/keys.hpp"
#include "seal/service.hpp"
#include "seal/verify.hpp"

namespace cairn::market {
namespace {

using chain::testing::AnvilTest;

class AnchorChainTest : public AnvilTest {
 protected:
  void SetUp() override {
    AnvilTest::SetUp();
    if (HasFatalFailure()) return;
    auto deployed = ChainAnchor::deploy(sender, accounts[3]);
    ASSERT_TRUE(deployed) << deployed.error().to_string();
    anchor = std::move(*deployed);
    seal::ServiceOptions options;
    options.round = std::chrono::hours(1);  // rounds close on tick() only
    auto service = seal::SigningService::in_memory(options, seal::ServiceKeys::generate().value());
    ASSERT_TRUE(service) << service.error().to_string();
    signing = std::move(*service);
    signing->set_anchor(anchor.get());
  }

  seal::Signature sign(std::string_view text) {
    auto future = signing->submit(seal::hash_data(seal::HashId::sha2_256, as_bytes(text)));
    signing->tick(true);
    auto signature = future.get();
    EXPECT_TRUE(signature) << signature.error().to_string();
    return *signature;
  }

  std::unique_ptr<ChainAnchor> anchor;
  std::unique_ptr<seal::SigningService> signing;
};

TEST_F(AnchorChainTest, PublishesTheCalendarRootInOneTransactionAndReadsItBack) {
  const seal::Signature signature = sign("round 0 artifacts");
  const std::uint64_t blocks_before = rpc->block_number().value();
  auto publication = signing->publish();
  ASSERT_TRUE(publication) << publication.error().to_string();
  EXPECT_EQ(rpc->block_number().value(), blocks_before + 1);  // one transaction
  ASSERT_EQ(anchor->anchored().size(), 1u);
  const AnchoredPublication& anchored = anchor->anchored()[0];
  EXPECT_EQ(anchored.publication_time, publication->data.publication_time);
  EXPECT_EQ(anchored.root, publication->data.published_hash);
  EXPECT_EQ(anchored.signer, accounts[3].address);
  // The signature made before the publication leads to exactly the anchored root.
  EXPECT_EQ(seal::compute_calendar_chain(*signature.calendar_chain).value(), anchored.root);
  EXPECT_NE(publication->references.back().find("anchored eip155:31337 tx 0x"), std::string::npos);

  auto stored =
      read_anchored_root(*rpc, anchor->address(), accounts[3].address, anchored.publication_time);
  ASSERT_TRUE(stored) << stored.error().to_string();
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ(**stored, anchor_word(anchored.root).value());
  EXPECT_TRUE(verify_anchor_on_chain(*rpc, anchored));
  // Publishing again at the same head is a no-op: no second transaction.
  ASSERT_TRUE(signing->publish());
  EXPECT_EQ(anchor->anchored().size(), 1u);
}

TEST_F(AnchorChainTest, VerificationNamesWhatDiffersFromTheChain) {
  sign("a document");
  ASSERT_TRUE(signing->publish());
  const AnchoredPublication good = anchor->anchored().at(0);

  AnchoredPublication other_root = good;
  other_root.root = seal::hash_data(seal::HashId::sha2_256, as_bytes("not the root"));
  EXPECT_FAILS_WITH(verify_anchor_on_chain(*rpc, other_root), "root on chain differs");

  AnchoredPublication other_time = good;
  other_time.publication_time += 1;
  EXPECT_FAILS_WITH(verify_anchor_on_chain(*rpc, other_time), "no root on chain for time");

  AnchoredPublication other_signer = good;
  other_signer.signer = accounts[4].address;
  EXPECT_FAILS_WITH(verify_anchor_on_chain(*rpc, other_signer), "no root on chain");

  AnchoredPublication other_block = good;
  other_block.block += 1;
  EXPECT_FAILS_WITH(verify_anchor_on_chain(*rpc, other_block), "transaction is in block");

  AnchoredPublication other_tx = good;
  other_tx.transaction[5] ^= std::byte{1};
  EXPECT_FAILS_WITH(verify_anchor_on_chain(*rpc, other_tx), "is not on chain");

  AnchoredPublication other_chain = good;
  other_chain.chain_id = 1;
  EXPECT_FAILS_WITH(verify_anchor_on_chain(*rpc, other_chain), "chain id is 31337");
}

TEST_F(AnchorChainTest, SeveralPublicationsEachGetTheirOwnAnchor) {
  sign("first");
  ASSERT_TRUE(signing->publish());
  sign("second");
  ASSERT_TRUE(signing->publish());
  ASSERT_EQ(anchor->anchored().size(), 2u);
  EXPECT_LT(anchor->anchored()[0].publication_time, anchor->anchored()[1].publication_time);
  EXPECT_FALSE(anchor->anchored()[0].root == anchor->anchored()[1].root);
  for (const auto& anchored : anchor->anchored())
    EXPECT_TRUE(verify_anchor_on_chain(*rpc, anchored));
}

// A publication anchored long after the time it claims: the anchor transaction, its event and
// the stored root all check out (verify_anchor_on_chain holds, as it did before the time
// rule), but the block's time shows the root was put on chain two hours after the time the
// calendar claims for it, so it proves nothing about that time.
TEST_F(AnchorChainTest, AnAnchorMadeLongAfterItsPublicationTimeIsRefused) {
  sign("on time");
  ASSERT_TRUE(signing->publish());
  const AnchoredPublication on_time = anchor->anchored().back();
  EXPECT_TRUE(check_anchor_time(*rpc, on_time, 3600, 300));

  sign("backdated");
  advance_time(7200);  // the chain's clock, as if the root were anchored two hours later
  ASSERT_TRUE(signing->publish());
  const AnchoredPublication late = anchor->anchored().back();
  ASSERT_TRUE(verify_anchor_on_chain(*rpc, late));  // everything but the time holds
  const auto block = rpc->block(late.block).value();
  ASSERT_GE(block.timestamp, late.publication_time + 7000);  // give or take the calendar's second
  EXPECT_FAILS_WITH(check_anchor_time(*rpc, late, 3600, 300), "may be backdated");
  EXPECT_FAILS_WITH(check_anchor_time(*rpc, late, 3600, 300),
                    fmt::format("after the publication time {}", late.publication_time));
  // Within a delay the verifier allows, the same anchor holds.
  EXPECT_TRUE(check_anchor_time(*rpc, late, 4 * 3600, 300));

  // A block older than the publication it claims to anchor (beyond the clock skew).
  AnchoredPublication from_the_future = on_time;
  from_the_future.publication_time += 1000;
  EXPECT_FAILS_WITH(check_anchor_time(*rpc, from_the_future, 3600, 300),
                    "before the publication time");
  from_the_future.publication_time = on_time.publication_time + 200;  // within the skew
  EXPECT_TRUE(check_anchor_time(*rpc, from_the_future, 3600, 300));
}

TEST(AnchorWordTest, OnlySha256RootsFitTheContract) {
  const auto sha256_root = seal::hash_data(seal::HashId::sha2_256, as_bytes("x"));
  auto word = anchor_word(sha256_root);
  ASSERT_TRUE(word);
  EXPECT_TRUE(equal(*word, sha256_root.digest()));
  EXPECT_FAILS_WITH(anchor_word(seal::hash_data(seal::HashId::sha2_512, as_bytes("x"))),
                    "SHA-256 roots");
  EXPECT_FAILS_WITH(anchor_word(seal::Imprint{}), "empty");
}

}  // namespace
}  // namespace cairn::market

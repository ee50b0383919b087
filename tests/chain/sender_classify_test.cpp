// The node refusals the sender recognises, word for word as nodes answer them, and the fee
// bump rule.
#include <gtest/gtest.h>

#include "chain/sender.hpp"

namespace cairn::chain {
namespace {

struct Case {
  const char* node;
  const char* message;
  SendRefusal expected;
};

// "anvil 1.7.1" and "ganache 7.9.2" rows were observed from those nodes (eth_sendRawTransaction
// answers to the situations named); the others are the nodes' well-known texts.
const Case kCases[] = {
    {"anvil 1.7.1: same raw transaction twice", "transaction already imported",
     SendRefusal::already_known},
    {"anvil 1.7.1: nonce of a mined transaction", "nonce too low", SendRefusal::nonce_too_low},
    {"anvil 1.7.1: same nonce, tip +10 %, fee cap unchanged", "replacement transaction underpriced",
     SendRefusal::replacement_underpriced},
    {"anvil 1.7.1: fee cap below the base fee", "max fee per gas less than block base fee",
     SendRefusal::fee_below_base_fee},
    {"ganache 7.9.2: same nonce as a pooled transaction, not 10 % more (also a copy of it)",
     "transaction underpriced", SendRefusal::underpriced},
    {"ganache 7.9.2: nonce of a mined transaction",
     "the tx doesn't have the correct nonce. account has nonce of: 7 tx has nonce of: 6",
     SendRefusal::nonce_too_low},
    {"ganache: a nonce ahead of the account",
     "the tx doesn't have the correct nonce. account has nonce of: 2 tx has nonce of: 5",
     SendRefusal::nonce_too_high},
    {"geth", "already known", SendRefusal::already_known},
    {"geth (old)", "known transaction: 0x5a2f", SendRefusal::already_known},
    {"geth", "nonce too low: address 0xabc, tx: 1 state: 2", SendRefusal::nonce_too_low},
    {"geth", "nonce too high", SendRefusal::nonce_too_high},
    {"geth", "replacement transaction underpriced", SendRefusal::replacement_underpriced},
    {"geth", "transaction underpriced: tip needed 1, tip permitted 0", SendRefusal::underpriced},
    {"geth", "max fee per gas less than block base fee: address 0xabc, maxFeePerGas: 1, baseFee: 7",
     SendRefusal::fee_below_base_fee},
    {"geth", "insufficient funds for gas * price + value", SendRefusal::insufficient_funds},
    {"geth", "intrinsic gas too low", SendRefusal::other},
    {"geth", "exceeds block gas limit", SendRefusal::other},
    {"besu", "NONCE_TOO_LOW", SendRefusal::nonce_too_low},
    {"besu", "NONCE_TOO_FAR_IN_FUTURE_FOR_SENDER", SendRefusal::nonce_too_high},
    {"besu", "REPLACEMENT_UNDERPRICED", SendRefusal::replacement_underpriced},
    {"besu", "TRANSACTION_ALREADY_KNOWN", SendRefusal::already_known},
    {"besu", "GAS_PRICE_BELOW_CURRENT_BASE_FEE", SendRefusal::fee_below_base_fee},
    {"nethermind", "OldNonce", SendRefusal::nonce_too_low},
    {"nethermind", "AlreadyKnown", SendRefusal::already_known},
    {"nethermind", "FeeTooLow", SendRefusal::underpriced},
    {"anything else", "invalid sender", SendRefusal::other},
};

TEST(ClassifySendRefusal, RecognisesEachNodesWords) {
  for (const auto& c : kCases) {
    EXPECT_EQ(classify_send_refusal(c.message).kind, c.expected)
        << c.node << ": '" << c.message << "' classified as "
        << to_string(classify_send_refusal(c.message).kind) << ", expected "
        << to_string(c.expected);
  }
}

TEST(ClassifySendRefusal, ReadsBothNoncesFromGanache) {
  const auto refusal = classify_send_refusal(
      "the tx doesn't have the correct nonce. account has nonce of: 2 tx has nonce of: 1");
  EXPECT_EQ(refusal.kind, SendRefusal::nonce_too_low);
  EXPECT_EQ(refusal.account_nonce, 2u);
  EXPECT_EQ(refusal.tx_nonce, 1u);
}

TEST(BumpFees, RaisesBothEip1559FeesByMoreThanTenPercent) {
  const Fees current{true, U256(1000), U256(100)};
  const auto bumped = bump_fees(current, Fees{true, U256(0), U256(0)}).value();
  EXPECT_TRUE(bumped.eip1559);
  EXPECT_EQ(bumped.max_fee_per_gas, U256(1101));
  EXPECT_EQ(bumped.max_priority_fee_per_gas, U256(111));
  // Rounds up before adding the wei: 10 % of 7 is 0.7.
  const auto small = bump_fees(Fees{true, U256(7), U256(7)}, Fees{true, U256(0), U256(0)}).value();
  EXPECT_EQ(small.max_fee_per_gas, U256(9));
  EXPECT_EQ(small.max_priority_fee_per_gas, U256(9));
}

TEST(BumpFees, FollowsARisenEstimate) {
  const Fees current{true, U256(1000), U256(100)};
  const auto bumped = bump_fees(current, Fees{true, U256(50000), U256(200)}).value();
  EXPECT_EQ(bumped.max_fee_per_gas, U256(50000));
  EXPECT_EQ(bumped.max_priority_fee_per_gas, U256(200));
}

TEST(BumpFees, KeepsTheTipWithinTheFeeCap) {
  const auto bumped =
      bump_fees(Fees{true, U256(100), U256(100)}, Fees{true, U256(0), U256(5000)}).value();
  EXPECT_GE(bumped.max_fee_per_gas, bumped.max_priority_fee_per_gas);
}

TEST(BumpFees, RaisesALegacyGasPrice) {
  const auto bumped = bump_fees(Fees{false, U256(20), U256(0)}, Fees{false, U256(0), U256(0)});
  ASSERT_TRUE(bumped);
  EXPECT_FALSE(bumped->eip1559);
  EXPECT_EQ(bumped->max_fee_per_gas, U256(23));
}

TEST(BumpFees, RefusesToOverflow) {
  EXPECT_FALSE(bump_fees(Fees{true, U256::max(), U256(1)}, Fees{true, U256(0), U256(0)}));
}

}  // namespace
}  // namespace cairn::chain

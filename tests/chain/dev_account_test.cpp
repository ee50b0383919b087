#include <gtest/gtest.h>

#include "chain/anvil.hpp"

namespace cairn::chain {
namespace {

// The dev accounts' keys are published; on any chain but a local one, anyone could sign
// as them or take what they hold.
TEST(DevAccount, SignsOnlyOnTheLocalChain) {
  EXPECT_TRUE(check_dev_account_allowed(kLocalChainId).has_value());
  for (const std::uint64_t chain_id : {1ull, 11155111ull, 1337ull}) {
    const auto refused = check_dev_account_allowed(chain_id);
    ASSERT_FALSE(refused) << chain_id;
    EXPECT_EQ(refused.error().code, Errc::invalid_argument);
    EXPECT_NE(refused.error().message.find("this chain's id is " + std::to_string(chain_id)),
              std::string::npos)
        << refused.error().message;
  }
}

}  // namespace
}  // namespace cairn::chain

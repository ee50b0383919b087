#pragma once
// The reward rule a task commits on chain (TrainingTask.Terms) and the one computation of
// its amounts: the model provider reports them, the passport verifier replays them.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "chain/abi.hpp"
#include "chain/address.hpp"
#include "chain/u256.hpp"

namespace cairn::market {

// TrainingTask.Terms: the reward rule and the admission policy a task commits at createTask
// (docs/chain.md). Typed here, encoded as the contract's tuple in one place.
struct TaskTerms {
  ByteArray<32> rule{};       // keccak256 of the rule's name (reward_rule_id)
  chain::U256 floor;          // per contributor
  chain::U256 stake;          // paid with join, returned to contributors
  ByteArray<32> allowlist{};  // Merkle root of admitted addresses; zero: anyone
  std::uint64_t commit_window_s = 0;
  std::uint64_t report_window_s = 0;
  std::uint64_t challenge_window_s = 0;

  [[nodiscard]] chain::abi::Value to_abi() const;
  [[nodiscard]] static Result<TaskTerms> from_abi(const chain::abi::Value& tuple);
  [[nodiscard]] nlohmann::json to_json() const;
  friend bool operator==(const TaskTerms&, const TaskTerms&) = default;
};

// The rule the model provider implements: each contributor (a participant with an accepted
// update on chain) gets the floor, and the rest of the pool in proportion to its positive
// GTG-Shapley total over the rounds (equal shares when no total is positive): the rest ×
// the share in millionths ÷ 10^6, rounded down; the rounding remainder goes to the largest
// share (the first, on a tie), so the amounts sum to the pool exactly.
inline constexpr std::string_view kRewardRule = "cairn.reward.shapley-floor.v1";
[[nodiscard]] ByteArray<32> reward_rule_id(std::string_view name = kRewardRule);

// The amounts of kRewardRule, one per contributor in `contributors` (ascending addresses,
// as TrainingTask wants them). `shapley_totals` is keyed by EIP-55 address; a contributor
// missing from it counts 0. Errc::invalid_argument when the floors exceed the pool.
[[nodiscard]] Result<std::vector<chain::U256>> reward_amounts(
    const std::vector<chain::Address>& contributors,
    const std::map<std::string, double>& shapley_totals, const chain::U256& pool,
    const chain::U256& floor);

// Each participant's GTG-Shapley total over the rounds of a contribution report's
// "rounds" ([{round, contributions: {clients, shapley, …} | null}]).
[[nodiscard]] Result<std::map<std::string, double>> shapley_totals(const nlohmann::json& rounds);

}  // namespace cairn::market

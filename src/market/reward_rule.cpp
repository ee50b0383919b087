#include "market/reward_rule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "base/encoding.hpp"
#include "crypto/keccak.hpp"

namespace cairn::market {

using chain::abi::Value;
using nlohmann::json;

ByteArray<32> reward_rule_id(std::string_view name) {
  return crypto::keccak256(name);
}

Value TaskTerms::to_abi() const {
  return Value(chain::abi::ValueList{Value(rule), Value(floor), Value(stake), Value(allowlist),
                                     Value(commit_window_s), Value(report_window_s),
                                     Value(challenge_window_s)});
}

Result<TaskTerms> TaskTerms::from_abi(const Value& tuple) {
  CAIRN_TRY_ASSIGN(auto members, tuple.as_list());
  if (members.size() != 7) return fail(Errc::parse, "TrainingTask.Terms: expected 7 members");
  TaskTerms terms;
  CAIRN_TRY_ASSIGN(terms.rule, members[0].as_bytes32());
  CAIRN_TRY_ASSIGN(terms.floor, members[1].as_uint());
  CAIRN_TRY_ASSIGN(terms.stake, members[2].as_uint());
  CAIRN_TRY_ASSIGN(terms.allowlist, members[3].as_bytes32());
  CAIRN_TRY_ASSIGN(terms.commit_window_s, members[4].as_u64());
  CAIRN_TRY_ASSIGN(terms.report_window_s, members[5].as_u64());
  CAIRN_TRY_ASSIGN(terms.challenge_window_s, members[6].as_u64());
  return terms;
}

json TaskTerms::to_json() const {
  const auto hex = [](const ByteArray<32>& word) { return "0x" + to_hex(word); };
  return {{"rule", hex(rule)},
          {"floor_wei", floor.to_decimal()},
          {"stake_wei", stake.to_decimal()},
          {"allowlist", hex(allowlist)},
          {"commit_window_s", commit_window_s},
          {"report_window_s", report_window_s},
          {"challenge_window_s", challenge_window_s}};
}

Result<std::vector<chain::U256>> reward_amounts(const std::vector<chain::Address>& contributors,
                                                const std::map<std::string, double>& totals,
                                                const chain::U256& pool, const chain::U256& floor) {
  std::vector<chain::U256> amounts;
  if (contributors.empty()) return amounts;
  auto floors = floor.checked_mul(contributors.size());
  auto rest = floors ? pool.checked_sub(*floors) : floors;
  if (!rest) {
    return fail(Errc::invalid_argument,
                fmt::format("{} floors of {} wei are above the pool ({} wei)", contributors.size(),
                            floor.to_decimal(), pool.to_decimal()));
  }
  constexpr std::uint64_t kScale = 1000000;
  const auto total_of = [&](const chain::Address& who) {
    const auto found = totals.find(who.to_checksum());
    return found == totals.end() ? 0.0 : std::max(found->second, 0.0);
  };
  double positive = 0;
  for (const auto& who : contributors)
    positive += total_of(who);
  std::vector<std::uint64_t> millionths;
  chain::U256 sum;
  for (const auto& who : contributors) {
    const double share =
        positive > 0 ? total_of(who) / positive : 1.0 / static_cast<double>(contributors.size());
    millionths.push_back(std::min(kScale, static_cast<std::uint64_t>(std::floor(share * kScale))));
    CAIRN_TRY_ASSIGN(chain::U256 part, rest->checked_mul(millionths.back()));
    part.divmod_small(kScale);  // rest × share, rounded down
    CAIRN_TRY_ASSIGN(chain::U256 amount, floor.checked_add(part));
    CAIRN_TRY_ASSIGN(sum, sum.checked_add(amount));
    amounts.push_back(amount);
  }
  // Σ millionths ≤ 10^6, so the amounts so far never exceed the pool.
  CAIRN_TRY_ASSIGN(chain::U256 remainder, pool.checked_sub(sum));
  const auto largest = static_cast<std::size_t>(
      std::max_element(millionths.begin(), millionths.end()) - millionths.begin());
  CAIRN_TRY_ASSIGN(amounts[largest], amounts[largest].checked_add(remainder));
  return amounts;
}

Result<std::map<std::string, double>> shapley_totals(const json& rounds) {
  std::map<std::string, double> totals;
  if (!rounds.is_array()) return fail(Errc::parse, "contribution rounds: not a list");
  for (const auto& round : rounds) {
    if (!round.is_object() || !round.contains("contributions")) {
      return fail(Errc::parse, "contribution rounds: an entry without contributions");
    }
    const json& contribution = round["contributions"];
    if (contribution.is_null()) continue;
    const json& clients = contribution.value("clients", json());
    const json& shapley = contribution.value("shapley", json());
    if (!clients.is_array() || !shapley.is_array() || clients.size() != shapley.size()) {
      return fail(Errc::parse, "contribution rounds: clients and shapley differ in length");
    }
    for (std::size_t k = 0; k < clients.size(); ++k) {
      if (!clients[k].is_string() || !shapley[k].is_number()) {
        return fail(Errc::parse, "contribution rounds: a client or value of the wrong type");
      }
      totals[clients[k].get<std::string>()] += shapley[k].get<double>();
    }
  }
  return totals;
}

}  // namespace cairn::market

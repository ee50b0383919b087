#pragma once
// The aggregator role: for every task that names this node's account as its aggregator,
// each round it checks every update committed on chain (CID against commitment, format,
// key, size, round tag, not a copy of an earlier update), sums the good ones
// homomorphically, stores the sum and its manifest (cairn.aggregate.v1: what it included
// and what it excluded, with reasons), and posts the manifest's commitment. It posts once
// every participant has committed or round_timeout_s (from the spec) has passed since the
// round opened.
//
// Config (the node config's roles.aggregator): {"behaviour": "honest" |
// "wrong-aggregate:ROUND"}; with wrong-aggregate the sum it posts in ROUND counts its first
// included update twice (for the adversity tests: the model provider must catch it).
#include <memory>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "market/role.hpp"

namespace cairn::market {

[[nodiscard]] Result<std::unique_ptr<Role>> make_aggregator(const nlohmann::json& config,
                                                            NodeContext& context);

}  // namespace cairn::market

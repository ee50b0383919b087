#pragma once
// The auditor role: follows training tasks from the chain, pulls every artifact they
// publish through the parties' gateways into its own store (specs, dataset manifests,
// updates, aggregate manifests and sums, round records, models, the contribution report),
// and when a task's model is registered (Registry kind Model, metadata = the passport's
// CID) fetches the passport and the model file and runs verify_passport on them against
// its store and the chain. It writes OUT/task-N/{passport.json, model.pt, verify.json}.
//
// Config (roles.auditor): {"out": "audit", "task": N (optional: every task otherwise)}.
#include <memory>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "market/role.hpp"

namespace cairn::market {

[[nodiscard]] Result<std::unique_ptr<Role>> make_auditor(const nlohmann::json& config,
                                                         NodeContext& context);

}  // namespace cairn::market

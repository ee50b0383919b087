#pragma once
// The model provider role: publishes a training task and sees it through.
//
//   1. Generates its Paillier key pair once (kept under state_dir/model_provider, mode 0600;
//      a restart reloads it), stores the initial parameters and the task spec
//      (cairn.task.v1), and creates the task on chain with the reward escrowed.
//   2. Starts the task once `participants` data providers have joined.
//   3. Each round, when the aggregator has posted: checks every committed update itself
//      (protocol.hpp's check_update, as the aggregator must have), recomputes the
//      homomorphic sum of the good ones and compares it with the posted one; a wrong or
//      missing sum is replaced by its own and the round record says so (accepted: false,
//      with the reason). It decrypts only aggregates; with exclude_harmful, a participant
//      whose leave-one-out (from aggregates of at least two updates) clearly lowers the
//      test accuracy is left out and recorded. It applies the aggregate, evaluates on its
//      test set, computes contributions, seals the round's artifacts in one aggregation
//      round (anchored on chain), stores the round record (cairn.round.v1) and closes the
//      round on chain with it.
//   4. After the last round: the contribution report (cairn.contributions.v1) and
//      reportContributions; then model.pt, model.state_dict.pt, accuracy.svg and
//      passport.json in its `out` directory, and the model registered in the Registry
//      (kind Model, metadata = the passport's CID) so auditors find the passport.
//
// Everything it needs after a restart is on chain or in its store (round records are read
// back through their RoundClosed events), and every transaction is preceded by a check of
// its effect on chain.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "market/role.hpp"

namespace cairn::market {

[[nodiscard]] Result<std::unique_ptr<Role>> make_model_provider(const nlohmann::json& config,
                                                                NodeContext& context);

// An accuracy-per-round line chart (SVG), for accuracy.svg.
[[nodiscard]] std::string accuracy_svg(double initial, const std::vector<double>& accuracy);

}  // namespace cairn::market

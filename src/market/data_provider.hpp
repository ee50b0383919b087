#pragma once
// The data provider of seed 003 as a role. It holds its own data (IDX images and labels)
// and never lets it leave unencrypted:
//   - offer: its dataset manifest ("cairn.dataset.v1": schema, learn's quality report,
//     price, shard files encrypted with XChaCha20-Poly1305 under a key kept in the node's
//     state directory), sealed by the signing service and registered in the Registry
//     (kind Dataset), once across restarts;
//   - matching: it joins every task whose spec's schema fits its data;
//   - rounds: it trains the round's global model on its data and commits its weighted
//     delta, encrypted with packed Paillier under the task's key and tagged with the round;
//   - close: it claims what it is owed.
// With "delegate_to" it opens a DataTransfer deal with that compute provider, hands it
// the shard key wrapped to the provider's X25519 key, commits the updates the provider
// makes (after checking each one decodes under the task's key with the round's tag) and
// confirms the deal at the end so the provider is paid. See compute_provider.hpp.
//
// Config (the node config's roles.data_provider):
//   {"images": PATH, "labels": PATH, "dataset": NAME, "price_wei": "DECIMAL",
//    "delegate_to": "0xADDR" (optional), "behaviour": "honest"}
// Behaviours change only what the role sends: "poison:scale:S" multiplies its delta by S,
// "garbage" commits random bytes, "dropout:R" submits nothing from round R on, "replay"
// re-commits its round-0 update from round 1 on.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/error.hpp"
#include "market/role.hpp"

namespace cairn::market {

struct DataProviderBehaviour {
  enum class Kind : std::uint8_t { honest, poison, garbage, dropout, replay } kind = Kind::honest;
  double scale = 1.0;            // poison
  std::uint64_t from_round = 0;  // dropout
  [[nodiscard]] static Result<DataProviderBehaviour> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;
};

[[nodiscard]] Result<std::unique_ptr<Role>> make_data_provider(const nlohmann::json& config,
                                                               NodeContext& context);

}  // namespace cairn::market

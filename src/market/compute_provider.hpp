#pragma once
// The computation provider of seed 003 (section 4.4, steps 2-3) as a role: it trains for
// data providers that delegate to it, and sees nothing but ciphertext and a key wrapped to
// it.
//
//   offer     a "cairn.compute.v1" document (price, its X25519 public key), registered in
//             the Registry (kind ComputeOffer). Its X25519 secret stays in the node's
//             state directory.
//   deal      a data provider opens a DataTransfer deal naming it as provider and escrows
//             the price; the deal's consumerPubKey word is the sha2-256 digest of the raw
//             block holding the data provider's shard key wrapped to this provider's
//             X25519 key (a sealed box), fetched from the data provider's gateway.
//   task      the data provider joins a task with a manifest whose "compute" object names
//             this provider and the deal; the provider finds it in ParticipantJoined.
//   rounds    it fetches the encrypted shards and the global model, decrypts the shards,
//             trains, encrypts the weighted delta under the task's Paillier key (round
//             tag) and stores it, then publishes a new version of its offer (Registry
//             update: an Updated event) whose "deliveries" list names the update's CID for
//             (deal, task, round). The data provider reads it there, checks it and commits
//             it under its own account.
//   delivery  after the task's last round it calls provideData on the deal (the digest of
//             its wrapped key's block and of the offer version listing the deliveries);
//             the data provider then confirms (verifiedData) and the price is paid.
//
// Config (roles.compute_provider): {"price_wei": "DECIMAL"} (more than 0: DataTransfer
// escrows a price).
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "chain/address.hpp"
#include "chain/u256.hpp"
#include "market/role.hpp"
#include "store/cid.hpp"

namespace cairn::market {

// A compute provider's offer as the chain and its gateway say it is now.
struct ComputeOffer {
  std::uint64_t entry_id = 0;
  chain::Address owner;
  store::Cid cid;           // the current version
  nlohmann::json document;  // "cairn.compute.v1"
  chain::U256 price;
  ByteArray<32> x25519_public_key{};
};

// The latest active ComputeOffer entry `provider` owns, at its latest version (nullopt:
// none registered).
[[nodiscard]] Result<std::optional<ComputeOffer>> current_compute_offer(
    NodeContext& context, const chain::Address& provider);

// The update CID an offer lists for (deal, task, round), if any.
[[nodiscard]] std::optional<std::string> delivered_update(const ComputeOffer& offer,
                                                          std::uint64_t deal, std::uint64_t task,
                                                          std::uint64_t round);

[[nodiscard]] Result<std::unique_ptr<Role>> make_compute_provider(const nlohmann::json& config,
                                                                  NodeContext& context);

}  // namespace cairn::market

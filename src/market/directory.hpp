#pragma once
// Where nodes find each other and what they publish: the chain is the only directory.
//
// Every node announces its gateway URL once in the Registry as an entry of kind Endpoint
// (digest = sha256(url), metadataCid = the URL). Party P's gateway is the URL of the latest
// active Endpoint entry P owns (its Registered event, or the last Updated event after it).
// An artifact published by P is fetched from that gateway by CID, re-hashed block by block
// on arrival (store::fetch), pinned in the fetching node's store and read back from there,
// so a second fetch of the same CID costs nothing.
//
// The event helpers read the platform contracts' logs (eth_getLogs from the deployment's
// start block) and decode them with the embedded ABIs: roles derive what happened from
// these on every step instead of remembering it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "chain/abi.hpp"
#include "chain/address.hpp"
#include "chain/contract.hpp"
#include "chain/rpc.hpp"
#include "market/deployment.hpp"
#include "market/role.hpp"
#include "market/trust_root.hpp"
#include "store/cid.hpp"

namespace cairn::market {

// Registry.Kind values (contracts/Registry.sol).
enum class RegistryKind : std::uint8_t {
  dataset = 0,
  model = 1,
  compute_offer = 2,
  device_key = 3,
  endpoint = 4,
  calendar_key = 5
};

// The gateway URL `party` announced (the latest active Endpoint entry it owns).
[[nodiscard]] Result<std::string> gateway_of(const NodeContext& context,
                                             const chain::Address& party);
// Registers (or updates) this node's Endpoint entry so that it names context.gateway_url.
// Idempotent: nothing is sent when the chain already says so.
[[nodiscard]] Status announce_endpoint(NodeContext& context);
// What a peer's artifact may take; each fetch names its cap, and an update's is exact
// (learn::encrypted_vector_bytes). The transfer may add the DAG's framing to the cap (at most
// 1/1024 of it and 64 KiB); the file itself is refused when its declared size is past it.
inline constexpr std::uint64_t kDocumentCap = 16ull << 20;  // specs, manifests, records, reports,
                                                            // passports, wrapped keys
inline constexpr std::uint64_t kModelCap = 1ull << 30;      // parameter blobs, sealed models
inline constexpr std::uint64_t kShardCap = 4ull << 30;      // a data provider's sealed shard

// The bytes of `cid`, at most `max_bytes`: from this node's store when it holds them pinned,
// else fetched from the gateway `from` announced (checked on arrival), pinned here, then
// read back.
[[nodiscard]] Result<Bytes> fetch_artifact(NodeContext& context, const chain::Address& from,
                                           const store::Cid& cid, std::uint64_t max_bytes);

// Stores `bytes` (UnixFS, as `cairn add` does) in this node's store and pins it; its CID.
[[nodiscard]] Result<store::Cid> put_artifact(NodeContext& context, ByteView bytes,
                                              std::string_view label);
// The bytes of a CID this node's store holds, refused (`rejected`) past `max_bytes`.
[[nodiscard]] Result<Bytes> read_artifact(NodeContext& context, const store::Cid& cid,
                                          std::uint64_t max_bytes);

// ---- Chain reading ----

// A decoded log of one of the platform contracts.
struct ContractEvent {
  chain::abi::ValueList values;  // the event's inputs in declaration order
  chain::Log log;
};

// The indexed-topic word of a uint or an address.
[[nodiscard]] ByteArray<32> topic_word(std::uint64_t value);
[[nodiscard]] ByteArray<32> topic_word(const chain::Address& address);

// Every `event` of the embedded contract `contract_name` at `address` since `from_block`, in
// chain order. `indexed` filters the indexed inputs in order (nullopt: any value).
[[nodiscard]] Result<std::vector<ContractEvent>> read_events(
    const chain::RpcClient& rpc, std::uint64_t from_block, std::string_view contract_name,
    const chain::Address& address, std::string_view event,
    const std::vector<std::optional<ByteArray<32>>>& indexed = {});
// The same through a node's chain connection, since its deployment's start block.
[[nodiscard]] Result<std::vector<ContractEvent>> find_events(
    const NodeContext& context, std::string_view contract_name, const chain::Address& address,
    std::string_view event, const std::vector<std::optional<ByteArray<32>>>& indexed = {});

// The deployment's contracts bound to the node's sender.
[[nodiscard]] Result<chain::Contract> training_task_contract(const NodeContext& context);
[[nodiscard]] Result<chain::Contract> registry_contract(const NodeContext& context);

// The Registry entry `owner` holds for `kind` and `digest`, or 0 when it holds none. Entries
// are unique per (owner, kind, digest), not per digest: a lookup names the owner it expects,
// and another account's entry for the same digest (a squatter's) is never taken for it.
[[nodiscard]] Result<std::uint64_t> registry_entry_of(const chain::Contract& registry,
                                                      const chain::Address& owner,
                                                      RegistryKind kind,
                                                      const ByteArray<32>& digest);

// A signing service's calendar key in the Registry (kind CalendarKey: digest = SHA-256 of
// the certificate's DER, metadata = that DER in hex), registered by the account that
// anchors the calendar's publications: what a verifier pins (`passport trust --operator`).
// Idempotent: nothing is sent when `signer` already holds the entry.
[[nodiscard]] Status announce_calendar_key(const chain::Contract& registry,
                                           const chain::Signer& signer, ByteView certificate_der);
// The calendar certificates `owner` registered and has not retired, in registration order.
// An entry whose metadata is not the certificate its digest commits to is left out.
[[nodiscard]] Result<std::vector<Bytes>> registered_calendar_keys(const chain::Contract& registry,
                                                                  std::uint64_t from_block,
                                                                  const chain::Address& owner);
// The trust root of `deployment` for the calendar `operator_account` runs: the calendar keys
// it registered (as above) and the account itself as the one anchor signer. Fails
// (not_found) when it registered none. (Here, not in trust_root.cpp, so that the trust
// root's reader links without the chain's RPC client and the store: the fuzz build.)
[[nodiscard]] Result<TrustRoot> trust_root_from_registry(
    std::shared_ptr<chain::TransactionSender> sender, const Deployment& deployment,
    const chain::Address& operator_account);

}  // namespace cairn::market

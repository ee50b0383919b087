#pragma once
// A verifier's trust root: what `passport verify --trust FILE` pins instead of believing the
// passport. A passport names its chain, its contracts, its calendar's certificate and the
// accounts that anchored its publications; a forger controls all of them. The trust root
// comes from elsewhere (the deployment the verifier knows, the signing service's operator)
// and every one of those names is checked against it.
//
//   {"type": "cairn.trust.v1", "chain_id": N,
//    "contracts": {"Anchor": ADDR, "Registry": ADDR, "TrainingTask": ADDR},
//    "calendar_certificates": [HEX of DER X.509, ...],
//    "anchor_signers": [ADDR, ...],
//    "max_anchor_delay_s": N}
//
// One writer (format_trust_root) and one strict reader (parse_trust_root): unknown keys,
// duplicate entries and empty lists are refused with their path.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "chain/address.hpp"
#include "market/deployment.hpp"

namespace cairn::market {

inline constexpr std::string_view kTrustRootType = "cairn.trust.v1";
// Calendar publications are anchored as they are made (seconds); an hour leaves room for a
// slow chain and refuses a publication anchored long after the time it claims.
inline constexpr std::uint64_t kDefaultMaxAnchorDelaySeconds = 3600;
// A block's timestamp may run ahead of the calendar's clock by this much (another machine's
// clock, a chain that rounds its block times).
inline constexpr std::uint64_t kAnchorClockSkewSeconds = 300;

struct TrustRoot {
  std::uint64_t chain_id = 0;
  chain::Address training_task;
  chain::Address registry;
  chain::Address anchor;
  std::vector<Bytes> calendar_certificates;  // DER: the signing services' calendar keys
  std::vector<chain::Address> anchor_signers;
  std::uint64_t max_anchor_delay_s = kDefaultMaxAnchorDelaySeconds;

  bool pins_certificate(ByteView der) const;
  bool pins_signer(const chain::Address& signer) const;
};

// A trust root pinning `deployment`'s chain and contracts; its certificates and anchor
// signers are still to be added.
[[nodiscard]] TrustRoot trust_root_for(const Deployment& deployment);

// `where` names the file in errors ("trust.json: anchor_signers[1]: not an address").
[[nodiscard]] Result<TrustRoot> parse_trust_root(ByteView text, std::string_view where);
// Indented JSON ending in a newline; parse_trust_root reads it back.
[[nodiscard]] std::string format_trust_root(const TrustRoot& trust);

// Built from the Registry: trust_root_from_registry (market/directory.hpp).

}  // namespace cairn::market

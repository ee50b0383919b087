#pragma once
// Secure aggregation by pairwise masking (Bonawitz et al., "Practical Secure Aggregation
// for Privacy-Preserving Machine Learning", CCS 2017), semi-honest variant:
//   0. advertise keys: each client sends two X25519 public keys (c for share transport,
//      s for mask agreement);
//   1. share keys: each client Shamir-shares its s secret key and a fresh self-mask seed b
//      (threshold t of n) and sends each peer its shares, sealed with XChaCha20-Poly1305
//      under a key agreed from the c keys;
//   2. masked input: y_u = x_u + PRG(b_u) + sum_{v>u} PRG(s_uv) - sum_{v<u} PRG(s_uv) in
//      Z_2^64, with x_u in fixed point and PRG = ChaCha20 keyed by SHA-256 of the
//      agreement;
//   3. unmasking: the survivors reveal shares of b_u for every survivor u and of s_u for
//      every client that dropped after step 1; the server rebuilds those secrets and
//      removes every mask, learning only the sum of the survivors' inputs.
// A client never reveals both kinds of share for the same peer.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "crypto/shamir.hpp"
#include "crypto/sodium.hpp"

namespace cairn::learn {

struct MaskAdvertisement {
  std::uint32_t client = 0;  // 1..n, also the Shamir evaluation point
  ByteArray<32> cipher_public;
  ByteArray<32> mask_public;
};

struct SealedShares {
  std::uint32_t from = 0;
  std::uint32_t to = 0;
  Bytes sealed;  // AEAD(from ‖ to ‖ share of s_from ‖ share of b_from)
};

struct UnmaskRequest {
  std::vector<std::uint32_t> survivors;  // sent a masked input
  std::vector<std::uint32_t> dropped;    // shared keys, then sent nothing
};

struct UnmaskResponse {
  std::uint32_t from = 0;
  std::map<std::uint32_t, crypto::ShamirShare> self_seed_shares;  // b_u for survivors u
  std::map<std::uint32_t, crypto::ShamirShare> mask_key_shares;   // s_u secret for dropped u
};

// Fixed-point in Z_2^64: x -> round(x 2^frac_bits) as two's complement.
inline constexpr int kMaskFracBits = 24;

class MaskClient {
 public:
  MaskClient(std::uint32_t index, std::size_t clients, std::size_t threshold);
  [[nodiscard]] MaskAdvertisement advertise() const;
  [[nodiscard]] Result<std::vector<SealedShares>> share_keys(
      const std::vector<MaskAdvertisement>& roster);
  // Shares addressed to this client, relayed by the server.
  [[nodiscard]] Status receive_shares(const std::vector<SealedShares>& shares);
  [[nodiscard]] Result<std::vector<std::uint64_t>> masked_input(
      std::span<const double> values) const;
  [[nodiscard]] Result<UnmaskResponse> unmask(const UnmaskRequest& request) const;
  std::uint32_t index() const { return index_; }

 private:
  std::uint32_t index_;
  std::size_t clients_;
  std::size_t threshold_;
  crypto::X25519KeyPair cipher_key_;
  crypto::X25519KeyPair mask_key_;
  ByteArray<32> self_seed_{};
  std::map<std::uint32_t, MaskAdvertisement> roster_;
  std::map<std::uint32_t, std::pair<crypto::ShamirShare, crypto::ShamirShare>>
      held_;  // from -> (s share, b share)
};

class MaskServer {
 public:
  MaskServer(std::size_t clients, std::size_t threshold, std::size_t vector_length);
  [[nodiscard]] Status advertise(const MaskAdvertisement& ad);
  [[nodiscard]] std::vector<MaskAdvertisement> roster() const;
  // Collects everyone's sealed shares; returns them grouped by recipient.
  [[nodiscard]] Result<std::map<std::uint32_t, std::vector<SealedShares>>> route(
      const std::vector<SealedShares>& all);
  [[nodiscard]] Status submit(std::uint32_t client, std::vector<std::uint64_t> masked);
  [[nodiscard]] Result<UnmaskRequest> unmask_request() const;
  // Needs responses from at least `threshold` survivors.
  [[nodiscard]] Result<std::vector<double>> finish(
      const std::vector<UnmaskResponse>& responses) const;
  [[nodiscard]] std::size_t threshold() const { return threshold_; }

 private:
  std::size_t clients_;
  std::size_t threshold_;
  std::size_t length_;
  std::map<std::uint32_t, MaskAdvertisement> roster_;
  std::set<std::uint32_t> shared_;  // clients that completed step 1
  std::map<std::uint32_t, std::vector<std::uint64_t>> masked_;
};

// PRG expansions, exposed for tests.
[[nodiscard]] std::vector<std::uint64_t> mask_stream(const ByteArray<32>& seed, std::size_t length);
[[nodiscard]] Result<ByteArray<32>> pairwise_seed(const crypto::X25519KeyPair& mine,
                                                  const ByteArray<32>& peer_public);

// Runs all four steps in one process for the clients in `inputs` (index -> values);
// clients in `drop_after_sharing` share keys and then send nothing.
[[nodiscard]] Result<std::vector<double>> mask_aggregate(
    const std::map<std::uint32_t, std::vector<double>>& inputs, std::size_t threshold,
    const std::set<std::uint32_t>& drop_after_sharing = {});

}  // namespace cairn::learn

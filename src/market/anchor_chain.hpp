#pragma once
// seal's publication anchoring (seal/anchor.hpp) on chain's `Anchor` contract: the calendar
// root at a publication time goes into one `publish(time, root)` transaction, and anyone
// with the chain can read it back and check it, with the transaction and its event.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "chain/contract.hpp"
#include "chain/rpc.hpp"
#include "seal/anchor.hpp"
#include "seal/imprint.hpp"

namespace cairn::market {

// Where and when a calendar publication was anchored: what a passport records and what a
// verifier checks against the chain.
struct AnchoredPublication {
  std::uint64_t publication_time = 0;
  seal::Imprint root;
  std::uint64_t chain_id = 0;
  chain::Address contract;
  chain::Address signer;  // the account that sent publish(): roots are kept per signer
  ByteArray<32> transaction{};
  std::uint64_t block = 0;
};

// The contract stores bytes32: the root's SHA-256 digest. Calendar roots are SHA-256
// (seal's calendar hashes with it); any other function is refused rather than truncated.
[[nodiscard]] Result<ByteArray<32>> anchor_word(const seal::Imprint& root);

class ChainAnchor final : public seal::PublicationAnchor {
 public:
  ChainAnchor(chain::Contract contract, chain::Signer signer)
      : contract_(std::move(contract)), signer_(std::move(signer)) {}
  [[nodiscard]] static Result<std::unique_ptr<ChainAnchor>> deploy(
      std::shared_ptr<chain::TransactionSender> sender, const chain::Signer& signer);

  // One `publish` transaction; waits for its receipt and checks the Published event.
  Result<seal::AnchorReceipt> anchor(std::uint64_t publication_time,
                                     const seal::Imprint& root) override;

  const chain::Address& address() const { return contract_.address(); }
  const chain::Signer& signer() const { return signer_; }
  // Every publication this object anchored, in order (what a passport lists).
  const std::vector<AnchoredPublication>& anchored() const { return anchored_; }

 private:
  chain::Contract contract_;
  chain::Signer signer_;
  std::vector<AnchoredPublication> anchored_;
};

// The root `signer` published for `time` on the Anchor contract at `contract`, or nullopt
// when there is none.
[[nodiscard]] Result<std::optional<ByteArray<32>>> read_anchored_root(
    const chain::RpcClient& rpc, const chain::Address& contract, const chain::Address& signer,
    std::uint64_t publication_time);

// Checks an anchored publication against the chain: the chain id, the stored root for
// (signer, time), and that the named transaction succeeded in the named block and emitted
// Published(signer, time, root) from the contract. The error names what differs.
[[nodiscard]] Status verify_anchor_on_chain(const chain::RpcClient& rpc,
                                            const AnchoredPublication& anchored);

// The block that holds the anchor was made between `publication_time - clock_skew_s` and
// `publication_time + max_delay_s`: an anchor says "this root existed at this time" only
// when it was made near that time. The error names both times.
[[nodiscard]] Status check_anchor_time(const chain::RpcClient& rpc,
                                       const AnchoredPublication& anchored,
                                       std::uint64_t max_delay_s, std::uint64_t clock_skew_s);

}  // namespace cairn::market

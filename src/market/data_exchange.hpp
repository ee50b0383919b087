#pragma once
// The DataTransfer exchange (seed 003's data market) over a store and the chain:
//
//   offer    the provider describes a file in a schema (name, size, SHA-256, price,
//            provider), stores it as a raw block and lists it in the Registry;
//   buy      the consumer escrows the price for a schema a provider offered, naming a
//            fresh X25519 key of its own (stored as a raw block);
//   provide  the provider seals the file (XChaCha20-Poly1305 under a fresh key, the deal's
//            contract and number as associated data, so a sealed file cannot be passed off
//            as the delivery of another deal), wraps the key to the consumer's X25519 key
//            (sealed box), stores and pins both;
//   accept   the consumer unwraps the key, decrypts, and checks the data against the schema.
//
// On chain a bytes32 is the sha2-256 digest inside a CID (its multihash digest), so the
// CID is rebuilt from the chain alone: raw for single blocks, raw or dag-pb for files.
// The chain transactions themselves are chain::DataTransfer's; what is here is the part
// both sides must agree on byte for byte.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "chain/address.hpp"
#include "chain/contract.hpp"
#include "chain/data_transfer.hpp"
#include "chain/u256.hpp"
#include "crypto/sodium.hpp"
#include "store/blockstore.hpp"
#include "store/cid.hpp"

namespace cairn::market {

// The data a deal sells is held in memory to be encrypted; 4 GiB is the most it may be.
inline constexpr std::uint64_t kDealDataCap = 4ull << 30;

// ---- CIDs and the chain's bytes32 ----

// A CID's bytes32 is market::cid_commitment (passport.hpp); this is its inverse, the CID of
// `codec` whose sha2-256 digest is `digest`.
[[nodiscard]] store::Cid cid_of_digest(std::uint64_t codec, const ByteArray<32>& digest);
// The raw-codec CID of a stored block whose CID carries `digest`: Errc::not_found, naming
// `what` ("the schema"), when this store does not hold it. (The store keys blocks by
// multihash, so presence says nothing about the codec; an export settles that.)
[[nodiscard]] Result<store::Cid> find_cid(store::Blockstore& blocks, const ByteArray<32>& digest,
                                          std::string_view what);
// Stores `bytes` as a raw block and pins it under `label`.
[[nodiscard]] Result<store::Cid> put_pinned_raw_block(store::Blockstore& blocks, ByteView bytes,
                                                      std::string_view label);

// ---- the schema: what a buyer learns before paying, and checks the delivery against ----

struct DataSchema {
  std::string name;         // the file's name
  std::uint64_t size = 0;   // its bytes
  ByteArray<32> sha256{};   // of its content
  std::string description;  // free text for buyers
  chain::U256 price;        // the asking price in wei
  chain::Address provider;  // who offers it

  // The schema of `content`.
  [[nodiscard]] static DataSchema describe(std::string name, ByteView content,
                                           std::string description, const chain::U256& price,
                                           const chain::Address& provider);
  // Its JSON text ({"name", "size", "sha256", "description", "price", "provider"}), the
  // bytes that are stored and whose digest goes on chain.
  [[nodiscard]] std::string to_json() const;
  // The strict reader of to_json()'s text: every key required, no other key.
  [[nodiscard]] static Result<DataSchema> parse(ByteView text);
  // Errc::integrity unless `data` is what the schema describes (size and SHA-256).
  [[nodiscard]] Status check(ByteView data) const;
};

struct StoredSchema {
  store::Cid cid;          // a raw block
  ByteArray<32> digest{};  // what goes on chain
};
// Stores and pins the schema's JSON text.
[[nodiscard]] Result<StoredSchema> store_schema(store::Blockstore& blocks,
                                                const DataSchema& schema);

// ---- the Registry's listing of offers ----

// Lists the schema in the Registry (kind dataset) for `signer`: the entry's id, or nullopt
// when the Registry already holds this digest.
[[nodiscard]] Result<std::optional<chain::U256>> register_offer(const chain::Contract& registry,
                                                                const chain::Signer& signer,
                                                                const StoredSchema& schema);
// Succeeds when the Registry lists `schema` as an active offer of `provider`; otherwise
// Errc::not_found (nobody offered it) or Errc::rejected (another party did, or the entry
// was retired).
[[nodiscard]] Status check_offer(const chain::Contract& registry, const store::Cid& schema,
                                 const chain::Address& provider);

// ---- delivery ----

// The associated data that binds a sealed file to its deal.
[[nodiscard]] std::string deal_binding(const chain::Address& contract, const chain::U256& deal_id);

struct Delivery {
  store::Cid data;           // the sealed file (UnixFS: a raw leaf or a dag-pb root)
  store::Cid encrypted_key;  // the data key wrapped to the consumer (a raw block)
  ByteArray<32> data_digest{};
  ByteArray<32> encrypted_key_digest{};
};

// The provider's side: seals `content` for deal `deal_id` of `contract` under a fresh key,
// wraps that key to the consumer's X25519 public key (the block the deal's
// `consumer_key_digest` names, which must be in `blocks`), and stores and pins both.
[[nodiscard]] Result<Delivery> seal_delivery(store::Blockstore& blocks, ByteView content,
                                             const ByteArray<32>& consumer_key_digest,
                                             const chain::Address& contract,
                                             const chain::U256& deal_id);

// The consumer's side: the decrypted data of a deal, from the blocks the deal's events
// name (which must be in `blocks`), checked against the deal's schema. Errc::integrity when
// the delivery does not decrypt for this deal or does not match the schema (a case for a
// dispute); Errc::not_found when a block is missing.
[[nodiscard]] Result<Bytes> open_delivery(store::Blockstore& blocks,
                                          const crypto::X25519KeyPair& consumer,
                                          const chain::DealInitiated& initiated,
                                          const chain::DataProvided& provided,
                                          const chain::Address& contract);

}  // namespace cairn::market

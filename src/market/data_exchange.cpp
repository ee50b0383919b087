#include "market/data_exchange.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/json.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "market/artifacts.hpp"
#include "market/directory.hpp"
#include "market/passport.hpp"
#include "store/exporter.hpp"
#include "store/importer.hpp"

namespace cairn::market {

using nlohmann::json;

namespace {

// What XChaCha20-Poly1305 adds to the data it seals (nonce and tag), with room to spare.
constexpr std::uint64_t kSealOverhead = 64;

// A delivery that is not what the deal promised: a case for a dispute.
std::unexpected<Error> dispute_worthy(std::string message) {
  return fail(Errc::integrity, std::move(message));
}

}  // namespace

store::Cid cid_of_digest(std::uint64_t codec, const ByteArray<32>& digest) {
  store::Multihash hash;
  hash.code = store::multihash_code::kSha2_256;
  hash.digest = Bytes(digest.begin(), digest.end());
  return store::Cid::v1(codec, hash);
}

Result<store::Cid> find_cid(store::Blockstore& blocks, const ByteArray<32>& digest,
                            std::string_view what) {
  const store::Cid cid = cid_of_digest(store::codec::kRaw, digest);
  CAIRN_TRY_ASSIGN(const bool present, blocks.has(cid));
  if (present) return cid;
  return fail(Errc::not_found, fmt::format("{} (digest 0x{}) is not in this repository's store; "
                                           "fetch it first (`cairn fetch`, or `cairn car import`)",
                                           what, to_hex(digest)));
}

Result<store::Cid> put_pinned_raw_block(store::Blockstore& blocks, ByteView bytes,
                                        std::string_view label) {
  const store::Cid cid = store::Cid::of(store::codec::kRaw, bytes);
  CAIRN_TRY(blocks.put(cid, bytes));
  CAIRN_TRY(blocks.pin(cid, label));
  return cid;
}

Result<StoredSchema> store_schema(store::Blockstore& blocks, const DataSchema& schema) {
  CAIRN_TRY_ASSIGN(const store::Cid cid, put_pinned_raw_block(blocks, as_bytes(schema.to_json()),
                                                              "schema of " + schema.name));
  CAIRN_TRY_ASSIGN(const ByteArray<32> digest, cid_commitment(cid));
  return StoredSchema{cid, digest};
}

// ---- the Registry ----

Result<std::optional<chain::U256>> register_offer(const chain::Contract& registry,
                                                  const chain::Signer& signer,
                                                  const StoredSchema& schema) {
  using chain::abi::Value;
  auto registered = registry.transact(signer, "register",
                                      {Value(static_cast<std::uint64_t>(RegistryKind::dataset)),
                                       Value(schema.digest), Value::text(schema.cid.to_string())});
  if (!registered) {
    // The signer's own earlier offer of this schema (another account's never collides).
    if (registered.error().message.find("AlreadyRegistered") != std::string::npos) {
      return std::optional<chain::U256>{};
    }
    return std::unexpected(std::move(registered).error().context("registering the offer"));
  }
  CAIRN_TRY_ASSIGN(const auto event, registry.event_in(registered->receipt, "Registered"));
  CAIRN_TRY_ASSIGN(const chain::U256 entry, event.at(0).as_uint());
  return std::optional<chain::U256>{entry};
}

Status check_offer(const chain::Contract& registry, const store::Cid& schema,
                   const chain::Address& provider) {
  using chain::abi::Value;
  CAIRN_TRY_ASSIGN(const ByteArray<32> digest, cid_commitment(schema));
  CAIRN_TRY_ASSIGN(
      const std::uint64_t entry_id,
      with_context(registry_entry_of(registry, provider, RegistryKind::dataset, digest),
                   "looking up the offer"));
  if (entry_id == 0) {
    return fail(Errc::not_found, "no offer of schema " + schema.to_string() + " is registered by " +
                                     provider.to_checksum());
  }
  CAIRN_TRY_ASSIGN(const auto fields,
                   with_context(registry.call("getEntry", {Value(entry_id)}), "reading the offer"));
  CAIRN_TRY_ASSIGN(const bool active, fields.at(2).as_bool());
  if (!active) {
    return fail(Errc::rejected, fmt::format("{} offered schema {} and then retired the offer",
                                            provider.to_checksum(), schema.to_string()));
  }
  return {};
}

// ---- delivery ----

std::string deal_binding(const chain::Address& contract, const chain::U256& deal_id) {
  return "cairn DataTransfer " + contract.to_checksum() + " deal " + deal_id.to_decimal();
}

Result<Delivery> seal_delivery(store::Blockstore& blocks, ByteView content,
                               const ByteArray<32>& consumer_key_digest,
                               const chain::Address& contract, const chain::U256& deal_id) {
  if (content.size() > kDealDataCap) {
    return fail(Errc::invalid_argument, fmt::format("the data is {} bytes; a deal sells at most {}",
                                                    content.size(), kDealDataCap));
  }
  CAIRN_TRY_ASSIGN(const store::Cid key_cid,
                   find_cid(blocks, consumer_key_digest, "the consumer's key"));
  CAIRN_TRY_ASSIGN(const Bytes consumer_key, blocks.get(key_cid));
  const auto data_key = crypto::random_array<32>();
  const Bytes sealed =
      crypto::aead_seal(data_key, content, as_bytes(deal_binding(contract, deal_id)));
  const std::string label = "deal " + deal_id.to_decimal();
  CAIRN_TRY_ASSIGN(const auto imported,
                   with_context(store::import_bytes(sealed, blocks), "storing the encrypted data"));
  CAIRN_TRY(blocks.pin(imported.cid, label + " data"));
  CAIRN_TRY_ASSIGN(const Bytes wrapped,
                   with_context(crypto::wrap_key(consumer_key, data_key), "wrapping the data key"));
  Delivery delivery;
  delivery.data = imported.cid;
  CAIRN_TRY_ASSIGN(delivery.encrypted_key, put_pinned_raw_block(blocks, wrapped, label + " key"));
  CAIRN_TRY_ASSIGN(delivery.data_digest, cid_commitment(delivery.data));
  CAIRN_TRY_ASSIGN(delivery.encrypted_key_digest, cid_commitment(delivery.encrypted_key));
  return delivery;
}

Result<Bytes> open_delivery(store::Blockstore& blocks, const crypto::X25519KeyPair& consumer,
                            const chain::DealInitiated& initiated,
                            const chain::DataProvided& provided, const chain::Address& contract) {
  if (provided.deal_id != initiated.deal_id) {
    return fail(Errc::invalid_argument,
                fmt::format("the delivery is for deal {}, the deal is {}",
                            provided.deal_id.to_decimal(), initiated.deal_id.to_decimal()));
  }
  CAIRN_TRY_ASSIGN(const store::Cid key_cid,
                   find_cid(blocks, provided.encrypted_key, "the wrapped key"));
  CAIRN_TRY_ASSIGN(const store::Cid data_cid,
                   find_cid(blocks, provided.data, "the encrypted data"));
  CAIRN_TRY_ASSIGN(const store::Cid schema_cid, find_cid(blocks, initiated.schema, "the schema"));
  CAIRN_TRY_ASSIGN(const Bytes wrapped, blocks.get(key_cid));
  auto data_key_bytes = crypto::unwrap_key(consumer, wrapped);
  if (!data_key_bytes) {
    return dispute_worthy("the data key does not unwrap with this deal's key: " +
                          data_key_bytes.error().message);
  }
  if (data_key_bytes->size() != 32) return dispute_worthy("the wrapped data key is not 32 bytes");
  ByteArray<32> data_key;
  std::copy(data_key_bytes->begin(), data_key_bytes->end(), data_key.begin());

  // A file of more than one chunk is a dag-pb UnixFS root; a one-chunk file is its raw leaf.
  Bytes sealed;
  const auto collect = [&](ByteView chunk) -> Status {
    append(sealed, chunk);
    return {};
  };
  const store::ExportLimits limits{kDealDataCap + kSealOverhead};
  if (!store::export_file(cid_of_digest(store::codec::kDagPb, provided.data), blocks, collect,
                          limits)) {
    sealed.clear();
    CAIRN_TRY(with_context(store::export_file(data_cid, blocks, collect, limits),
                           "reading the encrypted data"));
  }
  auto plain =
      crypto::aead_open(data_key, sealed, as_bytes(deal_binding(contract, initiated.deal_id)));
  if (!plain) return dispute_worthy("the delivered data does not decrypt for this deal");

  CAIRN_TRY_ASSIGN(const Bytes schema_bytes, blocks.get(schema_cid));
  auto schema = DataSchema::parse(schema_bytes);
  if (!schema) {
    return dispute_worthy("the deal's schema " + schema_cid.to_string() +
                          " is not readable: " + schema.error().message);
  }
  CAIRN_TRY(schema->check(*plain));
  return std::move(*plain);
}

}  // namespace cairn::market

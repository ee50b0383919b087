#pragma once
// Ethereum transactions signed offline: EIP-1559 (type 2) and legacy with EIP-155 replay
// protection. The secret key never leaves this process; the RPC node only ever sees the
// signed raw bytes.
#include <optional>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "chain/address.hpp"
#include "chain/u256.hpp"
#include "crypto/secp256k1.hpp"

namespace cairn::chain {

struct AccessListEntry {
  Address address;
  std::vector<ByteArray<32>> storage_keys;
  friend bool operator==(const AccessListEntry&, const AccessListEntry&) = default;
};

struct Transaction {
  enum class Type { legacy, eip1559 };
  Type type = Type::eip1559;
  // Legacy transactions with chain_id 0 are pre-EIP-155 (replayable on any chain).
  std::uint64_t chain_id = 1;
  std::uint64_t nonce = 0;
  U256 gas_price;                 // legacy only
  U256 max_priority_fee_per_gas;  // EIP-1559 only
  U256 max_fee_per_gas;           // EIP-1559 only
  std::uint64_t gas_limit = 21000;
  std::optional<Address> to;  // none: contract creation
  U256 value;
  Bytes data;
  std::vector<AccessListEntry> access_list;  // EIP-1559 only

  // The digest the sender signs.
  ByteArray<32> signing_hash() const;
  friend bool operator==(const Transaction&, const Transaction&) = default;
};

struct SignedTransaction {
  Transaction tx;
  crypto::RecoverableSignature signature;
  Address from;
  Bytes raw;             // what eth_sendRawTransaction takes
  ByteArray<32> hash{};  // keccak-256 of raw: the transaction hash
};

Result<SignedTransaction> sign_transaction(const Transaction& tx,
                                           const crypto::Secp256k1SecretKey& secret_key);
// Parses raw signed bytes (either type), checks the signature and recovers the sender.
Result<SignedTransaction> decode_signed_transaction(ByteView raw);

// Intrinsic calldata gas (EIP-2028): 4 per zero byte, 16 per nonzero byte.
std::uint64_t calldata_gas(ByteView data);

}  // namespace cairn::chain

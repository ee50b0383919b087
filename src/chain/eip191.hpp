#pragma once
// EIP-191 "personal_sign" messages: keccak-256("\x19Ethereum Signed Message:\n" + len + msg),
// the signature wallets (MetaMask, geth, ethers) produce for arbitrary text.
#include "base/bytes.hpp"
#include "base/error.hpp"
#include "chain/address.hpp"
#include "crypto/secp256k1.hpp"

namespace cairn::chain {

ByteArray<32> eip191_message_hash(ByteView message);
// r ‖ s ‖ v with v = 27 or 28, as personal_sign returns it.
Result<ByteArray<65>> eip191_sign(const crypto::Secp256k1SecretKey& secret_key, ByteView message);
// Accepts v as 27/28 or 0/1.
Result<Address> eip191_recover(ByteView message, ByteView signature65);

}  // namespace cairn::chain

#include "chain/eip191.hpp"

#include <algorithm>
#include <string>

#include "crypto/keccak.hpp"

namespace cairn::chain {

ByteArray<32> eip191_message_hash(ByteView message) {
  const std::string prefix =
      "\x19"
      "Ethereum Signed Message:\n" +
      std::to_string(message.size());
  return crypto::Keccak256().update(prefix).update(message).finish();
}

Result<ByteArray<65>> eip191_sign(const crypto::Secp256k1SecretKey& secret_key, ByteView message) {
  CAIRN_TRY_ASSIGN(auto signature,
                   crypto::secp256k1_sign(secret_key, eip191_message_hash(message)));
  return signature.to_rsv(27);
}

Result<Address> eip191_recover(ByteView message, ByteView signature65) {
  if (signature65.size() != 65)
    return fail(Errc::parse, "eip191: a signature is 65 bytes (r, s, v)");
  crypto::RecoverableSignature signature;
  std::copy(signature65.begin(), signature65.begin() + 32, signature.r.begin());
  std::copy(signature65.begin() + 32, signature65.begin() + 64, signature.s.begin());
  const auto v = std::to_integer<std::uint8_t>(signature65[64]);
  if (v == 27 || v == 28) {
    signature.recovery_id = static_cast<std::uint8_t>(v - 27);
  } else if (v <= 1) {
    signature.recovery_id = v;
  } else {
    return fail(Errc::parse, "eip191: v must be 27, 28, 0 or 1");
  }
  CAIRN_TRY_ASSIGN(auto public_key,
                   crypto::secp256k1_recover(eip191_message_hash(message), signature));
  return Address::from_public_key(public_key);
}

}  // namespace cairn::chain

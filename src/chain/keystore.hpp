#pragma once
// Web3 Secret Storage (keystore v3): the encrypted key files of geth, MetaMask and ethers.
// The password is stretched with scrypt or PBKDF2-HMAC-SHA256, the key encrypted with
// AES-128-CTR, and the file authenticated by MAC = keccak-256(derived[16:32] ‖ ciphertext).
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "chain/address.hpp"
#include "crypto/secp256k1.hpp"

namespace cairn::chain {

struct KeystoreOptions {
  enum class Kdf { scrypt, pbkdf2 };
  Kdf kdf = Kdf::scrypt;
  // geth's "standard" scrypt parameters; tests use geth's "light" ones (n = 4096, p = 6).
  std::uint64_t scrypt_n = 262144;
  std::uint32_t scrypt_r = 8;
  std::uint32_t scrypt_p = 1;
  std::uint32_t pbkdf2_iterations = 262144;

  static KeystoreOptions light() { return {Kdf::scrypt, 4096, 8, 6, 262144}; }
};

Result<std::string> keystore_encrypt(const crypto::Secp256k1SecretKey& secret_key,
                                     std::string_view password,
                                     const KeystoreOptions& options = {});
// Fails with Errc::crypto and "wrong password" when the MAC does not match.
Result<crypto::Secp256k1SecretKey> keystore_decrypt(std::string_view json_text,
                                                    std::string_view password);
// The address recorded in the file (not authenticated: decrypt to be sure).
Result<Address> keystore_address(std::string_view json_text);

}  // namespace cairn::chain

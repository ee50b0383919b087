#include "chain/keystore.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/json.hpp"
#include "crypto/keccak.hpp"
#include "crypto/random.hpp"

namespace cairn::chain {
namespace {

using nlohmann::json;

// Keystores from other tools can ask for absurd work; refuse rather than hang or swap.
constexpr std::uint64_t kMaxScryptMemory = 1ULL << 30;
constexpr std::uint64_t kMaxPbkdf2Iterations = 10'000'000;

Result<Bytes> derive_key(const json& crypto_section, std::string_view password) {
  const std::string kdf = crypto_section.value("kdf", "");
  if (!crypto_section.contains("kdfparams") || !crypto_section["kdfparams"].is_object()) {
    return fail(Errc::parse, "keystore: missing kdfparams");
  }
  const json& params = crypto_section["kdfparams"];
  const auto number = [&](const char* key) -> Result<std::uint64_t> {
    if (!params.contains(key) || !params[key].is_number_integer() ||
        params[key].get<std::int64_t>() < 0) {
      return fail(Errc::parse,
                  std::string("keystore: kdfparams.") + key + " is missing or not a number");
    }
    return params[key].get<std::uint64_t>();
  };
  CAIRN_TRY_ASSIGN(std::uint64_t dklen, number("dklen"));
  if (dklen < 32 || dklen > 64)
    return fail(Errc::parse, "keystore: dklen must be between 32 and 64");
  if (!params.contains("salt") || !params["salt"].is_string())
    return fail(Errc::parse, "keystore: missing salt");
  auto salt = from_hex(params["salt"].get<std::string>(), true);
  if (!salt) return fail(Errc::parse, "keystore: salt is not hex");
  Bytes derived(dklen);
  const auto* pass = password.data();
  const auto* salt_bytes = reinterpret_cast<const unsigned char*>(salt->data());
  auto* out = reinterpret_cast<unsigned char*>(derived.data());
  if (kdf == "scrypt") {
    CAIRN_TRY_ASSIGN(std::uint64_t n, number("n"));
    CAIRN_TRY_ASSIGN(std::uint64_t r, number("r"));
    CAIRN_TRY_ASSIGN(std::uint64_t p, number("p"));
    if (n < 2 || (n & (n - 1)) != 0)
      return fail(Errc::parse, "keystore: scrypt n must be a power of two");
    if (r == 0 || p == 0 || r > 1024 || p > 1024)
      return fail(Errc::parse, "keystore: scrypt r or p out of range");
    if (128 * r * n > kMaxScryptMemory) {
      return fail(Errc::unsupported, "keystore: scrypt parameters need more than 1 GiB of memory");
    }
    if (EVP_PBE_scrypt(pass, password.size(), salt_bytes, salt->size(), n, r, p,
                       kMaxScryptMemory + 256 * 1024 * 1024, out, derived.size()) != 1) {
      return fail(Errc::crypto,
                  "keystore: scrypt rejected these parameters (N must be below 2^(16r))");
    }
  } else if (kdf == "pbkdf2") {
    CAIRN_TRY_ASSIGN(std::uint64_t c, number("c"));
    if (params.value("prf", "") != "hmac-sha256") {
      return fail(Errc::unsupported, "keystore: pbkdf2 prf must be hmac-sha256");
    }
    if (c == 0 || c > kMaxPbkdf2Iterations)
      return fail(Errc::unsupported, "keystore: pbkdf2 iteration count out of range");
    if (PKCS5_PBKDF2_HMAC(pass, static_cast<int>(password.size()), salt_bytes,
                          static_cast<int>(salt->size()), static_cast<int>(c), EVP_sha256(),
                          static_cast<int>(derived.size()), out) != 1) {
      return fail(Errc::crypto, "keystore: pbkdf2 failed");
    }
  } else {
    return fail(Errc::unsupported, "keystore: unsupported kdf '" + kdf + "'");
  }
  return derived;
}

Result<Bytes> aes128_ctr(ByteView key16, ByteView iv16, ByteView input) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  Bytes out(input.size() + 16);
  int written = 0;
  int final_written = 0;
  const auto* k = reinterpret_cast<const unsigned char*>(key16.data());
  const auto* iv = reinterpret_cast<const unsigned char*>(iv16.data());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ctr(), nullptr, k, iv) != 1 ||
      EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &written,
                        reinterpret_cast<const unsigned char*>(input.data()),
                        static_cast<int>(input.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + written,
                          &final_written) != 1) {
    return fail(Errc::crypto, "keystore: AES-128-CTR failed");
  }
  out.resize(static_cast<std::size_t>(written + final_written));
  return out;
}

ByteArray<32> mac_of(ByteView derived, ByteView ciphertext) {
  return crypto::Keccak256().update(derived.subspan(16, 16)).update(ciphertext).finish();
}

std::string uuid_v4() {
  auto bytes = crypto::random_array<16>();
  bytes[6] = (bytes[6] & std::byte{0x0f}) | std::byte{0x40};
  bytes[8] = (bytes[8] & std::byte{0x3f}) | std::byte{0x80};
  const std::string hex = to_hex(bytes);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

Result<json> parse_keystore(std::string_view json_text) {
  auto parsed = parse_json(json_text, "keystore");
  if (!parsed || !parsed->is_object()) return fail(Errc::parse, "keystore: not a JSON object");
  json doc = std::move(*parsed);
  if (!doc.contains("version") || doc["version"] != 3)
    return fail(Errc::unsupported, "keystore: only version 3 is supported");
  return doc;
}

}  // namespace

Result<std::string> keystore_encrypt(const crypto::Secp256k1SecretKey& secret_key,
                                     std::string_view password, const KeystoreOptions& options) {
  if (!crypto::secp256k1_secret_key_valid(secret_key))
    return fail(Errc::invalid_argument, "keystore: invalid secret key");
  const auto salt = crypto::random_array<32>();
  const auto iv = crypto::random_array<16>();
  json kdfparams;
  kdfparams["dklen"] = 32;
  kdfparams["salt"] = to_hex(salt);
  std::string kdf;
  if (options.kdf == KeystoreOptions::Kdf::scrypt) {
    kdf = "scrypt";
    kdfparams["n"] = options.scrypt_n;
    kdfparams["r"] = options.scrypt_r;
    kdfparams["p"] = options.scrypt_p;
  } else {
    kdf = "pbkdf2";
    kdfparams["c"] = options.pbkdf2_iterations;
    kdfparams["prf"] = "hmac-sha256";
  }
  json crypto_section;
  crypto_section["kdf"] = kdf;
  crypto_section["kdfparams"] = kdfparams;
  CAIRN_TRY_ASSIGN(Bytes derived, derive_key(crypto_section, password));
  CAIRN_TRY_ASSIGN(Bytes ciphertext, aes128_ctr(ByteView(derived).first(16), iv, secret_key));
  crypto_section["cipher"] = "aes-128-ctr";
  crypto_section["cipherparams"] = {{"iv", to_hex(iv)}};
  crypto_section["ciphertext"] = to_hex(ciphertext);
  crypto_section["mac"] = to_hex(mac_of(derived, ciphertext));
  json doc;
  doc["address"] = to_hex(Address::from_secret_key(secret_key).bytes);
  doc["crypto"] = crypto_section;
  doc["id"] = uuid_v4();
  doc["version"] = 3;
  return doc.dump();
}

Result<crypto::Secp256k1SecretKey> keystore_decrypt(std::string_view json_text,
                                                    std::string_view password) {
  CAIRN_TRY_ASSIGN(json doc, parse_keystore(json_text));
  // geth writes "crypto"; some older tools wrote "Crypto".
  const char* section_name = doc.contains("crypto") ? "crypto" : "Crypto";
  if (!doc.contains(section_name) || !doc[section_name].is_object())
    return fail(Errc::parse, "keystore: missing crypto section");
  const json& section = doc[section_name];
  if (section.value("cipher", "") != "aes-128-ctr") {
    return fail(Errc::unsupported,
                "keystore: unsupported cipher '" + section.value("cipher", "") + "'");
  }
  const auto hex_field = [](const json& object, const char* key) -> Result<Bytes> {
    if (!object.contains(key) || !object[key].is_string()) {
      return fail(Errc::parse, std::string("keystore: missing ") + key);
    }
    auto bytes = from_hex(object[key].get<std::string>(), true);
    if (!bytes) return fail(Errc::parse, std::string("keystore: ") + key + " is not hex");
    return *bytes;
  };
  CAIRN_TRY_ASSIGN(Bytes ciphertext, hex_field(section, "ciphertext"));
  CAIRN_TRY_ASSIGN(Bytes mac, hex_field(section, "mac"));
  if (!section.contains("cipherparams") || !section["cipherparams"].is_object()) {
    return fail(Errc::parse, "keystore: missing cipherparams");
  }
  CAIRN_TRY_ASSIGN(Bytes iv, hex_field(section["cipherparams"], "iv"));
  if (iv.size() != 16) return fail(Errc::parse, "keystore: iv is not 16 bytes");
  if (ciphertext.size() != 32) return fail(Errc::parse, "keystore: ciphertext is not 32 bytes");
  CAIRN_TRY_ASSIGN(Bytes derived, derive_key(section, password));
  if (!constant_time_equal(mac_of(derived, ciphertext), mac)) {
    return fail(Errc::crypto, "keystore: wrong password (MAC mismatch)");
  }
  CAIRN_TRY_ASSIGN(Bytes plain, aes128_ctr(ByteView(derived).first(16), iv, ciphertext));
  crypto::Secp256k1SecretKey key;
  std::copy(plain.begin(), plain.end(), key.begin());
  if (!crypto::secp256k1_secret_key_valid(key))
    return fail(Errc::crypto, "keystore: decrypted key is not a valid secp256k1 key");
  if (doc.contains("address") && doc["address"].is_string()) {
    auto recorded = Address::parse("0x" + doc["address"].get<std::string>());
    if (recorded && *recorded != Address::from_secret_key(key)) {
      return fail(Errc::integrity, "keystore: the file's address does not match its key");
    }
  }
  return key;
}

Result<Address> keystore_address(std::string_view json_text) {
  CAIRN_TRY_ASSIGN(json doc, parse_keystore(json_text));
  if (!doc.contains("address") || !doc["address"].is_string())
    return fail(Errc::parse, "keystore: no address field");
  std::string text = doc["address"].get<std::string>();
  if (!text.starts_with("0x")) text = "0x" + text;
  return Address::parse(text);
}

}  // namespace cairn::chain

#include "seal/keys.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "base/file.hpp"
#include "crypto/hash.hpp"
#include "seal/publication.hpp"

namespace cairn::seal {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(length));
}

Result<std::pair<std::string, std::string>> make_key_and_cert(bool ed25519, const char* name) {
  PkeyPtr key(ed25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return fail(Errc::crypto, "key generation failed");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  // Valid from 1970 so that any calendar second can be checked against it (KEY-03).
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 365 * 30);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("cairn"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name), -1, -1, 0);
  X509_set_issuer_name(cert.get(), subject);
  X509_set_pubkey(cert.get(), key.get());
  if (X509_sign(cert.get(), key.get(), ed25519 ? nullptr : EVP_sha256()) <= 0) {
    return fail(Errc::crypto, "certificate signing failed");
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new(BIO_s_mem()), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  return std::make_pair(bio_string(key_bio.get()), bio_string(cert_bio.get()));
}

Result<std::string> read_text(const std::filesystem::path& path) {
  return file::read_text(path, file::kSmallFileCap);
}

// Private keys are created 0600 in a 0700 directory: never readable by others, not even
// between creation and a chmod.
Status write_private(const std::filesystem::path& path, const std::string& text) {
  return file::write_atomic(path, std::string_view(text), {.mode = file::kSecret});
}

Status finish(ServiceKeys& keys) {
  CAIRN_TRY_ASSIGN(keys.calendar_cert_der, pem_to_der(keys.calendar_cert_pem));
  const auto digest = crypto::sha256(keys.calendar_cert_der);
  keys.calendar_cert_id.assign(digest.begin(), digest.begin() + 4);
  return {};
}

}  // namespace

Result<ServiceKeys> ServiceKeys::generate() {
  ServiceKeys keys;
  CAIRN_TRY_ASSIGN(auto calendar, make_key_and_cert(true, "cairn calendar"));
  CAIRN_TRY_ASSIGN(auto publications, make_key_and_cert(false, "cairn publications"));
  keys.calendar_key_pem = calendar.first;
  keys.calendar_cert_pem = calendar.second;
  keys.publications_key_pem = publications.first;
  keys.publications_cert_pem = publications.second;
  CAIRN_TRY(finish(keys));
  return keys;
}

Result<ServiceKeys> ServiceKeys::load_or_create(const std::filesystem::path& directory) {
  CAIRN_TRY(file::create_directories(directory, 0700));
  const auto calendar_key = directory / "calendar-key.pem";
  if (!std::filesystem::exists(calendar_key)) {
    CAIRN_TRY_ASSIGN(ServiceKeys keys, generate());
    CAIRN_TRY(write_private(directory / "calendar-cert.pem", keys.calendar_cert_pem));
    CAIRN_TRY(write_private(directory / "publications-key.pem", keys.publications_key_pem));
    CAIRN_TRY(write_private(directory / "publications-cert.pem", keys.publications_cert_pem));
    CAIRN_TRY(write_private(calendar_key, keys.calendar_key_pem));  // last: marks completion
    return keys;
  }
  ServiceKeys keys;
  CAIRN_TRY_ASSIGN(keys.calendar_key_pem, read_text(calendar_key));
  CAIRN_TRY_ASSIGN(keys.calendar_cert_pem, read_text(directory / "calendar-cert.pem"));
  CAIRN_TRY_ASSIGN(keys.publications_key_pem, read_text(directory / "publications-key.pem"));
  CAIRN_TRY_ASSIGN(keys.publications_cert_pem, read_text(directory / "publications-cert.pem"));
  CAIRN_TRY(finish(keys));
  return keys;
}

Result<Bytes> ServiceKeys::sign_calendar(ByteView data) const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(calendar_key_pem.data(), static_cast<int>(calendar_key_pem.size())),
      BIO_free);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return fail(Errc::crypto, "cannot read the calendar key");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t length = 64;
  Bytes signature(length);
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return fail(Errc::crypto, "Ed25519 signing failed");
  }
  signature.resize(length);
  return signature;
}

}  // namespace cairn::seal

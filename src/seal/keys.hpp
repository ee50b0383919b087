#pragma once
// The signing service's keys, kept as PEM files in its repository:
//   calendar-key.pem / calendar-cert.pem  Ed25519: signs calendar authentication records
//                                          (KSI signature type 1.3.101.112, a cairn addition)
//   publications-key.pem / publications-cert.pem  ECDSA P-256: signs the publications file
//                                          (PKCS#7; OpenSSL 3.0's CMS cannot sign with Ed25519)
// Both certificates are self-signed; verifiers trust publications-cert.pem, and the
// publications file carries calendar-cert.pem for key-based verification.

#include <filesystem>
#include <string>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::seal {

inline constexpr std::string_view kEd25519SignatureType = "1.3.101.112";

struct ServiceKeys {
  std::string calendar_key_pem;
  std::string calendar_cert_pem;
  Bytes calendar_cert_der;
  Bytes calendar_cert_id;  // first 4 bytes of SHA-256 of the certificate
  std::string publications_key_pem;
  std::string publications_cert_pem;

  // Loads the keys from `directory`, creating them on first use.
  static Result<ServiceKeys> load_or_create(const std::filesystem::path& directory);
  // Fresh keys in memory (tests and benchmarks).
  static Result<ServiceKeys> generate();

  // Ed25519 signature over `data` with the calendar key.
  Result<Bytes> sign_calendar(ByteView data) const;
};

}  // namespace cairn::seal

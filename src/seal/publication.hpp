#pragma once
// Publications: the calendar root at a publication time, as a printable publication
// string or as a record in a signed publications file; and the extender's answer
// (a calendar hash chain) as KSI's extend response PDU.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "seal/signature.hpp"

namespace cairn::seal {

// ---- Publication strings ----
// base32(time as 8 bytes ‖ imprint ‖ CRC-32 of both), upper case, dashes every 6 letters.
std::string encode_publication_string(const PublishedData& data);
Result<PublishedData> decode_publication_string(std::string_view text);
std::uint32_t crc32(ByteView data);

// ---- Publications files ----
inline constexpr std::string_view kPublicationsFileMagic = "KSIPUBLF";

struct CertificateRecord {
  Bytes id;
  Bytes der;  // X.509 certificate
};

struct PublicationsFile {
  std::uint64_t version = 0;
  std::uint64_t creation_time = 0;
  std::optional<std::string> repository_uri;
  std::vector<CertificateRecord> certificates;
  std::vector<PublicationRecord> publications;
  Bytes signed_bytes;   // everything before the signature element
  Bytes cms_signature;  // DER PKCS#7 / CMS SignedData over signed_bytes (detached)

  static Result<PublicationsFile> parse(ByteView bytes);

  const CertificateRecord* certificate(ByteView id) const;
  // The publication at exactly `time`, or the earliest one at or after it.
  const PublicationRecord* publication_at(std::uint64_t time) const;
  const PublicationRecord* first_publication_after(std::uint64_t time) const;
};

struct TrustOptions {
  std::vector<std::string> trusted_pem_files;  // trust anchors; empty = system store
  std::optional<std::string> required_email;   // the signer certificate's e-mail address
};
// Checks the file's PKCS#7 signature and the signer's chain to a trust anchor, at the
// file's creation time.
Status verify_publications_file(const PublicationsFile& file, const TrustOptions& trust);

// Writes a publications file signed (CMS, detached) by `key_pem` with `cert_pem`.
Result<Bytes> build_publications_file(std::uint64_t creation_time,
                                      const std::vector<CertificateRecord>& certificates,
                                      const std::vector<PublicationRecord>& publications,
                                      const std::string& key_pem, const std::string& cert_pem);

// ---- Certificates and PKI signatures (OpenSSL) ----
struct CertificateInfo {
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::string subject;
};
Result<CertificateInfo> certificate_info(ByteView der);
// Verifies a calendar authentication signature of type `oid` over `data` with the
// certificate's public key: 1.2.840.113549.1.1.11 (RSA/SHA-256), 1.2.840.10045.4.3.2
// (ECDSA/SHA-256), 1.3.101.112 (Ed25519).
Status verify_pki_signature(std::string_view oid, ByteView certificate_der, ByteView data,
                            ByteView signature);
Result<Bytes> pem_to_der(std::string_view pem);

// ---- Extender responses (PDU version 2, TLV 0x0321) ----
struct ExtendResponse {
  std::uint64_t request_id = 0;
  std::uint64_t status = 0;
  std::string error_message;
  std::optional<std::uint64_t> calendar_last_time;
  std::optional<CalendarChain> calendar_chain;
};
Result<ExtendResponse> parse_extend_response(ByteView bytes);
Bytes build_extend_response(const ExtendResponse& response);

}  // namespace cairn::seal

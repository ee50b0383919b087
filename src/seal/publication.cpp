#include "seal/publication.hpp"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <memory>

#include "base/encoding.hpp"

namespace cairn::seal {
namespace {

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  std::array<char, 256> buffer{};
  ERR_error_string_n(code, buffer.data(), buffer.size());
  return buffer.data();
}

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, [](BIO* b) { BIO_free_all(b); }>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using CmsPtr = std::unique_ptr<CMS_ContentInfo, Deleter<CMS_ContentInfo, CMS_ContentInfo_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;

Result<X509Ptr> parse_certificate(ByteView der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return fail(Errc::parse, "certificate is not DER X.509: " + openssl_error());
  return cert;
}

std::int64_t asn1_time_to_unix(const ASN1_TIME* time) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

// ---- Publication strings ----
std::uint32_t crc32(ByteView data) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::byte b : data)
    crc = table[(crc ^ static_cast<std::uint8_t>(b)) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

std::string encode_publication_string(const PublishedData& data) {
  Bytes raw;
  append_be(raw, data.publication_time, 8);
  append(raw, data.published_hash.bytes());
  append_be(raw, crc32(raw), 4);
  const std::string text = base32_encode(raw, Base32Case::upper);
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i > 0 && i % 6 == 0) out.push_back('-');
    out.push_back(text[i]);
  }
  return out;
}

Result<PublishedData> decode_publication_string(std::string_view text) {
  std::string compact;
  for (char c : text) {
    if (c != '-') compact.push_back(c);
  }
  auto raw = base32_decode(compact);
  if (!raw) return fail(Errc::parse, "publication string is not base32: " + raw.error().message);
  if (raw->size() < 8 + 1 + 4) return fail(Errc::parse, "publication string is too short");
  const ByteView all(*raw);
  const std::uint32_t expected = static_cast<std::uint32_t>(read_be(all.last(4)));
  if (crc32(all.first(all.size() - 4)) != expected) {
    return fail(Errc::integrity, "publication string CRC-32 mismatch (mistyped?)");
  }
  PublishedData data;
  data.publication_time = read_be(all.first(8));
  CAIRN_TRY(assign_to(data.published_hash, Imprint::parse(all.subspan(8, all.size() - 12))));
  return data;
}

// ---- Publications files ----
Result<PublicationsFile> PublicationsFile::parse(ByteView bytes) {
  if (bytes.size() < kPublicationsFileMagic.size() ||
      as_chars(bytes.first(kPublicationsFileMagic.size())) != kPublicationsFileMagic) {
    return fail(Errc::parse, "not a KSI publications file (magic KSIPUBLF missing)");
  }
  PublicationsFile file;
  std::size_t offset = kPublicationsFileMagic.size();
  bool has_header = false;
  bool has_signature = false;
  while (offset < bytes.size()) {
    const std::size_t start = offset;
    CAIRN_TRY_ASSIGN(TlvElement element, read_tlv(bytes, offset));
    if (has_signature) {
      return fail(Errc::parse, "publications file has data after its signature");
    }
    switch (element.tag) {
      case 0x701: {
        if (has_header || start != kPublicationsFileMagic.size()) {
          return fail(Errc::parse, "publications file header is not the first element");
        }
        has_header = true;
        CAIRN_TRY_ASSIGN(auto children, read_children(element.value));
        bool has_version = false, has_time = false;
        for (const auto& child : children) {
          switch (child.tag) {
            case 0x01:
              has_version = true;
              CAIRN_TRY(assign_to(file.version, tlv_uint(child)));
              break;
            case 0x02:
              has_time = true;
              CAIRN_TRY(assign_to(file.creation_time, tlv_uint(child)));
              break;
            case 0x03: {
              CAIRN_TRY_ASSIGN(std::string uri, tlv_utf8(child));
              file.repository_uri = uri;
              break;
            }
            default:
              CAIRN_TRY(skip_unknown(child, "publications file header"));
          }
        }
        if (!has_version || !has_time) {
          return fail(Errc::parse, "publications file header lacks version or creation time");
        }
        break;
      }
      case 0x702: {
        CertificateRecord record;
        CAIRN_TRY_ASSIGN(auto children, read_children(element.value));
        bool has_id = false, has_cert = false;
        for (const auto& child : children) {
          if (child.tag == 0x01 && !has_id) {
            has_id = true;
            record.id = to_bytes(child.value);
          } else if (child.tag == 0x02 && !has_cert) {
            has_cert = true;
            record.der = to_bytes(child.value);
          } else {
            CAIRN_TRY(skip_unknown(child, "certificate record"));
          }
        }
        if (!has_id || !has_cert) return fail(Errc::parse, "certificate record is incomplete");
        file.certificates.push_back(std::move(record));
        break;
      }
      case 0x703: {
        CAIRN_TRY_ASSIGN(auto record, parse_publication_record(element));
        file.publications.push_back(std::move(record));
        break;
      }
      case 0x704:
        has_signature = true;
        file.signed_bytes = to_bytes(bytes.first(start));
        file.cms_signature = to_bytes(element.value);
        break;
      default:
        CAIRN_TRY(skip_unknown(element, "publications file"));
    }
  }
  if (!has_header) return fail(Errc::parse, "publications file has no header");
  if (!has_signature) return fail(Errc::parse, "publications file has no signature");
  return file;
}

const CertificateRecord* PublicationsFile::certificate(ByteView id) const {
  for (const auto& record : certificates) {
    if (equal(record.id, id)) return &record;
  }
  return nullptr;
}

const PublicationRecord* PublicationsFile::publication_at(std::uint64_t time) const {
  for (const auto& record : publications) {
    if (record.data.publication_time == time) return &record;
  }
  return nullptr;
}

const PublicationRecord* PublicationsFile::first_publication_after(std::uint64_t time) const {
  const PublicationRecord* best = nullptr;
  for (const auto& record : publications) {
    if (record.data.publication_time >= time &&
        (best == nullptr || record.data.publication_time < best->data.publication_time)) {
      best = &record;
    }
  }
  return best;
}

Status verify_publications_file(const PublicationsFile& file, const TrustOptions& trust) {
  const auto* p = reinterpret_cast<const unsigned char*>(file.cms_signature.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(file.cms_signature.size())));
  if (!cms)
    return fail(Errc::parse, "publications file signature is not PKCS#7: " + openssl_error());
  StorePtr store(X509_STORE_new());
  if (trust.trusted_pem_files.empty()) {
    X509_STORE_set_default_paths(store.get());
  } else {
    for (const auto& path : trust.trusted_pem_files) {
      if (X509_STORE_load_file(store.get(), path.c_str()) != 1) {
        return fail(Errc::io, "cannot load trusted certificate " + path + ": " + openssl_error());
      }
    }
  }
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(file.creation_time));
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_ANY);
  BioPtr content(
      BIO_new_mem_buf(file.signed_bytes.data(), static_cast<int>(file.signed_bytes.size())));
  if (CMS_verify(cms.get(), nullptr, store.get(), content.get(), nullptr, CMS_BINARY) != 1) {
    return fail(Errc::integrity, "publications file signature does not verify: " + openssl_error());
  }
  if (trust.required_email) {
    STACK_OF(X509)* signers = CMS_get0_signers(cms.get());
    bool matched = false;
    for (int i = 0; signers != nullptr && i < sk_X509_num(signers); ++i) {
      X509* signer = sk_X509_value(signers, i);
      X509_NAME* name = X509_get_subject_name(signer);
      std::array<char, 256> email{};
      if (X509_NAME_get_text_by_NID(name, NID_pkcs9_emailAddress, email.data(),
                                    static_cast<int>(email.size())) > 0 &&
          *trust.required_email == email.data()) {
        matched = true;
      }
    }
    sk_X509_free(signers);
    if (!matched) {
      return fail(Errc::integrity, "publications file signer is not " + *trust.required_email);
    }
  }
  return {};
}

Result<Bytes> build_publications_file(std::uint64_t creation_time,
                                      const std::vector<CertificateRecord>& certificates,
                                      const std::vector<PublicationRecord>& publications,
                                      const std::string& key_pem, const std::string& cert_pem) {
  Bytes out = to_bytes(kPublicationsFileMagic);
  Bytes header;
  write_uint(header, 0x01, 2);
  write_uint(header, 0x02, creation_time);
  write_tlv(out, 0x701, header);
  for (const auto& record : certificates) {
    Bytes body;
    write_tlv(body, 0x01, record.id);
    write_tlv(body, 0x02, record.der);
    write_tlv(out, 0x702, body);
  }
  for (const auto& record : publications)
    append(out, encode_publication_record(record, 0x703));

  BioPtr key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  BioPtr cert_bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  X509Ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!key || !cert) return fail(Errc::crypto, "cannot read the signing key or certificate");
  BioPtr content(BIO_new_mem_buf(out.data(), static_cast<int>(out.size())));
  CmsPtr cms(CMS_sign(cert.get(), key.get(), nullptr, content.get(),
                      CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP));
  if (!cms) return fail(Errc::crypto, "CMS signing failed: " + openssl_error());
  unsigned char* der = nullptr;
  const int length = i2d_CMS_ContentInfo(cms.get(), &der);
  if (length <= 0) return fail(Errc::crypto, "CMS encoding failed: " + openssl_error());
  Bytes signature(reinterpret_cast<std::byte*>(der), reinterpret_cast<std::byte*>(der) + length);
  OPENSSL_free(der);
  write_tlv(out, 0x704, signature);
  return out;
}

Result<CertificateInfo> certificate_info(ByteView der) {
  CAIRN_TRY_ASSIGN(X509Ptr cert, parse_certificate(der));
  CertificateInfo info;
  info.not_before = asn1_time_to_unix(X509_get0_notBefore(cert.get()));
  info.not_after = asn1_time_to_unix(X509_get0_notAfter(cert.get()));
  std::array<char, 512> subject{};
  X509_NAME_oneline(X509_get_subject_name(cert.get()), subject.data(),
                    static_cast<int>(subject.size()));
  info.subject = subject.data();
  return info;
}

Status verify_pki_signature(std::string_view oid, ByteView certificate_der, ByteView data,
                            ByteView signature) {
  const EVP_MD* digest = nullptr;
  if (oid == "1.2.840.113549.1.1.11" || oid == "1.2.840.10045.4.3.2") {
    digest = EVP_sha256();
  } else if (oid == "1.2.840.113549.1.1.12" || oid == "1.2.840.10045.4.3.3") {
    digest = EVP_sha384();
  } else if (oid == "1.2.840.113549.1.1.13" || oid == "1.2.840.10045.4.3.4") {
    digest = EVP_sha512();
  } else if (oid != "1.3.101.112") {
    return fail(Errc::unsupported, "unsupported signature type " + std::string(oid));
  }
  CAIRN_TRY_ASSIGN(X509Ptr cert, parse_certificate(certificate_der));
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key == nullptr) return fail(Errc::crypto, "certificate has no usable public key");
  const bool is_ed25519 = EVP_PKEY_get_id(key) == EVP_PKEY_ED25519;
  if (is_ed25519 != (oid == "1.3.101.112")) {
    return fail(Errc::integrity, "signature type does not match the certificate's key");
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, digest, nullptr, key) != 1) {
    return fail(Errc::crypto, "cannot start signature verification: " + openssl_error());
  }
  const int ok = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(data.data()), data.size());
  if (ok != 1) {
    ERR_clear_error();
    return fail(Errc::integrity, "signature does not verify with the certificate");
  }
  return {};
}

Result<Bytes> pem_to_der(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return fail(Errc::parse, "not a PEM certificate: " + openssl_error());
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert.get(), &der);
  if (length <= 0) return fail(Errc::crypto, "cannot encode certificate");
  Bytes out(reinterpret_cast<std::byte*>(der), reinterpret_cast<std::byte*>(der) + length);
  OPENSSL_free(der);
  return out;
}

// ---- Extender responses ----
Result<ExtendResponse> parse_extend_response(ByteView bytes) {
  CAIRN_TRY_ASSIGN(TlvElement pdu, read_single_tlv(bytes));
  if (pdu.tag != 0x321) {
    return fail(Errc::parse, fmt::format("not an extend response PDU: element 0x{:x}", pdu.tag));
  }
  CAIRN_TRY_ASSIGN(auto parts, read_children(pdu.value));
  bool has_payload = false;
  ExtendResponse response;
  for (const auto& part : parts) {
    if (part.tag == 0x01 || part.tag == 0x1F || part.tag == 0x10) continue;  // header, MAC, conf
    if (part.tag == 0x03) {
      CAIRN_TRY_ASSIGN(auto fields, read_children(part.value));
      for (const auto& field : fields) {
        if (field.tag == 0x04) CAIRN_TRY(assign_to(response.status, tlv_uint(field)));
        if (field.tag == 0x05) CAIRN_TRY(assign_to(response.error_message, tlv_utf8(field)));
      }
      if (response.status == 0) response.status = 1;
      continue;
    }
    if (part.tag != 0x02) {
      CAIRN_TRY(skip_unknown(part, "extend response PDU"));
      continue;
    }
    if (has_payload) return fail(Errc::parse, "extend response has two payloads");
    has_payload = true;
    CAIRN_TRY_ASSIGN(auto fields, read_children(part.value));
    for (const auto& field : fields) {
      switch (field.tag) {
        case 0x01:
          CAIRN_TRY(assign_to(response.request_id, tlv_uint(field)));
          break;
        case 0x04:
          CAIRN_TRY(assign_to(response.status, tlv_uint(field)));
          break;
        case 0x05:
          CAIRN_TRY(assign_to(response.error_message, tlv_utf8(field)));
          break;
        case 0x12: {
          CAIRN_TRY_ASSIGN(std::uint64_t last, tlv_uint(field));
          response.calendar_last_time = last;
          break;
        }
        case tag::calendar_chain: {
          CAIRN_TRY_ASSIGN(auto chain, parse_calendar_chain(field));
          response.calendar_chain = std::move(chain);
          break;
        }
        default:
          CAIRN_TRY(skip_unknown(field, "extend response"));
      }
    }
  }
  if (!has_payload && response.status == 0) {
    return fail(Errc::parse, "extend response has no payload");
  }
  if (response.status == 0 && !response.calendar_chain) {
    return fail(Errc::parse, "extend response has no calendar hash chain");
  }
  return response;
}

Bytes build_extend_response(const ExtendResponse& response) {
  Bytes header;
  write_utf8(header, 0x01, "cairn");
  Bytes payload;
  write_uint(payload, 0x01, response.request_id);
  write_uint(payload, 0x04, response.status);
  if (!response.error_message.empty()) write_utf8(payload, 0x05, response.error_message);
  if (response.calendar_last_time) write_uint(payload, 0x12, *response.calendar_last_time);
  if (response.calendar_chain) append(payload, encode_calendar_chain(*response.calendar_chain));
  Bytes body;
  write_tlv(body, 0x01, header);
  write_tlv(body, 0x02, payload);
  Bytes out;
  write_tlv(out, 0x321, body);
  return out;
}

}  // namespace cairn::seal

#include "crypto/hash.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace cairn::crypto {
namespace {

const EVP_MD* fetch_md(HashAlgorithm algorithm) {
  // Fetched once: EVP_MD_fetch is slow and the objects are immutable and thread-safe.
  static const auto table = [] {
    std::array<const EVP_MD*, 10> t{};
    const char* names[] = {"SHA1",     "SHA2-224", "SHA2-256", "SHA2-384",  "SHA2-512",
                           "SHA3-224", "SHA3-256", "SHA3-384", "SHA3-512", "RIPEMD-160"};
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = EVP_MD_fetch(nullptr, names[i], nullptr);
    return t;
  }();
  const EVP_MD* md = table[static_cast<std::size_t>(algorithm)];
  if (md == nullptr) {
    throw std::runtime_error("OpenSSL does not provide " + std::string(hash_name(algorithm)));
  }
  return md;
}

}  // namespace

std::size_t digest_size(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::sha1: return 20;
    case HashAlgorithm::sha2_224: return 28;
    case HashAlgorithm::sha2_256: return 32;
    case HashAlgorithm::sha2_384: return 48;
    case HashAlgorithm::sha2_512: return 64;
    case HashAlgorithm::sha3_224: return 28;
    case HashAlgorithm::sha3_256: return 32;
    case HashAlgorithm::sha3_384: return 48;
    case HashAlgorithm::sha3_512: return 64;
    case HashAlgorithm::ripemd160: return 20;
  }
  return 0;
}

std::string_view hash_name(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::sha1: return "SHA-1";
    case HashAlgorithm::sha2_224: return "SHA-224";
    case HashAlgorithm::sha2_256: return "SHA-256";
    case HashAlgorithm::sha2_384: return "SHA-384";
    case HashAlgorithm::sha2_512: return "SHA-512";
    case HashAlgorithm::sha3_224: return "SHA3-224";
    case HashAlgorithm::sha3_256: return "SHA3-256";
    case HashAlgorithm::sha3_384: return "SHA3-384";
    case HashAlgorithm::sha3_512: return "SHA3-512";
    case HashAlgorithm::ripemd160: return "RIPEMD-160";
  }
  return "unknown";
}

struct Hasher::State {
  EVP_MD_CTX* ctx = nullptr;
  ~State() { EVP_MD_CTX_free(ctx); }
};

Hasher::Hasher(HashAlgorithm algorithm) : algorithm_(algorithm), state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  if (state_->ctx == nullptr || EVP_DigestInit_ex2(state_->ctx, fetch_md(algorithm), nullptr) != 1) {
    throw std::runtime_error("OpenSSL could not start a hash");
  }
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

Hasher& Hasher::update(ByteView data) {
  if (!data.empty()) EVP_DigestUpdate(state_->ctx, data.data(), data.size());
  return *this;
}

void Hasher::finish(MutableByteView out) {
  if (out.size() < digest_size(algorithm_)) throw std::logic_error("digest buffer too small");
  unsigned int length = 0;
  EVP_DigestFinal_ex(state_->ctx, reinterpret_cast<unsigned char*>(out.data()), &length);
  EVP_DigestInit_ex2(state_->ctx, nullptr, nullptr);
}

Bytes Hasher::finish() {
  Bytes out(digest_size(algorithm_));
  finish(out);
  return out;
}

Bytes hash(HashAlgorithm algorithm, ByteView data) {
  Bytes out(digest_size(algorithm));
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &length,
             fetch_md(algorithm), nullptr);
  return out;
}

Sha256Digest sha256(ByteView data) {
  Sha256Digest out;
  // The one-shot SHA256() avoids the EVP context allocation on this hot path (block CIDs).
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace cairn::crypto

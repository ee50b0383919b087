#pragma once
// Cryptographic hash functions over OpenSSL 3's EVP interface (which picks the machine's
// SHA extensions where it has them). Keccak-256, which OpenSSL 3.0 lacks, is in keccak.hpp.

#include <memory>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::crypto {

enum class HashAlgorithm {
  sha1,
  sha2_224,
  sha2_256,
  sha2_384,
  sha2_512,
  sha3_224,
  sha3_256,
  sha3_384,
  sha3_512,
  ripemd160,
};

std::size_t digest_size(HashAlgorithm algorithm);
std::string_view hash_name(HashAlgorithm algorithm);

using Sha256Digest = ByteArray<32>;

// Incremental hashing: update() any number of times, then finish() once.
class Hasher {
 public:
  explicit Hasher(HashAlgorithm algorithm);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  Hasher& update(ByteView data);
  Hasher& update(std::string_view text) { return update(as_bytes(text)); }
  // Writes digest_size() bytes to `out` and resets the hasher for reuse.
  void finish(MutableByteView out);
  Bytes finish();
  HashAlgorithm algorithm() const { return algorithm_; }

 private:
  struct State;
  HashAlgorithm algorithm_;
  std::unique_ptr<State> state_;
};

Bytes hash(HashAlgorithm algorithm, ByteView data);
Sha256Digest sha256(ByteView data);
inline Sha256Digest sha256(std::string_view text) { return sha256(as_bytes(text)); }

}  // namespace cairn::crypto

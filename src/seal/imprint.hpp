#pragma once
// KSI data hashes ("imprints"): one byte naming the hash function, then its digest.
// The ids, digest sizes and deprecation dates follow the KSI specification, so that cairn
// reads and writes the same bytes as every other KSI implementation.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "crypto/hash.hpp"

namespace cairn::seal {

// KSI hash function ids (the first byte of an imprint).
enum class HashId : std::uint8_t {
  sha1 = 0x00,
  sha2_256 = 0x01,
  ripemd160 = 0x02,
  sha2_384 = 0x04,
  sha2_512 = 0x05,
  sha3_224 = 0x07,
  sha3_256 = 0x08,
  sha3_384 = 0x09,
  sha3_512 = 0x0A,
};

struct HashInfo {
  HashId id;
  std::string_view name;
  std::size_t digest_size;
  crypto::HashAlgorithm algorithm;
  // Unix times from which the function must not be used for new signatures (deprecated)
  // and from which nothing made with it is trusted any more (obsolete); 0 = never.
  std::int64_t deprecated_from;
  std::int64_t obsolete_from;
};

// The table entry for a KSI hash id, or nullptr for ids KSI does not define (or cairn
// cannot compute).
const HashInfo* hash_info(std::uint8_t id);
std::optional<HashId> hash_id_from_name(std::string_view name);
bool deprecated_at(std::uint8_t id, std::int64_t time);
bool obsolete_at(std::uint8_t id, std::int64_t time);

class Imprint {
 public:
  Imprint() = default;
  // Checks that the first byte names a known function and the length matches it.
  static Result<Imprint> parse(ByteView bytes);
  static Result<Imprint> from_hex(std::string_view hex);
  static Imprint of(HashId id, ByteView digest);

  HashId algorithm() const { return static_cast<HashId>(bytes_.at(0)); }
  std::uint8_t algorithm_byte() const { return static_cast<std::uint8_t>(bytes_.at(0)); }
  ByteView digest() const { return ByteView(bytes_).subspan(1); }
  ByteView bytes() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }
  std::string hex() const;
  bool operator==(const Imprint& other) const { return equal(bytes_, other.bytes_); }

 private:
  Bytes bytes_;
};

// Incremental hashing that yields an imprint; reusable after finish().
class ImprintHasher {
 public:
  explicit ImprintHasher(HashId id);
  ImprintHasher& update(ByteView data) {
    hasher_.update(data);
    return *this;
  }
  ImprintHasher& update(std::uint8_t byte) {
    const std::byte b{byte};
    hasher_.update(ByteView(&b, 1));
    return *this;
  }
  Imprint finish();
  HashId id() const { return id_; }

 private:
  HashId id_;
  crypto::Hasher hasher_;
};

Imprint hash_data(HashId id, ByteView data);
Result<HashId> checked_hash_id(std::uint64_t value);

}  // namespace cairn::seal

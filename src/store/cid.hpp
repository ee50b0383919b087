#pragma once
// Multihashes and CIDs (content identifiers), byte-compatible with IPFS and multiformats.
//
// A CIDv1 is  varint(1) ‖ varint(codec) ‖ multihash, written in text as multibase
// base32 lower case ('b' prefix). A CIDv0 is a bare sha2-256 multihash of a dag-pb block,
// written in base58btc ("Qm…"). A multihash is varint(function) ‖ varint(length) ‖ digest.

#include <algorithm>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::store {

// Multicodec codes cairn uses.
namespace codec {
inline constexpr std::uint64_t kRaw = 0x55;
inline constexpr std::uint64_t kDagPb = 0x70;
inline constexpr std::uint64_t kDagCbor = 0x71;
inline constexpr std::uint64_t kDagJson = 0x0129;
}  // namespace codec

namespace multihash_code {
inline constexpr std::uint64_t kIdentity = 0x00;
inline constexpr std::uint64_t kSha2_256 = 0x12;
inline constexpr std::uint64_t kSha2_512 = 0x13;
}  // namespace multihash_code

// Digests longer than this are refused when parsing (the largest real one is 64 bytes;
// identity hashes of small inline blocks are the only longer ones we accept).
inline constexpr std::size_t kMaxDigestBytes = 128;

struct Multihash {
  std::uint64_t code = multihash_code::kSha2_256;
  Bytes digest;

  static Multihash sha2_256(ByteView data);
  // Parses a multihash at the start of `in`; `consumed` receives its length.
  static Result<Multihash> decode_prefix(ByteView in, std::size_t& consumed);
  static Result<Multihash> decode(ByteView in);  // the whole input must be one multihash
  void encode_to(Bytes& out) const;
  Bytes encode() const;
  // Whether `data` hashes to this multihash. Fails with `unsupported` for a hash function
  // cairn does not implement (it never pretends such data verified).
  Result<bool> matches(ByteView data) const;

  friend bool operator==(const Multihash&, const Multihash&) = default;
};

class Cid {
 public:
  Cid() = default;  // an empty CID; valid() is false
  static Cid v0(Multihash hash);
  static Cid v1(std::uint64_t codec, Multihash hash);
  // The CIDv1 of a block's bytes with sha2-256: what the store and importer produce.
  static Cid of(std::uint64_t codec, ByteView block);

  // Text form: base32 CIDv1 ('b…', either case of the letters after 'b' is refused
  // except lower), base58btc CIDv1 ('z…'), CIDv0 ('Qm…', 46 characters).
  static Result<Cid> parse(std::string_view text);
  // Binary form; the whole input must be one CID.
  static Result<Cid> decode(ByteView bytes);
  // Binary form at the start of `in` (as in a CAR section); `consumed` receives its length.
  static Result<Cid> decode_prefix(ByteView in, std::size_t& consumed);

  bool valid() const { return !bytes_.empty(); }
  int version() const { return version_; }
  std::uint64_t codec() const { return codec_; }
  const Multihash& hash() const { return hash_; }
  // The binary form (what goes into dag-pb links and CAR sections).
  const Bytes& bytes() const { return bytes_; }
  // CIDv1 in base32 ("bafy…"), CIDv0 in base58btc ("Qm…").
  std::string to_string() const;
  // Whether `block` is the block this CID names (its hash matches).
  Result<bool> matches(ByteView block) const { return hash_.matches(block); }
  Cid to_v1() const { return v1(codec_, hash_); }

  friend bool operator==(const Cid& a, const Cid& b) { return a.bytes_ == b.bytes_; }
  // Byte-wise order of the binary forms (libc++ 16, which the fuzz build uses, has no
  // std::lexicographical_compare_three_way).
  friend std::strong_ordering operator<=>(const Cid& a, const Cid& b) {
    const std::size_t common = std::min(a.bytes_.size(), b.bytes_.size());
    const int c = common == 0 ? 0 : std::memcmp(a.bytes_.data(), b.bytes_.data(), common);
    if (c != 0) return c < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
    return a.bytes_.size() <=> b.bytes_.size();
  }

 private:
  int version_ = 1;
  std::uint64_t codec_ = 0;
  Multihash hash_;
  Bytes bytes_;
};

std::string codec_name(std::uint64_t codec);

}  // namespace cairn::store

template <>
struct std::hash<cairn::store::Cid> {
  std::size_t operator()(const cairn::store::Cid& cid) const noexcept;
};

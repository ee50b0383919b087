#include "store/cid.hpp"

#include <fmt/format.h>

#include "base/encoding.hpp"
#include "base/varint.hpp"
#include "crypto/hash.hpp"

namespace cairn::store {

Multihash Multihash::sha2_256(ByteView data) {
  const auto digest = crypto::sha256(data);
  return Multihash{multihash_code::kSha2_256, Bytes(digest.begin(), digest.end())};
}

Result<Multihash> Multihash::decode_prefix(ByteView in, std::size_t& consumed) {
  auto code = varint_decode(in);
  if (!code) return std::unexpected(std::move(code).error().context("multihash function code"));
  auto length = varint_decode(in.subspan(code->length));
  if (!length) return std::unexpected(std::move(length).error().context("multihash length"));
  if (length->value > kMaxDigestBytes) {
    return fail(Errc::parse, fmt::format("multihash digest of {} bytes is too long", length->value));
  }
  const std::size_t header = code->length + length->length;
  if (in.size() - header < length->value) {
    return fail(Errc::parse, fmt::format("multihash digest truncated: {} of {} bytes",
                                         in.size() - header, length->value));
  }
  if (code->value == multihash_code::kSha2_256 && length->value != 32) {
    return fail(Errc::parse, fmt::format("sha2-256 multihash with a {}-byte digest", length->value));
  }
  consumed = header + length->value;
  const auto digest = in.subspan(header, length->value);
  return Multihash{code->value, Bytes(digest.begin(), digest.end())};
}

Result<Multihash> Multihash::decode(ByteView in) {
  std::size_t consumed = 0;
  CAIRN_TRY_ASSIGN(auto mh, decode_prefix(in, consumed));
  if (consumed != in.size()) return fail(Errc::parse, "trailing bytes after multihash");
  return mh;
}

void Multihash::encode_to(Bytes& out) const {
  varint_append(out, code);
  varint_append(out, digest.size());
  append(out, digest);
}

Bytes Multihash::encode() const {
  Bytes out;
  encode_to(out);
  return out;
}

Result<bool> Multihash::matches(ByteView data) const {
  switch (code) {
    case multihash_code::kSha2_256: {
      const auto d = crypto::sha256(data);
      return equal(d, digest);
    }
    case multihash_code::kSha2_512:
      return equal(crypto::hash(crypto::HashAlgorithm::sha2_512, data), digest);
    case multihash_code::kIdentity:
      return equal(data, digest);
    default:
      return fail(Errc::unsupported, fmt::format("multihash function 0x{:x} is not supported", code));
  }
}

Cid Cid::v0(Multihash hash) {
  Cid cid;
  cid.version_ = 0;
  cid.codec_ = codec::kDagPb;
  cid.bytes_ = hash.encode();
  cid.hash_ = std::move(hash);
  return cid;
}

Cid Cid::v1(std::uint64_t codec_code, Multihash hash) {
  Cid cid;
  cid.version_ = 1;
  cid.codec_ = codec_code;
  varint_append(cid.bytes_, 1);
  varint_append(cid.bytes_, codec_code);
  hash.encode_to(cid.bytes_);
  cid.hash_ = std::move(hash);
  return cid;
}

Cid Cid::of(std::uint64_t codec_code, ByteView block) {
  return v1(codec_code, Multihash::sha2_256(block));
}

Result<Cid> Cid::decode_prefix(ByteView in, std::size_t& consumed) {
  // A CIDv0 is a bare sha2-256 multihash: it starts 0x12 0x20, which no CIDv1 does.
  if (in.size() >= 2 && in[0] == std::byte{0x12} && in[1] == std::byte{0x20}) {
    CAIRN_TRY_ASSIGN(auto mh, Multihash::decode_prefix(in, consumed));
    return v0(std::move(mh));
  }
  auto version = varint_decode(in);
  if (!version) return std::unexpected(std::move(version).error().context("CID version"));
  if (version->value != 1) {
    return fail(Errc::parse, fmt::format("CID version {} is not 0 or 1", version->value));
  }
  auto codec_code = varint_decode(in.subspan(version->length));
  if (!codec_code) return std::unexpected(std::move(codec_code).error().context("CID codec"));
  const std::size_t header = version->length + codec_code->length;
  std::size_t mh_length = 0;
  auto mh = Multihash::decode_prefix(in.subspan(header), mh_length);
  if (!mh) return std::unexpected(std::move(mh).error().context("CID multihash"));
  consumed = header + mh_length;
  return v1(codec_code->value, std::move(*mh));
}

Result<Cid> Cid::decode(ByteView bytes) {
  std::size_t consumed = 0;
  CAIRN_TRY_ASSIGN(auto cid, decode_prefix(bytes, consumed));
  if (consumed != bytes.size()) return fail(Errc::parse, "trailing bytes after CID");
  return cid;
}

Result<Cid> Cid::parse(std::string_view text) {
  if (text.empty()) return fail(Errc::parse, "empty CID");
  auto decode_or = [&](Result<Bytes> bytes, std::string_view encoding) -> Result<Cid> {
    if (!bytes) {
      return fail(Errc::parse, fmt::format("'{}' is not a CID: bad {}: {}", text, encoding,
                                           bytes.error().message));
    }
    auto cid = decode(*bytes);
    if (!cid) {
      return fail(Errc::parse, fmt::format("'{}' is not a CID: {}", text, cid.error().message));
    }
    return cid;
  };
  if (text.size() == 46 && text.starts_with("Qm")) {
    return decode_or(base58btc_decode(text), "base58btc");
  }
  switch (text[0]) {
    case 'b':
      for (char c : text.substr(1)) {
        if (c >= 'A' && c <= 'Z') {
          return fail(Errc::parse, fmt::format("'{}' is not a CID: multibase 'b' is lower-case base32", text));
        }
      }
      return decode_or(base32_decode(text.substr(1)), "base32");
    case 'z':
      return decode_or(base58btc_decode(text.substr(1)), "base58btc");
    default:
      return fail(Errc::parse,
                  fmt::format("'{}' is not a CID: unsupported multibase prefix '{}'", text, text[0]));
  }
}

std::string Cid::to_string() const {
  if (!valid()) return "(no CID)";
  if (version_ == 0) return base58btc_encode(bytes_);
  return "b" + base32_encode(bytes_);
}

std::string codec_name(std::uint64_t code) {
  switch (code) {
    case codec::kRaw: return "raw";
    case codec::kDagPb: return "dag-pb";
    case codec::kDagCbor: return "dag-cbor";
    case codec::kDagJson: return "dag-json";
    default: return fmt::format("0x{:x}", code);
  }
}

}  // namespace cairn::store

std::size_t std::hash<cairn::store::Cid>::operator()(const cairn::store::Cid& cid) const noexcept {
  // The last 8 bytes of a CID are digest bytes: already uniformly distributed.
  const auto& b = cid.bytes();
  std::size_t h = 0;
  const std::size_t n = std::min<std::size_t>(b.size(), sizeof h);
  std::memcpy(&h, b.data() + b.size() - n, n);
  return h;
}

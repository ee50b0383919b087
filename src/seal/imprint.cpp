#include "seal/imprint.hpp"

#include <array>

#include "base/encoding.hpp"

namespace cairn::seal {
namespace {

// SHA-1 became deprecated for KSI on 2016-07-01 (it stays verifiable for older signatures).
constexpr std::int64_t kSha1DeprecatedFrom = 1467331200;

constexpr std::array<HashInfo, 9> kHashes{{
    {HashId::sha1, "SHA-1", 20, crypto::HashAlgorithm::sha1, kSha1DeprecatedFrom, 0},
    {HashId::sha2_256, "SHA-256", 32, crypto::HashAlgorithm::sha2_256, 0, 0},
    {HashId::ripemd160, "RIPEMD-160", 20, crypto::HashAlgorithm::ripemd160, 0, 0},
    {HashId::sha2_384, "SHA-384", 48, crypto::HashAlgorithm::sha2_384, 0, 0},
    {HashId::sha2_512, "SHA-512", 64, crypto::HashAlgorithm::sha2_512, 0, 0},
    {HashId::sha3_224, "SHA3-224", 28, crypto::HashAlgorithm::sha3_224, 0, 0},
    {HashId::sha3_256, "SHA3-256", 32, crypto::HashAlgorithm::sha3_256, 0, 0},
    {HashId::sha3_384, "SHA3-384", 48, crypto::HashAlgorithm::sha3_384, 0, 0},
    {HashId::sha3_512, "SHA3-512", 64, crypto::HashAlgorithm::sha3_512, 0, 0},
}};

}  // namespace

const HashInfo* hash_info(std::uint8_t id) {
  for (const auto& info : kHashes) {
    if (static_cast<std::uint8_t>(info.id) == id) return &info;
  }
  return nullptr;
}

std::optional<HashId> hash_id_from_name(std::string_view name) {
  for (const auto& info : kHashes) {
    if (info.name == name) return info.id;
  }
  if (name == "SHA1") return HashId::sha1;
  if (name == "SHA256" || name == "SHA2-256") return HashId::sha2_256;
  if (name == "SHA384") return HashId::sha2_384;
  if (name == "SHA512") return HashId::sha2_512;
  return std::nullopt;
}

bool deprecated_at(std::uint8_t id, std::int64_t time) {
  const HashInfo* info = hash_info(id);
  if (info == nullptr) return false;
  return (info->deprecated_from != 0 && time >= info->deprecated_from) || obsolete_at(id, time);
}

bool obsolete_at(std::uint8_t id, std::int64_t time) {
  const HashInfo* info = hash_info(id);
  return info != nullptr && info->obsolete_from != 0 && time >= info->obsolete_from;
}

Result<Imprint> Imprint::parse(ByteView bytes) {
  if (bytes.empty()) return fail(Errc::parse, "empty imprint");
  const auto id = static_cast<std::uint8_t>(bytes[0]);
  const HashInfo* info = hash_info(id);
  if (info == nullptr) {
    return fail(Errc::parse, "imprint names unknown hash algorithm 0x" + to_hex(bytes.first(1)));
  }
  if (bytes.size() != 1 + info->digest_size) {
    return fail(Errc::parse, std::string(info->name) + " imprint has " +
                                 std::to_string(bytes.size() - 1) + " digest bytes, expected " +
                                 std::to_string(info->digest_size));
  }
  Imprint out;
  out.bytes_.assign(bytes.begin(), bytes.end());
  return out;
}

Result<Imprint> Imprint::from_hex(std::string_view hex) {
  CAIRN_TRY_ASSIGN(Bytes raw, cairn::from_hex(hex));
  return parse(raw);
}

Imprint Imprint::of(HashId id, ByteView digest) {
  Imprint out;
  out.bytes_.reserve(1 + digest.size());
  out.bytes_.push_back(static_cast<std::byte>(id));
  append(out.bytes_, digest);
  return out;
}

std::string Imprint::hex() const {
  return to_hex(bytes_);
}

ImprintHasher::ImprintHasher(HashId id)
    : id_(id), hasher_(hash_info(static_cast<std::uint8_t>(id))->algorithm) {}

Imprint ImprintHasher::finish() {
  const HashInfo* info = hash_info(static_cast<std::uint8_t>(id_));
  std::array<std::byte, 65> buffer{};
  buffer[0] = static_cast<std::byte>(id_);
  hasher_.finish(MutableByteView(buffer.data() + 1, info->digest_size));
  return Imprint::of(id_, ByteView(buffer.data() + 1, info->digest_size));
}

Imprint hash_data(HashId id, ByteView data) {
  ImprintHasher hasher(id);
  hasher.update(data);
  return hasher.finish();
}

Result<HashId> checked_hash_id(std::uint64_t value) {
  if (value > 0xFF || hash_info(static_cast<std::uint8_t>(value)) == nullptr) {
    return fail(Errc::unsupported, "unknown hash algorithm id " + std::to_string(value));
  }
  return static_cast<HashId>(value);
}

}  // namespace cairn::seal

#include "learn/params.hpp"

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "crypto/hash.hpp"

namespace cairn::learn {
namespace {

constexpr std::string_view kMagic = "CRNPARAM";
constexpr std::size_t kDigestBytes = 32;

// A cursor over a ByteView that refuses to read past its end.
class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  std::size_t remaining() const { return data_.size() - offset_; }
  Result<ByteView> take(std::size_t count, std::string_view what) {
    if (count > remaining()) {
      return fail(Errc::parse, fmt::format("truncated {}: need {} bytes at offset {}, have {}",
                                           what, count, offset_, remaining()));
    }
    ByteView out = data_.subspan(offset_, count);
    offset_ += count;
    return out;
  }
  Result<std::uint64_t> be(std::size_t width, std::string_view what) {
    CAIRN_TRY_ASSIGN(auto bytes, take(width, what));
    return read_be(bytes);
  }

 private:
  ByteView data_;
  std::size_t offset_ = 0;
};

}  // namespace

std::int64_t TensorInfo::numel() const {
  std::int64_t count = 1;
  for (auto dim : shape)
    count *= dim;
  return count;
}

std::int64_t ParameterSet::expected_values() const {
  std::int64_t total = 0;
  for (const auto& t : tensors)
    total += t.numel();
  return total;
}

Bytes ParameterSet::layout_digest() const {
  Bytes layout;
  for (const auto& t : tensors) {
    append_be(layout, t.name.size(), 2);
    append(layout, t.name);
    append_be(layout, t.shape.size(), 1);
    for (auto dim : t.shape)
      append_be(layout, static_cast<std::uint64_t>(dim), 8);
  }
  const auto digest = crypto::sha256(layout);
  return Bytes(digest.begin(), digest.end());
}

Bytes encode_parameters(const ParameterSet& params) {
  Bytes out;
  out.reserve(64 + params.values.size() * 4);
  append(out, kMagic);
  append_be(out, kParameterFormatVersion, 2);
  append_be(out, params.model_version, 8);
  append_be(out, params.tensors.size(), 4);
  for (const auto& t : params.tensors) {
    append_be(out, t.name.size(), 2);
    append(out, t.name);
    append_be(out, t.shape.size(), 1);
    for (auto dim : t.shape)
      append_be(out, static_cast<std::uint64_t>(dim), 8);
  }
  append_be(out, params.values.size(), 8);
  const std::size_t start = out.size();
  out.resize(start + params.values.size() * 4);
  for (std::size_t i = 0; i < params.values.size(); ++i) {
    const auto bits = std::bit_cast<std::uint32_t>(params.values[i]);
    for (int b = 0; b < 4; ++b)
      out[start + i * 4 + b] = static_cast<std::byte>(bits >> (8 * b));
  }
  const auto digest = crypto::sha256(out);
  out.insert(out.end(), digest.begin(), digest.end());
  return out;
}

Result<ParameterSet> decode_parameters(ByteView blob) {
  if (blob.size() < kMagic.size() + kDigestBytes) {
    return fail(Errc::parse, fmt::format("parameter blob of {} bytes is too short", blob.size()));
  }
  if (!equal(blob.first(kMagic.size()), as_bytes(kMagic))) {
    return fail(Errc::parse, "not a cairn parameter blob (bad magic)");
  }
  const ByteView body = blob.first(blob.size() - kDigestBytes);
  const auto digest = crypto::sha256(body);
  if (!equal(ByteView(digest), blob.last(kDigestBytes))) {
    return fail(Errc::integrity, "parameter blob checksum mismatch (corrupted or truncated)");
  }
  Reader in(body.subspan(kMagic.size()));
  CAIRN_TRY_ASSIGN(const auto version, in.be(2, "format version"));
  if (version != kParameterFormatVersion) {
    return fail(Errc::unsupported, fmt::format("parameter format version {} (cairn reads {})",
                                               version, kParameterFormatVersion));
  }
  ParameterSet params;
  CAIRN_TRY_ASSIGN(params.model_version, in.be(8, "model version"));
  CAIRN_TRY_ASSIGN(const auto count, in.be(4, "tensor count"));
  if (count > kMaxTensors) {
    return fail(Errc::parse, fmt::format("{} tensors (at most {})", count, kMaxTensors));
  }
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    TensorInfo info;
    CAIRN_TRY_ASSIGN(const auto name_length, in.be(2, "tensor name length"));
    if (name_length == 0 || name_length > kMaxTensorName) {
      return fail(Errc::parse, fmt::format("tensor {} has a name of {} bytes", i, name_length));
    }
    CAIRN_TRY_ASSIGN(const auto name, in.take(name_length, "tensor name"));
    info.name = std::string(as_chars(name));
    CAIRN_TRY_ASSIGN(const auto rank, in.be(1, "tensor rank"));
    if (rank > kMaxRank) {
      return fail(Errc::parse,
                  fmt::format("tensor {} has rank {} (at most {})", info.name, rank, kMaxRank));
    }
    std::uint64_t numel = 1;
    for (std::uint64_t d = 0; d < rank; ++d) {
      CAIRN_TRY_ASSIGN(const auto dim, in.be(8, "tensor dimension"));
      if (dim > kMaxParameterValues || numel * dim > kMaxParameterValues) {
        return fail(Errc::parse, fmt::format("tensor {} is too large", info.name));
      }
      numel *= dim;
      info.shape.push_back(static_cast<std::int64_t>(dim));
    }
    total += numel;
    if (total > kMaxParameterValues) return fail(Errc::parse, "parameter blob is too large");
    params.tensors.push_back(std::move(info));
  }
  CAIRN_TRY_ASSIGN(const auto value_count, in.be(8, "value count"));
  if (value_count != total) {
    return fail(Errc::parse, fmt::format("value count {} does not match the tensor shapes ({})",
                                         value_count, total));
  }
  if (in.remaining() != value_count * 4) {
    return fail(Errc::parse,
                fmt::format("{} bytes of values for {} floats", in.remaining(), value_count));
  }
  CAIRN_TRY_ASSIGN(const auto raw, in.take(value_count * 4, "values"));
  params.values.resize(value_count);
  for (std::size_t i = 0; i < value_count; ++i) {
    std::uint32_t bits = 0;
    for (int b = 0; b < 4; ++b)
      bits |= static_cast<std::uint32_t>(raw[i * 4 + b]) << (8 * b);
    params.values[i] = std::bit_cast<float>(bits);
  }
  return params;
}

Status check_finite(const ParameterSet& params) {
  std::size_t index = 0;
  for (const auto& t : params.tensors) {
    const auto n = static_cast<std::size_t>(t.numel());
    for (std::size_t i = 0; i < n && index + i < params.values.size(); ++i) {
      if (!std::isfinite(params.values[index + i])) {
        return fail(Errc::invalid_argument,
                    fmt::format("tensor {} has a non-finite value at index {}", t.name, i));
      }
    }
    index += n;
  }
  for (; index < params.values.size(); ++index) {
    if (!std::isfinite(params.values[index])) {
      return fail(Errc::invalid_argument, fmt::format("non-finite value at index {}", index));
    }
  }
  return {};
}

}  // namespace cairn::learn

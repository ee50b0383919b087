#include "store/protobuf.hpp"

#include <fmt/format.h>

namespace cairn::store::pb {

Result<std::uint64_t> Reader::varint(std::string_view what) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    if (pos_ + i >= in_.size()) return fail(Errc::parse, fmt::format("{}: truncated varint", what));
    const auto b = static_cast<std::uint8_t>(in_[pos_ + i]);
    if (i == 9 && b > 1)
      return fail(Errc::parse, fmt::format("{}: varint overflows 64 bits", what));
    value |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      if (b == 0 && i > 0) {
        return fail(Errc::parse, fmt::format("{}: varint is not minimally encoded", what));
      }
      pos_ += i + 1;
      return value;
    }
  }
  return fail(Errc::parse, fmt::format("{}: varint longer than 10 bytes", what));
}

Result<Key> Reader::key() {
  CAIRN_TRY_ASSIGN(const auto raw, varint("field key"));
  const auto field = raw >> 3;
  if (field == 0 || field > 0x1fffffff) {
    return fail(Errc::parse, fmt::format("invalid protobuf field number {}", field));
  }
  return Key{static_cast<std::uint32_t>(field), static_cast<WireType>(raw & 7)};
}

Result<ByteView> Reader::length_delimited(std::string_view what) {
  CAIRN_TRY_ASSIGN(const auto length, varint(what));
  if (length > in_.size() - pos_) {
    return fail(Errc::parse, fmt::format("{}: length {} runs past the end ({} bytes left)", what,
                                         length, in_.size() - pos_));
  }
  const auto view = in_.subspan(pos_, static_cast<std::size_t>(length));
  pos_ += static_cast<std::size_t>(length);
  return view;
}

Result<std::uint32_t> Reader::fixed32(std::string_view what) {
  if (in_.size() - pos_ < 4) return fail(Errc::parse, fmt::format("{}: truncated fixed32", what));
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    value |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(in_[pos_ + i])) << (8 * i);
  }
  pos_ += 4;
  return value;
}

std::string wire_type_name(std::uint8_t wire) {
  switch (wire) {
    case kVarint:
      return "wire type 0 (varint)";
    case kFixed64:
      return "wire type 1 (64-bit)";
    case kLengthDelimited:
      return "wire type 2 (length-delimited)";
    case 3:
      return "wire type 3 (start group)";
    case 4:
      return "wire type 4 (end group)";
    case kFixed32:
      return "wire type 5 (32-bit)";
    default:
      return fmt::format("invalid wire type {}", wire);
  }
}

}  // namespace cairn::store::pb

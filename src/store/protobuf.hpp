#pragma once
// The few protobuf wire-format pieces dag-pb and UnixFS need, strict: varints must be
// minimal and fit 64 bits, lengths must stay inside the input. Internal to store.

#include <cstdint>
#include <string>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::store::pb {

enum WireType : std::uint8_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

inline void append_varint(Bytes& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::byte>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::byte>(value));
}

inline std::size_t varint_size(std::uint64_t value) {
  std::size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

inline void append_key(Bytes& out, std::uint32_t field, WireType wire) {
  append_varint(out, (static_cast<std::uint64_t>(field) << 3) | wire);
}

inline void append_bytes_field(Bytes& out, std::uint32_t field, ByteView bytes) {
  append_key(out, field, kLengthDelimited);
  append_varint(out, bytes.size());
  append(out, bytes);
}

inline std::size_t bytes_field_size(std::uint32_t field, std::size_t length) {
  return varint_size(field << 3) + varint_size(length) + length;
}

struct Key {
  std::uint32_t field;
  WireType wire;
};

// Reads fields from a message; every method fails rather than read past the input.
class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}
  bool done() const { return pos_ == in_.size(); }
  std::size_t position() const { return pos_; }

  Result<std::uint64_t> varint(std::string_view what);
  Result<Key> key();
  Result<ByteView> length_delimited(std::string_view what);
  Result<std::uint32_t> fixed32(std::string_view what);

 private:
  ByteView in_;
  std::size_t pos_ = 0;
};

// "wire type 0 (varint)" for messages.
std::string wire_type_name(std::uint8_t wire);

}  // namespace cairn::store::pb

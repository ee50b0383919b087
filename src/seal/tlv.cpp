#include "seal/tlv.hpp"

#include <fmt/format.h>

namespace cairn::seal {

Result<TlvElement> read_tlv(ByteView input, std::size_t& offset) {
  if (offset >= input.size()) return fail(Errc::parse, "TLV: no element header");
  const std::size_t start = offset;
  const auto first = static_cast<std::uint8_t>(input[offset]);
  TlvElement element;
  element.tlv16 = (first & 0x80) != 0;
  element.non_critical = (first & 0x40) != 0;
  element.forward = (first & 0x20) != 0;
  std::size_t length = 0;
  std::size_t header = 0;
  if (element.tlv16) {
    if (input.size() - offset < 4) return fail(Errc::parse, "TLV: truncated 16-bit header");
    element.tag = static_cast<std::uint16_t>(((first & 0x1F) << 8) |
                                             static_cast<std::uint8_t>(input[offset + 1]));
    length = (static_cast<std::size_t>(static_cast<std::uint8_t>(input[offset + 2])) << 8) |
             static_cast<std::uint8_t>(input[offset + 3]);
    header = 4;
  } else {
    if (input.size() - offset < 2) return fail(Errc::parse, "TLV: truncated 8-bit header");
    element.tag = static_cast<std::uint16_t>(first & 0x1F);
    length = static_cast<std::uint8_t>(input[offset + 1]);
    header = 2;
  }
  if (input.size() - offset - header < length) {
    return fail(Errc::parse, fmt::format("TLV 0x{:x}: value of {} bytes runs past the end "
                                         "({} bytes left)",
                                         element.tag, length, input.size() - offset - header));
  }
  element.value = input.subspan(offset + header, length);
  element.raw = input.subspan(start, header + length);
  offset += header + length;
  return element;
}

Result<TlvElement> read_single_tlv(ByteView input) {
  std::size_t offset = 0;
  CAIRN_TRY_ASSIGN(TlvElement element, read_tlv(input, offset));
  if (offset != input.size()) {
    return fail(Errc::parse, fmt::format("TLV 0x{:x}: {} trailing bytes after the element",
                                         element.tag, input.size() - offset));
  }
  return element;
}

Result<std::vector<TlvElement>> read_children(ByteView value) {
  std::vector<TlvElement> children;
  std::size_t offset = 0;
  while (offset < value.size()) {
    CAIRN_TRY_ASSIGN(TlvElement child, read_tlv(value, offset));
    children.push_back(child);
  }
  return children;
}

Result<std::uint64_t> tlv_uint(const TlvElement& element) {
  if (element.value.size() > 8) {
    return fail(Errc::parse, fmt::format("TLV 0x{:x}: integer of {} bytes (at most 8)", element.tag,
                                         element.value.size()));
  }
  return read_be(element.value);
}

Result<std::string> tlv_utf8(const TlvElement& element) {
  if (element.value.empty() || element.value.back() != std::byte{0}) {
    return fail(Errc::parse,
                fmt::format("TLV 0x{:x}: string without its terminating zero byte", element.tag));
  }
  const auto text = as_chars(element.value.first(element.value.size() - 1));
  if (text.find('\0') != std::string_view::npos) {
    return fail(Errc::parse,
                fmt::format("TLV 0x{:x}: string with an embedded zero byte", element.tag));
  }
  return std::string(text);
}

void write_tlv(Bytes& out, std::uint16_t tag, ByteView value, bool non_critical, bool forward) {
  std::uint8_t flags = (non_critical ? 0x40 : 0) | (forward ? 0x20 : 0);
  if (tag < 0x20 && value.size() < 0x100) {
    out.push_back(static_cast<std::byte>(flags | tag));
    out.push_back(static_cast<std::byte>(value.size()));
  } else {
    out.push_back(static_cast<std::byte>(0x80 | flags | ((tag >> 8) & 0x1F)));
    out.push_back(static_cast<std::byte>(tag & 0xFF));
    out.push_back(static_cast<std::byte>((value.size() >> 8) & 0xFF));
    out.push_back(static_cast<std::byte>(value.size() & 0xFF));
  }
  append(out, value);
}

Bytes uint_bytes(std::uint64_t value) {
  Bytes bytes;
  std::size_t width = 0;
  for (std::uint64_t v = value; v != 0; v >>= 8)
    ++width;
  append_be(bytes, value, width);
  return bytes;
}

void write_uint(Bytes& out, std::uint16_t tag, std::uint64_t value) {
  write_tlv(out, tag, uint_bytes(value));
}

void write_utf8(Bytes& out, std::uint16_t tag, std::string_view text) {
  Bytes value = to_bytes(text);
  value.push_back(std::byte{0});
  write_tlv(out, tag, value);
}

Status skip_unknown(const TlvElement& element, std::string_view where) {
  if (element.non_critical) return {};
  return fail(Errc::parse, fmt::format("{}: unknown critical element 0x{:x}", where, element.tag));
}

}  // namespace cairn::seal

#pragma once
// KSI's type-length-value encoding. An element starts with a header byte:
//   bit 7 (0x80) TLV16: 13-bit type and 16-bit length follow, else 5-bit type, 8-bit length;
//   bit 6 (0x40) non-critical: a reader that does not know the type may skip it;
//   bit 5 (0x20) forward: a reader that does not know it should pass it on unchanged.
// Every read is bounds-checked against the view it is given; values are views into it.

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::seal {

struct TlvElement {
  std::uint16_t tag = 0;
  bool non_critical = false;
  bool forward = false;
  bool tlv16 = false;
  ByteView value;  // the element's content
  ByteView raw;    // header and content
};

inline constexpr std::size_t kMaxTlvNesting = 16;

// Reads one element starting at `offset` and advances it past the element.
Result<TlvElement> read_tlv(ByteView input, std::size_t& offset);
// Reads exactly one element that spans all of `input`.
Result<TlvElement> read_single_tlv(ByteView input);
// Splits an element's content into its child elements (all of it must be elements).
Result<std::vector<TlvElement>> read_children(ByteView value);

// Unsigned integers: big-endian, at most 8 bytes (an empty value is 0).
Result<std::uint64_t> tlv_uint(const TlvElement& element);
// UTF-8 strings carry a terminating zero byte in KSI.
Result<std::string> tlv_utf8(const TlvElement& element);

void write_tlv(Bytes& out, std::uint16_t tag, ByteView value, bool non_critical = false,
               bool forward = false);
void write_uint(Bytes& out, std::uint16_t tag, std::uint64_t value);
void write_utf8(Bytes& out, std::uint16_t tag, std::string_view text);
Bytes uint_bytes(std::uint64_t value);

// Checks the structural rule for an element a parser does not know: non-critical ones
// are skipped, critical ones make the whole structure unusable.
Status skip_unknown(const TlvElement& element, std::string_view where);

}  // namespace cairn::seal

namespace cairn::seal {
// Moves a result's value into an existing variable; usable where CAIRN_TRY_ASSIGN is not
// (a case label or an unbraced if).
template <class T, class U>
Status assign_to(T& target, Result<U> result) {
  if (!result) return std::unexpected(std::move(result).error());
  target = std::move(*result);
  return {};
}
}  // namespace cairn::seal

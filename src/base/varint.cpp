#include "base/varint.hpp"

#include <fmt/format.h>

namespace cairn {

void varint_append(Bytes& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::byte>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::byte>(value));
}

std::size_t varint_size(std::uint64_t value) {
  std::size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

Result<Varint> varint_decode(ByteView in) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < in.size() && i < kMaxVarintBytes; ++i) {
    const auto b = static_cast<std::uint8_t>(in[i]);
    value |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      if (b == 0 && i > 0) return fail(Errc::parse, "varint is not minimally encoded");
      return Varint{value, i + 1};
    }
  }
  if (in.size() >= kMaxVarintBytes) {
    return fail(Errc::parse, fmt::format("varint longer than {} bytes", kMaxVarintBytes));
  }
  return fail(Errc::parse, "truncated varint");
}

}  // namespace cairn

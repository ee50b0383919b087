#pragma once
// Owned bytes and read-only views. Parsers take ByteView (std::span<const std::byte>)
// and never read past it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cairn {

using Bytes = std::vector<std::byte>;
using ByteView = std::span<const std::byte>;
using MutableByteView = std::span<std::byte>;

template <std::size_t N>
using ByteArray = std::array<std::byte, N>;

inline ByteView as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}
inline ByteView as_bytes(const Bytes& bytes) { return {bytes.data(), bytes.size()}; }

inline std::string_view as_chars(ByteView bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

inline Bytes to_bytes(std::string_view text) {
  const auto view = as_bytes(text);
  return {view.begin(), view.end()};
}
inline Bytes to_bytes(ByteView view) { return {view.begin(), view.end()}; }

inline void append(Bytes& out, ByteView more) { out.insert(out.end(), more.begin(), more.end()); }
inline void append(Bytes& out, std::string_view more) { append(out, as_bytes(more)); }

inline bool equal(ByteView a, ByteView b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// Comparison that takes the same time whatever the contents (for secrets and MACs).
bool constant_time_equal(ByteView a, ByteView b);

// Big-endian fixed-width integers, the byte order of every wire format cairn speaks.
inline void append_be(Bytes& out, std::uint64_t value, std::size_t width) {
  for (std::size_t i = width; i-- > 0;) out.push_back(static_cast<std::byte>(value >> (8 * i)));
}
inline std::uint64_t read_be(ByteView in) {
  std::uint64_t value = 0;
  for (std::byte b : in) value = (value << 8) | static_cast<std::uint8_t>(b);
  return value;
}

}  // namespace cairn

#include "base/encoding.hpp"

#include <array>
#include <fmt/format.h>

namespace cairn {
namespace {

constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::string_view kBase32Lower = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::string_view kBase32Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kBase58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int base32_value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

constexpr std::array<std::int8_t, 128> make_base58_table() {
  std::array<std::int8_t, 128> table{};
  for (auto& v : table) v = -1;
  for (std::size_t i = 0; i < kBase58.size(); ++i) {
    table[static_cast<std::size_t>(kBase58[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}
constexpr auto kBase58Table = make_base58_table();

}  // namespace

std::string to_hex(ByteView bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::byte b : bytes) {
    const auto v = static_cast<std::uint8_t>(b);
    out.push_back(kHexDigits[v >> 4]);
    out.push_back(kHexDigits[v & 0x0f]);
  }
  return out;
}

Result<Bytes> from_hex(std::string_view text, bool allow_0x) {
  if (allow_0x && text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  }
  if (text.size() % 2 != 0) {
    return fail(Errc::parse, fmt::format("hex text has an odd number of digits ({})", text.size()));
  }
  Bytes out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(text[2 * i]);
    const int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return fail(Errc::parse, fmt::format("not a hex digit at position {}", hi < 0 ? 2 * i : 2 * i + 1));
    }
    out[i] = static_cast<std::byte>((hi << 4) | lo);
  }
  return out;
}

std::string base32_encode(ByteView bytes, Base32Case letter_case) {
  const auto alphabet = letter_case == Base32Case::lower ? kBase32Lower : kBase32Upper;
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::byte b : bytes) {
    buffer = (buffer << 8) | static_cast<std::uint8_t>(b);
    bits += 8;
    while (bits >= 5) {
      out.push_back(alphabet[(buffer >> (bits - 5)) & 0x1f]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (5 - bits)) & 0x1f]);
  return out;
}

Result<Bytes> base32_decode(std::string_view text) {
  Bytes out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int v = base32_value(text[i]);
    if (v < 0) {
      return fail(Errc::parse, fmt::format("not a base32 character at position {}", i));
    }
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::byte>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  // Leftover bits must be fewer than a byte's worth and all zero, or the text is not the
  // encoding of any byte string (and two texts would name the same bytes).
  if (bits >= 5 || (buffer & ((1u << bits) - 1)) != 0) {
    return fail(Errc::parse, "base32 text has a non-canonical ending");
  }
  return out;
}

std::string base58btc_encode(ByteView bytes) {
  std::size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == std::byte{0}) ++zeros;
  // Base-58 digits, little-endian, by repeated multiply-add over the input bytes.
  std::vector<std::uint8_t> digits;
  digits.reserve(bytes.size() * 138 / 100 + 1);
  for (std::size_t i = zeros; i < bytes.size(); ++i) {
    std::uint32_t carry = static_cast<std::uint8_t>(bytes[i]);
    for (auto& d : digits) {
      carry += static_cast<std::uint32_t>(d) << 8;
      d = static_cast<std::uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry > 0) {
      digits.push_back(static_cast<std::uint8_t>(carry % 58));
      carry /= 58;
    }
  }
  std::string out(zeros, '1');
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(kBase58[*it]);
  return out;
}

Result<Bytes> base58btc_decode(std::string_view text) {
  std::size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == '1') ++zeros;
  std::vector<std::uint8_t> bytes;  // little-endian
  bytes.reserve(text.size() * 733 / 1000 + 1);
  for (std::size_t i = zeros; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const int v = c < 128 ? kBase58Table[c] : -1;
    if (v < 0) return fail(Errc::parse, fmt::format("not a base58 character at position {}", i));
    std::uint32_t carry = static_cast<std::uint32_t>(v);
    for (auto& b : bytes) {
      carry += static_cast<std::uint32_t>(b) * 58;
      b = static_cast<std::uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push_back(static_cast<std::uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  Bytes out(zeros, std::byte{0});
  for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) out.push_back(static_cast<std::byte>(*it));
  return out;
}

}  // namespace cairn

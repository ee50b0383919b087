#pragma once
// Text encodings of bytes: hex, base32 (RFC 4648), base58btc (Bitcoin's alphabet).

#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn {

// Lower-case hex, no prefix.
std::string to_hex(ByteView bytes);
// Accepts upper or lower case; with `allow_0x`, an optional leading "0x"/"0X".
Result<Bytes> from_hex(std::string_view text, bool allow_0x = false);

enum class Base32Case { lower, upper };
// RFC 4648 base32 without padding (multibase 'b' uses lower case).
std::string base32_encode(ByteView bytes, Base32Case letter_case = Base32Case::lower);
// Accepts either case and no padding; rejects non-canonical trailing bits.
Result<Bytes> base32_decode(std::string_view text);

std::string base58btc_encode(ByteView bytes);
Result<Bytes> base58btc_decode(std::string_view text);

}  // namespace cairn

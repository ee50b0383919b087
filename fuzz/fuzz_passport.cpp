// Model passports (market/passport.hpp): the strict parser never reads past the input and
// refuses what is malformed; whatever parses serializes to JSON that parses back to the
// same passport (the same bytes again). The verifier is not linked here: it carries the
// chain's RPC client, whose HTTP library Debian builds against libstdc++ only, and the fuzz
// build uses libc++ (tests/market's property test covers the verifier on altered fields).
#include <cstdlib>

#include "market/passport.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  const auto passport = cairn::market::parse_passport(input);
  if (!passport) return 0;
  const std::string text = cairn::market::serialize_passport(*passport);
  const auto again = cairn::market::parse_passport(cairn::as_bytes(text));
  if (!again) std::abort();
  if (cairn::market::serialize_passport(*again) != text) std::abort();
  return 0;
}

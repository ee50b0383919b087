// Model passports (market/passport.hpp): the strict parser never reads past the input and
// refuses what is malformed; whatever parses serializes to JSON that parses back to the
// same passport (the same bytes again), and the offline verifier runs on it to the end
// without crashing (it must fail closed, never trust a field it could not check).
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
  const auto report = cairn::market::verify_passport("/nonexistent/model.pt", *passport);
  // The model file is missing, so the passport can never verify.
  if (report.ok()) std::abort();
  return 0;
}

// libFuzzer target: the cairn parameter blob (learn/params.hpp). Anything that decodes must
// re-encode to the same bytes.
#include <cstdlib>

#include "learn/params.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  const auto params = cairn::learn::decode_parameters(input);
  if (!params) return 0;
  const auto again = cairn::learn::encode_parameters(*params);
  if (!cairn::equal(again, input)) std::abort();
  (void)cairn::learn::check_finite(*params);
  (void)params->layout_digest();
  return 0;
}

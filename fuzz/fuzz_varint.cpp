// Unsigned varints: decoding never reads past the input, and whatever decodes re-encodes
// to exactly the bytes it was read from (the encoding is canonical).
#include <cstdlib>

#include "base/varint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  const auto decoded = cairn::varint_decode(input);
  if (!decoded) return 0;
  cairn::Bytes again;
  cairn::varint_append(again, decoded->value);
  if (!cairn::equal(again, input.first(decoded->length))) std::abort();
  return 0;
}

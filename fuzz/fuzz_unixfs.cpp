// UnixFS Data: decoding never reads past the input, and whatever decodes (fields in
// order, none repeated, minimal varints) re-encodes to exactly the input.
#include <cstdlib>

#include "store/unixfs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  const auto decoded = cairn::store::unixfs::decode(input);
  if (!decoded) return 0;
  if (!cairn::equal(cairn::store::unixfs::encode(*decoded), input)) std::abort();
  return 0;
}

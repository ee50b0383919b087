// CIDs, binary and text: parsing never reads past the input; whatever decodes re-encodes
// to exactly the input bytes (binary CIDs have one form), and a parsed text CID prints to
// a string that parses back to the same CID.
#include <cstdlib>

#include "store/cid.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using cairn::store::Cid;
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  if (const auto cid = Cid::decode(input)) {
    if (!cairn::equal(cid->bytes(), input)) std::abort();
    const auto again = Cid::parse(cid->to_string());
    if (!again || *again != *cid) std::abort();
  }
  if (const auto parsed = Cid::parse(cairn::as_chars(input))) {
    const auto again = Cid::parse(parsed->to_string());
    if (!again || *again != *parsed) std::abort();
    if (!Cid::decode(parsed->bytes())) std::abort();
  }
  return 0;
}

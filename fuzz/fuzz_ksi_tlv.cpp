// KSI TLV: any input is either refused or split into elements whose views lie inside it;
// nested values are walked to a bounded depth without reading outside the input.
#include <cstdlib>

#include "seal/tlv.hpp"

namespace {

void walk(cairn::ByteView input, std::size_t depth) {
  if (depth > cairn::seal::kMaxTlvNesting) return;
  std::size_t offset = 0;
  while (offset < input.size()) {
    const std::size_t before = offset;
    auto element = cairn::seal::read_tlv(input, offset);
    if (!element) return;
    if (offset <= before || offset > input.size()) std::abort();
    if (element->raw.data() != input.data() + before || element->raw.size() != offset - before) {
      std::abort();
    }
    if (element->value.data() + element->value.size() != input.data() + offset) std::abort();
    (void)cairn::seal::tlv_uint(*element);
    (void)cairn::seal::tlv_utf8(*element);
    walk(element->value, depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  walk(input, 0);
  if (auto single = cairn::seal::read_single_tlv(input); single) {
    cairn::Bytes again;
    cairn::seal::write_tlv(again, single->tag, single->value, single->non_critical,
                           single->forward);
    auto reread = cairn::seal::read_single_tlv(again);
    if (!reread || reread->tag != single->tag || !cairn::equal(reread->value, single->value)) {
      std::abort();
    }
  }
  return 0;
}

// CARv1 parsing: parse_car never reads past its input; whatever it accepts re-encodes
// (header and sections) to exactly the bytes it was read from, every accepted block
// matches its CID, and the streaming reader agrees with the in-memory parser.
#include <cstdlib>
#include <cstring>

#include "store/car.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  const auto parsed = cairn::store::parse_car(input);

  std::size_t at = 0;
  auto reader = cairn::store::CarReader::open(
      [&](cairn::MutableByteView buffer) -> cairn::Result<std::size_t> {
        const std::size_t n = std::min(buffer.size(), size - at);
        if (n > 0) std::memcpy(buffer.data(), data + at, n);
        at += n;
        return n;
      });
  std::size_t streamed = 0;
  bool stream_ok = static_cast<bool>(reader);
  while (stream_ok) {
    auto block = (*reader)->next();
    if (!block) {
      stream_ok = false;
      break;
    }
    if (!*block) break;
    if (parsed && (streamed >= parsed->sections.size() ||
                   !((*block)->cid == parsed->sections[streamed].cid) ||
                   !cairn::equal((*block)->block, parsed->sections[streamed].block))) {
      std::abort();
    }
    ++streamed;
  }
  if (static_cast<bool>(parsed) != stream_ok) std::abort();
  if (!parsed) return 0;
  if (streamed != parsed->sections.size()) std::abort();

  // The header may list its keys in either order, so only the sections must re-encode
  // to the very bytes they came from.
  std::size_t header_size = 0;
  if (!cairn::store::decode_car_header(input, header_size)) std::abort();
  cairn::Bytes sections;
  for (const auto& section : parsed->sections) {
    if (!section.cid.matches(section.block).value_or(false)) std::abort();
    cairn::store::append_car_section(sections, section.cid, section.block);
  }
  if (!cairn::equal(sections, input.subspan(header_size))) std::abort();
  return 0;
}

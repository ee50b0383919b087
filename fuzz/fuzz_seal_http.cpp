// The signing service's HTTP bodies: what its server parses from a request (an imprint, a
// batch of imprints, query numbers) and what its client parses from an answer (a
// signature, a batch of signatures, an extend response, the publish JSON). The first byte
// picks the parser; whatever the rest, an answer or an error with a message.
#include <cstddef>
#include <cstdint>
#include <string>

#include "seal/http_codec.hpp"

namespace {

template <typename T>
void check(const cairn::Result<T>& result) {
  if (!result && result.error().message.empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cairn;
  using namespace cairn::seal;
  if (size == 0) return 0;
  const ByteView input(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  const std::string text(as_chars(input));
  static const Imprint expected = Imprint::of(HashId::sha2_256, Bytes(32, std::byte{0x11}));
  switch (data[0] % 7) {
    case 0: {
      const auto imprint = parse_sign_body(input);
      check(imprint);
      if (imprint && imprint->bytes().size() != input.size()) __builtin_trap();
      break;
    }
    case 1: {
      const auto imprints = parse_sign_batch_body(input);
      check(imprints);
      if (imprints) {
        std::size_t total = 0;
        for (const auto& imprint : *imprints)
          total += imprint.bytes().size();
        if (total != input.size() || imprints->empty() ||
            imprints->size() > kMaxSignBatchImprints) {
          __builtin_trap();
        }
      }
      break;
    }
    case 2: {
      const auto level = parse_level(text);
      check(level);
      if (level && *level > 253) __builtin_trap();
      if (const auto number = parse_decimal(text); number && text.size() > 19) __builtin_trap();
      break;
    }
    case 3:
      check(parse_sign_answer(input, expected));
      break;
    case 4: {
      const std::vector<Imprint> batch(1 + (size % 3), expected);
      const auto signatures = parse_sign_batch_answer(input, batch);
      check(signatures);
      if (signatures && signatures->size() != batch.size()) __builtin_trap();
      break;
    }
    case 5:
      check(parse_extend_answer(input));
      break;
    default:
      check(parse_publish_answer(text));
      break;
  }
  return 0;
}

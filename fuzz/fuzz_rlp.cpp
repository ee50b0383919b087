// RLP: decoding never reads past the input, whatever decodes re-encodes to exactly the
// same bytes (the decoder accepts only canonical encodings), and signed-transaction
// decoding (RLP plus signature recovery) rejects garbage without crashing.
#include <cstdlib>

#include "chain/rlp.hpp"
#include "chain/transaction.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  if (const auto item = cairn::chain::rlp::decode(input)) {
    if (!cairn::equal(cairn::chain::rlp::encode(*item), input)) std::abort();
  }
  if (const auto tx = cairn::chain::decode_signed_transaction(input)) {
    // A transaction that decodes was read from exactly the whole input.
    if (tx->raw.size() != size) std::abort();
  }
  return 0;
}

// Keystore v3 JSON as geth, MetaMask or anyone else wrote it: reading its address never
// crashes or throws, whatever the text. (Decryption is left out: its key derivation is
// slow by design, up to a second of scrypt within the caps keystore.cpp enforces.)
#include <string_view>

#include "chain/keystore.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)cairn::chain::keystore_address(text);
  return 0;
}

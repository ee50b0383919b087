#include "crypto/random.hpp"

#include <sodium.h>

#include "crypto/sodium.hpp"

namespace cairn::crypto {

void random_fill(MutableByteView out) {
  ensure_sodium();
  randombytes_buf(out.data(), out.size());
}

Bytes random_bytes(std::size_t count) {
  Bytes out(count);
  random_fill(out);
  return out;
}

}  // namespace cairn::crypto

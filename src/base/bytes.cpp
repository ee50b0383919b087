#include "base/bytes.hpp"

namespace cairn {

bool constant_time_equal(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  volatile std::uint8_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = diff | static_cast<std::uint8_t>(a[i] ^ b[i]);
  }
  return diff == 0;
}

}  // namespace cairn

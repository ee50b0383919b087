// Local state files a crash, a full disk or another hand may have left damaged, read back
// as at a restart; the first input byte chooses which:
//   0  a data provider's offer state (data_provider/offer.json)
//   1  a data provider's delegation state (data_provider/delegation.json)
//   2  the signing service's hash calendar (calendar/calendar.dat): a torn last record is
//      cut, damage anywhere else is refused, never a crash
// Whatever a state parser accepts, its writer writes back into the same state.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "market/artifacts.hpp"
#include "seal/calendar.hpp"

namespace {

const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    char pattern[] = "/tmp/fuzz-local-state-XXXXXX";
    return std::filesystem::path(::mkdtemp(pattern));
  }();
  return dir;
}

void offer(cairn::ByteView input) {
  const auto state = cairn::market::parse_offer_state(input);
  if (!state) return;
  const std::string again = cairn::market::offer_state_to_json(*state).dump();
  const auto reparsed = cairn::market::parse_offer_state(cairn::as_bytes(again));
  if (!reparsed || reparsed->manifest != state->manifest ||
      reparsed->data_sha256 != state->data_sha256 || reparsed->signature != state->signature) {
    std::abort();
  }
}

void delegation(cairn::ByteView input) {
  const auto state = cairn::market::parse_delegation_state(input);
  if (!state) return;
  const std::string again = cairn::market::delegation_state_to_json(*state).dump();
  const auto reparsed = cairn::market::parse_delegation_state(cairn::as_bytes(again));
  if (!reparsed || reparsed->compute_provider != state->compute_provider ||
      reparsed->wrapped_key != state->wrapped_key || reparsed->deal != state->deal) {
    std::abort();
  }
}

void calendar(cairn::ByteView input) {
  {
    std::ofstream out(scratch() / "calendar.dat", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(input.data()),
              static_cast<std::streamsize>(input.size()));
  }
  auto opened = cairn::seal::Calendar::open(scratch());
  if (opened) (void)(*opened)->leaf_count();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      offer(input);
      break;
    case 1:
      delegation(input);
      break;
    default:
      calendar(input);
      break;
  }
  return 0;
}

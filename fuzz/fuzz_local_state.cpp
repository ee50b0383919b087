// Local state files a crash, a full disk or another hand may have left damaged, read back
// as at a restart; the first input byte chooses which:
//   0  a data provider's offer state (data_provider/offer.json)
//   1  a data provider's delegation state (data_provider/delegation.json)
//   2  the signing service's hash calendar (calendar/calendar.dat): a torn last record is
//      cut, damage anywhere else is refused, never a crash
//   3  the signing service's publications list (publications.tlv): the same rule
//   4  a transaction journal entry (chain/journal/<hash>.journal), both line formats
// Whatever a state parser accepts, its writer writes back into the same state.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/encoding.hpp"
#include "chain/sender.hpp"
#include "market/artifacts.hpp"
#include "seal/calendar.hpp"
#include "seal/service.hpp"

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

void publications(cairn::ByteView input) {
  const auto list = cairn::seal::parse_publications_list(input);
  if (!list) return;
  if (list->intact_bytes > input.size()) std::abort();
  // The intact prefix alone reads back as the same records, with nothing torn.
  const auto again = cairn::seal::parse_publications_list(input.first(list->intact_bytes));
  if (!again || again->records.size() != list->records.size() ||
      again->intact_bytes != list->intact_bytes) {
    std::abort();
  }
}

void journal(cairn::ByteView input, bool legacy) {
  const auto versions = cairn::chain::parse_transaction_journal(input, legacy, "fuzz");
  if (!versions) return;
  // Each version, written back in the current line format, reads back as the same
  // transaction.
  std::string lines;
  for (const auto& version : *versions)
    lines += "{\"raw\":\"" + cairn::to_hex(version.raw) + "\"}\n";
  const auto reread =
      cairn::chain::parse_transaction_journal(cairn::as_bytes(lines), false, "fuzz");
  if (!reread || reread->size() != versions->size()) std::abort();
  for (std::size_t i = 0; i < versions->size(); ++i) {
    if ((*reread)[i].hash != (*versions)[i].hash) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  switch (data[0] % 6) {
    case 0:
      offer(input);
      break;
    case 1:
      delegation(input);
      break;
    case 2:
      calendar(input);
      break;
    case 3:
      publications(input);
      break;
    default:
      journal(input, data[0] % 6 == 5);
      break;
  }
  return 0;
}

// KSI publications files, extender responses and publication strings: refused with an
// error or parsed, never read out of bounds; the PKCS#7 check runs on whatever parses.
#include <cstdlib>
#include <string_view>

#include "seal/publication.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data), size);
  if (auto file = cairn::seal::PublicationsFile::parse(input); file) {
    (void)cairn::seal::verify_publications_file(*file, {});
    for (const auto& record : file->certificates)
      (void)cairn::seal::certificate_info(record.der);
    (void)file->first_publication_after(0);
  }
  if (auto response = cairn::seal::parse_extend_response(input); response) {
    const cairn::Bytes again = cairn::seal::build_extend_response(*response);
    if (!cairn::seal::parse_extend_response(again)) std::abort();
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto publication = cairn::seal::decode_publication_string(text); publication) {
    auto round_trip = cairn::seal::decode_publication_string(
        cairn::seal::encode_publication_string(*publication));
    if (!round_trip || !(*round_trip == *publication)) std::abort();
  }
  return 0;
}

// libFuzzer target: dataset readers. The first byte picks IDX, gzip, or CSV with a schema
// (schema text, a blank line, then the CSV).
#include <string_view>

#include "learn/dataset.hpp"
#include "learn/quality.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const cairn::ByteView input(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      (void)cairn::learn::parse_idx(input);
      break;
    case 1:
      (void)cairn::learn::gunzip(input, 1 << 20);
      break;
    case 2: {
      const auto text = cairn::as_chars(input);
      const auto split = text.find("\n\n");
      if (split == std::string_view::npos) {
        (void)cairn::learn::parse_csv_rows(text);
        break;
      }
      const auto schema = cairn::learn::parse_csv_schema(text.substr(0, split));
      if (!schema) break;
      const auto csv = cairn::learn::read_csv(text.substr(split + 2), *schema);
      if (csv) (void)cairn::learn::quality_report(*csv, schema->columns.size());
      break;
    }
  }
  return 0;
}

#pragma once
// Labelled datasets held in memory as float features and integer labels, and the readers
// that produce them: IDX (the MNIST family's format, optionally gzip-compressed) and CSV
// with a schema naming each column's type and the label column.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::learn {

struct Dataset {
  std::vector<std::int64_t> feature_shape;  // per example, e.g. {1, 28, 28} or {columns}
  std::vector<float> features;              // rows x feature_size, row-major
  std::vector<std::int64_t> labels;         // one per row, in [0, num_classes)
  std::int64_t num_classes = 0;
  std::vector<std::string> class_names;  // optional, e.g. CSV label values

  [[nodiscard]] std::size_t rows() const { return labels.size(); }
  [[nodiscard]] std::size_t feature_size() const;
  // The rows at `indices`, in that order.
  [[nodiscard]] Dataset subset(const std::vector<std::size_t>& indices) const;
  // The first `count` rows (all of them when count >= rows()).
  [[nodiscard]] Dataset head(std::size_t count) const;
};

// ---- IDX ----
// An IDX file: magic (0, 0, type, rank), rank big-endian u32 dimensions, then the data.
// cairn reads unsigned-byte data (type 0x08), which is what the MNIST family uses.
struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;
};
[[nodiscard]] Result<IdxArray> parse_idx(ByteView bytes);
// Inflates gzip data (with a limit on the output size, against decompression bombs).
[[nodiscard]] Result<Bytes> gunzip(ByteView compressed,
                                   std::size_t max_output = std::size_t{1} << 31);
// Reads a file, inflating it when it starts with the gzip magic.
[[nodiscard]] Result<Bytes> read_maybe_gzip(const std::filesystem::path& path);
// Images (N x H x W, scaled to [0, 1]) and labels (N) into a dataset of shape {1, H, W}.
[[nodiscard]] Result<Dataset> dataset_from_idx(const IdxArray& images, const IdxArray& labels);
// The inverse, for handing a provider its shard as files: images of shape {1, H, W} with
// values in [0, 1] become an N x H x W unsigned-byte IDX file (pixel = round(value * 255),
// values outside [0, 1] clamped), labels an N-entry IDX file. Labels must lie in [0, 255].
// Fashion-MNIST read by dataset_from_idx and written back gives the original bytes.
[[nodiscard]] Result<Bytes> encode_idx_images(const Dataset& data);
[[nodiscard]] Result<Bytes> encode_idx_labels(const Dataset& data);

// Fashion-MNIST as Debian installs it: <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
inline const std::filesystem::path kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
struct TrainTest {
  Dataset train;
  Dataset test;
};
[[nodiscard]] Result<TrainTest> load_fashion_mnist(
    const std::filesystem::path& dir = kFashionMnistDir);

// ---- CSV ----
enum class ColumnType { number, category, label, ignore };
struct ColumnSchema {
  std::string name;
  ColumnType type = ColumnType::number;
  // Allowed values of a category/label column; a label column's order fixes class ids.
  std::vector<std::string> categories;
};
struct CsvSchema {
  std::vector<ColumnSchema> columns;
  bool has_header = true;
  char delimiter = ',';
};
// Schema text, one column per line: "name:number", "name:category:a|b|c",
// "name:label:a|b|c" (exactly one label column), "name:ignore". '#' starts a comment.
[[nodiscard]] Result<CsvSchema> parse_csv_schema(std::string_view text);

// RFC 4180 fields (quotes, doubled quotes, CRLF), no row longer than 1 MiB.
[[nodiscard]] Result<std::vector<std::vector<std::string>>> parse_csv_rows(std::string_view text,
                                                                           char delimiter = ',');

// The inverse of parse_csv_rows: fields quoted (RFC 4180) only where they hold the
// delimiter, a quote, CR or LF; every row ends with '\n'.
[[nodiscard]] std::string format_csv_rows(const std::vector<std::vector<std::string>>& rows,
                                          char delimiter = ',');

// What the reader found that does not follow the schema, for the quality report.
struct CsvIssues {
  std::size_t missing_values = 0;       // empty cells (imputed as 0 / skipped row for labels)
  std::size_t nonconforming_cells = 0;  // unparsable numbers, unknown categories
  std::size_t rejected_rows = 0;        // wrong column count or missing/unknown label
  std::vector<std::string> examples;    // the first few problems, as messages
};
struct CsvDataset {
  Dataset data;
  CsvIssues issues;
  std::size_t rows_read = 0;
  // For each row of `data`, the index of the record it came from in parse_csv_rows' result
  // (the header, when there is one, is record 0): lets a caller copy kept rows verbatim.
  std::vector<std::size_t> source_rows;
};
// Numbers become one feature each; categories one-hot encode. Rows whose label is missing
// or unknown, or whose column count is wrong, are rejected and counted.
[[nodiscard]] Result<CsvDataset> read_csv(std::string_view text, const CsvSchema& schema);

// ---- the seeded train/test split ----
// A dataset without its own test set (a CSV) is split by seed, the same way by everyone
// who splits it: `cairn learn partition` holds out exactly the rows `cairn learn simulate`
// tests on for the same seed. The row indices [0, rows) are shuffled (Rng, seed stream
// derive_seed(seed, kSplitPurpose)) and the first `test_rows` of the shuffle are held out;
// test_rows 0 means a fifth of the rows (at least one). At least `clients` rows are left for
// training, so fewer than 2 * clients rows is an Errc::invalid_argument.
inline constexpr std::uint64_t kSplitPurpose = 4;  // simulate's seed purposes are 1 to 5
inline constexpr double kDefaultTestFraction = 0.2;
struct RowSplit {
  std::vector<std::size_t> train;  // in shuffled order
  std::vector<std::size_t> test;   // in shuffled order
};
[[nodiscard]] Result<RowSplit> split_rows(std::size_t rows, std::size_t clients, std::uint64_t seed,
                                          std::size_t test_rows = 0);

}  // namespace cairn::learn

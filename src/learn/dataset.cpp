#include "learn/dataset.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <numeric>
#include <span>

#include "base/file.hpp"
#include "learn/rng.hpp"
#include "learn/text.hpp"

namespace cairn::learn {

std::size_t Dataset::feature_size() const {
  std::size_t size = 1;
  for (auto dim : feature_shape)
    size *= static_cast<std::size_t>(dim);
  return size;
}

Dataset Dataset::subset(const std::vector<std::size_t>& indices) const {
  Dataset out;
  out.feature_shape = feature_shape;
  out.num_classes = num_classes;
  out.class_names = class_names;
  const std::size_t width = feature_size();
  out.features.resize(indices.size() * width);
  out.labels.resize(indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    std::copy_n(features.begin() + static_cast<std::ptrdiff_t>(indices[i] * width), width,
                out.features.begin() + static_cast<std::ptrdiff_t>(i * width));
    out.labels[i] = labels[indices[i]];
  }
  return out;
}

Dataset Dataset::head(std::size_t count) const {
  std::vector<std::size_t> indices(std::min(count, rows()));
  for (std::size_t i = 0; i < indices.size(); ++i)
    indices[i] = i;
  return subset(indices);
}

Result<IdxArray> parse_idx(ByteView bytes) {
  if (bytes.size() < 4) return fail(Errc::parse, "IDX file shorter than its 4-byte magic");
  if (bytes[0] != std::byte{0} || bytes[1] != std::byte{0}) {
    return fail(Errc::parse, "not an IDX file (magic must start with two zero bytes)");
  }
  const auto type = static_cast<std::uint8_t>(bytes[2]);
  if (type != 0x08) {
    return fail(Errc::unsupported,
                fmt::format("IDX data type 0x{:02x} (cairn reads 0x08, unsigned bytes)", type));
  }
  const auto rank = static_cast<std::uint8_t>(bytes[3]);
  if (rank == 0 || rank > 4)
    return fail(Errc::parse, fmt::format("IDX rank {} (expected 1 to 4)", rank));
  if (bytes.size() < 4 + 4 * std::size_t{rank}) return fail(Errc::parse, "IDX header truncated");
  IdxArray out;
  std::uint64_t count = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    const auto dim = static_cast<std::uint32_t>(read_be(bytes.subspan(4 + 4 * i, 4)));
    out.dims.push_back(dim);
    count *= dim;
    if (count > (std::uint64_t{1} << 32)) return fail(Errc::parse, "IDX dimensions too large");
  }
  const std::size_t header = 4 + 4 * std::size_t{rank};
  if (bytes.size() - header != count) {
    return fail(Errc::parse, fmt::format("IDX dimensions promise {} bytes of data, file has {}",
                                         count, bytes.size() - header));
  }
  out.data.resize(count);
  std::memcpy(out.data.data(), bytes.data() + header, count);
  return out;
}

Result<Bytes> gunzip(ByteView compressed, std::size_t max_output) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK)
    return fail(Errc::internal, "inflateInit2 failed");
  Bytes out;
  std::size_t consumed = 0;
  int rc = Z_OK;
  ByteArray<65536> buffer;
  while (rc != Z_STREAM_END) {
    const std::size_t chunk = std::min<std::size_t>(compressed.size() - consumed, 1u << 30);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(compressed.data() + consumed));
    stream.avail_in = static_cast<uInt>(chunk);
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = static_cast<uInt>(buffer.size());
    rc = inflate(&stream, Z_NO_FLUSH);
    consumed += chunk - stream.avail_in;
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&stream);
      return fail(Errc::parse, fmt::format("gzip data is corrupt or truncated ({})",
                                           stream.msg ? stream.msg : "no progress"));
    }
    const std::size_t produced = buffer.size() - stream.avail_out;
    if (out.size() + produced > max_output) {
      inflateEnd(&stream);
      return fail(Errc::parse, "gzip data inflates past the size limit");
    }
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(produced));
    if (rc == Z_OK && produced == 0 && consumed == compressed.size()) {
      inflateEnd(&stream);
      return fail(Errc::parse, "gzip data is truncated");
    }
  }
  inflateEnd(&stream);
  return out;
}

Result<Bytes> read_maybe_gzip(const std::filesystem::path& path) {
  CAIRN_TRY_ASSIGN(Bytes bytes, file::read(path, file::kLargeFileCap));
  if (bytes.size() >= 2 && bytes[0] == std::byte{0x1f} && bytes[1] == std::byte{0x8b}) {
    auto inflated = gunzip(bytes);
    if (!inflated) return std::unexpected(std::move(inflated).error().context(path.string()));
    return inflated;
  }
  return bytes;
}

Result<Dataset> dataset_from_idx(const IdxArray& images, const IdxArray& labels) {
  if (images.dims.size() != 3)
    return fail(Errc::invalid_argument, "IDX images must have rank 3 (N x H x W)");
  if (labels.dims.size() != 1) return fail(Errc::invalid_argument, "IDX labels must have rank 1");
  if (images.dims[0] != labels.dims[0]) {
    return fail(Errc::invalid_argument,
                fmt::format("{} images but {} labels", images.dims[0], labels.dims[0]));
  }
  Dataset out;
  out.feature_shape = {1, images.dims[1], images.dims[2]};
  out.features.resize(images.data.size());
  for (std::size_t i = 0; i < images.data.size(); ++i)
    out.features[i] = static_cast<float>(images.data[i]) / 255.0f;
  std::int64_t max_label = -1;
  out.labels.resize(labels.data.size());
  for (std::size_t i = 0; i < labels.data.size(); ++i) {
    out.labels[i] = labels.data[i];
    max_label = std::max<std::int64_t>(max_label, labels.data[i]);
  }
  out.num_classes = max_label + 1;
  return out;
}

Result<TrainTest> load_fashion_mnist(const std::filesystem::path& dir) {
  auto load = [&](std::string_view stem) -> Result<IdxArray> {
    std::filesystem::path path = dir / stem;
    if (!std::filesystem::exists(path)) path += ".gz";
    CAIRN_TRY_ASSIGN(auto bytes, read_maybe_gzip(path));
    auto parsed = parse_idx(bytes);
    if (!parsed) return std::unexpected(std::move(parsed).error().context(path.string()));
    return parsed;
  };
  CAIRN_TRY_ASSIGN(auto train_images, load("train-images-idx3-ubyte"));
  CAIRN_TRY_ASSIGN(auto train_labels, load("train-labels-idx1-ubyte"));
  CAIRN_TRY_ASSIGN(auto test_images, load("t10k-images-idx3-ubyte"));
  CAIRN_TRY_ASSIGN(auto test_labels, load("t10k-labels-idx1-ubyte"));
  TrainTest out;
  CAIRN_TRY_ASSIGN(out.train, dataset_from_idx(train_images, train_labels));
  CAIRN_TRY_ASSIGN(out.test, dataset_from_idx(test_images, test_labels));
  out.test.num_classes = out.train.num_classes =
      std::max(out.train.num_classes, out.test.num_classes);
  return out;
}

// ---- CSV ----

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto pos = s.find(sep, start);
    out.emplace_back(trim(
        s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start)));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

}  // namespace

Result<CsvSchema> parse_csv_schema(std::string_view text) {
  CsvSchema schema;
  std::size_t line_no = 0;
  int labels = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++line_no;
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    const auto parts = split(line, ':');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty()) {
      return fail(Errc::parse, fmt::format("schema line {}: expected name:type[:values]", line_no));
    }
    ColumnSchema column;
    column.name = parts[0];
    const auto& type = parts[1];
    if (type == "number")
      column.type = ColumnType::number;
    else if (type == "category")
      column.type = ColumnType::category;
    else if (type == "label")
      column.type = ColumnType::label;
    else if (type == "ignore")
      column.type = ColumnType::ignore;
    else
      return fail(Errc::parse,
                  fmt::format("schema line {}: unknown column type '{}'", line_no, type));
    if (parts.size() == 3) {
      if (column.type != ColumnType::category && column.type != ColumnType::label) {
        return fail(
            Errc::parse,
            fmt::format("schema line {}: only category and label columns list values", line_no));
      }
      column.categories = split(parts[2], '|');
      for (const auto& v : column.categories) {
        if (v.empty())
          return fail(Errc::parse, fmt::format("schema line {}: empty category value", line_no));
      }
    }
    if ((column.type == ColumnType::category || column.type == ColumnType::label) &&
        column.categories.empty()) {
      return fail(Errc::parse, fmt::format("schema line {}: column {} must list its values",
                                           line_no, column.name));
    }
    if (column.type == ColumnType::label) ++labels;
    schema.columns.push_back(std::move(column));
  }
  if (labels != 1)
    return fail(Errc::parse, fmt::format("schema has {} label columns (need exactly one)", labels));
  return schema;
}

Result<Bytes> encode_idx_images(const Dataset& data) {
  if (data.feature_shape.size() != 3 || data.feature_shape[0] != 1) {
    return fail(Errc::invalid_argument, "IDX images need examples of shape 1 x H x W");
  }
  const auto height = data.feature_shape[1];
  const auto width = data.feature_shape[2];
  if (height <= 0 || width <= 0 || height > 0xffffffffLL || width > 0xffffffffLL ||
      data.rows() > 0xffffffffULL) {
    return fail(Errc::invalid_argument, "IDX dimensions must each fit in 32 bits and be positive");
  }
  if (data.features.size() != data.rows() * data.feature_size()) {
    return fail(Errc::invalid_argument,
                fmt::format("dataset holds {} feature values, {} rows of {} promise {}",
                            data.features.size(), data.rows(), data.feature_size(),
                            data.rows() * data.feature_size()));
  }
  Bytes out;
  out.reserve(16 + data.features.size());
  append_be(out, 0x00000803, 4);
  append_be(out, static_cast<std::uint32_t>(data.rows()), 4);
  append_be(out, static_cast<std::uint32_t>(height), 4);
  append_be(out, static_cast<std::uint32_t>(width), 4);
  for (float value : data.features) {
    // NaN clamps to 0 rather than becoming an arbitrary byte.
    const float unit = std::isnan(value) ? 0.0f : std::clamp(value, 0.0f, 1.0f);
    out.push_back(static_cast<std::byte>(std::lround(unit * 255.0f)));
  }
  return out;
}

Result<Bytes> encode_idx_labels(const Dataset& data) {
  if (data.rows() > 0xffffffffULL)
    return fail(Errc::invalid_argument, "IDX labels: more than 2^32 rows");
  Bytes out;
  out.reserve(8 + data.rows());
  append_be(out, 0x00000801, 4);
  append_be(out, static_cast<std::uint32_t>(data.rows()), 4);
  for (std::size_t i = 0; i < data.labels.size(); ++i) {
    const auto label = data.labels[i];
    if (label < 0 || label > 255) {
      return fail(Errc::invalid_argument,
                  fmt::format("row {}: label {} does not fit an IDX byte", i, label));
    }
    out.push_back(static_cast<std::byte>(label));
  }
  return out;
}

std::string format_csv_rows(const std::vector<std::vector<std::string>>& rows, char delimiter) {
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c > 0) out.push_back(delimiter);
      const auto& field = row[c];
      const bool quote =
          field.find_first_of(std::string{delimiter, '"', '\r', '\n'}) != std::string::npos ||
          (row.size() == 1 && field.empty());
      if (!quote) {
        out += field;
        continue;
      }
      out.push_back('"');
      for (char ch : field) {
        if (ch == '"') out.push_back('"');
        out.push_back(ch);
      }
      out.push_back('"');
    }
    out.push_back('\n');
  }
  return out;
}

Result<std::vector<std::vector<std::string>>> parse_csv_rows(std::string_view text,
                                                             char delimiter) {
  constexpr std::size_t kMaxField = 1 << 20;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool in_quotes = false;
  bool field_was_quoted = false;
  std::size_t line = 1;
  auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
    field_was_quoted = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
    } else if (c == '"') {
      if (!field.empty() || field_was_quoted) {
        return fail(Errc::parse, fmt::format("CSV line {}: quote inside an unquoted field", line));
      }
      in_quotes = true;
      field_was_quoted = true;
    } else if (c == delimiter) {
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_field();
      if (!(row.size() == 1 && row[0].empty())) rows.push_back(std::move(row));
      row.clear();
      ++line;
    } else {
      if (field_was_quoted) {
        return fail(Errc::parse, fmt::format("CSV line {}: text after a closing quote", line));
      }
      field.push_back(c);
    }
    if (field.size() > kMaxField)
      return fail(Errc::parse, fmt::format("CSV line {}: field over 1 MiB", line));
  }
  if (in_quotes)
    return fail(Errc::parse, fmt::format("CSV line {}: unterminated quoted field", line));
  if (!field.empty() || !row.empty() || field_was_quoted) {
    end_field();
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<CsvDataset> read_csv(std::string_view text, const CsvSchema& schema) {
  CAIRN_TRY_ASSIGN(auto rows, parse_csv_rows(text, schema.delimiter));
  CsvDataset out;
  std::size_t width = 0;
  std::size_t label_column = 0;
  for (std::size_t c = 0; c < schema.columns.size(); ++c) {
    const auto& column = schema.columns[c];
    if (column.type == ColumnType::number) width += 1;
    if (column.type == ColumnType::category) width += column.categories.size();
    if (column.type == ColumnType::label) {
      label_column = c;
      out.data.class_names = column.categories;
    }
  }
  out.data.feature_shape = {static_cast<std::int64_t>(width)};
  out.data.num_classes = static_cast<std::int64_t>(out.data.class_names.size());
  auto note = [&](std::string message) {
    if (out.issues.examples.size() < 8) out.issues.examples.push_back(std::move(message));
  };
  std::size_t first = 0;
  if (schema.has_header && !rows.empty()) {
    const auto& header = rows[0];
    if (header.size() != schema.columns.size()) {
      return fail(Errc::invalid_argument, fmt::format("CSV header has {} columns, schema has {}",
                                                      header.size(), schema.columns.size()));
    }
    for (std::size_t c = 0; c < header.size(); ++c) {
      if (std::string(trim(header[c])) != schema.columns[c].name) {
        return fail(Errc::invalid_argument, fmt::format("CSV column {} is '{}', schema says '{}'",
                                                        c + 1, header[c], schema.columns[c].name));
      }
    }
    first = 1;
  }
  std::vector<float> features(width);
  for (std::size_t r = first; r < rows.size(); ++r) {
    ++out.rows_read;
    const auto& row = rows[r];
    const std::size_t line = r + 1;
    if (row.size() != schema.columns.size()) {
      ++out.issues.rejected_rows;
      note(
          fmt::format("row {}: {} fields, schema has {}", line, row.size(), schema.columns.size()));
      continue;
    }
    const auto label_text = std::string(trim(row[label_column]));
    const auto& classes = out.data.class_names;
    const auto label_it = std::find(classes.begin(), classes.end(), label_text);
    if (label_text.empty() || label_it == classes.end()) {
      ++out.issues.rejected_rows;
      if (label_text.empty())
        ++out.issues.missing_values;
      else
        ++out.issues.nonconforming_cells;
      note(fmt::format("row {}: label '{}' is {}", line, label_text,
                       label_text.empty() ? "missing" : "not in the schema"));
      continue;
    }
    std::fill(features.begin(), features.end(), 0.0f);
    std::size_t offset = 0;
    for (std::size_t c = 0; c < schema.columns.size(); ++c) {
      const auto& column = schema.columns[c];
      const auto cell = trim(row[c]);
      if (column.type == ColumnType::number) {
        if (cell.empty()) {
          ++out.issues.missing_values;
        } else {
          const auto parsed = parse_double(cell);
          const double value = parsed.value_or(0.0);
          if (!parsed || !std::isfinite(value)) {
            ++out.issues.nonconforming_cells;
            note(fmt::format("row {}: column {} is not a number: '{}'", line, column.name, cell));
          } else {
            features[offset] = static_cast<float>(value);
          }
        }
        offset += 1;
      } else if (column.type == ColumnType::category) {
        if (cell.empty()) {
          ++out.issues.missing_values;
        } else {
          const auto it = std::find(column.categories.begin(), column.categories.end(), cell);
          if (it == column.categories.end()) {
            ++out.issues.nonconforming_cells;
            note(fmt::format("row {}: column {} has unknown value '{}'", line, column.name, cell));
          } else {
            features[offset + static_cast<std::size_t>(it - column.categories.begin())] = 1.0f;
          }
        }
        offset += column.categories.size();
      }
    }
    out.data.features.insert(out.data.features.end(), features.begin(), features.end());
    out.data.labels.push_back(label_it - classes.begin());
    out.source_rows.push_back(r);
  }
  return out;
}

Result<RowSplit> split_rows(std::size_t rows, std::size_t clients, std::uint64_t seed,
                            std::size_t test_rows) {
  if (clients == 0 || rows / 2 < clients) {
    return fail(Errc::invalid_argument,
                fmt::format("{} usable rows, too few for {} clients", rows, clients));
  }
  std::vector<std::size_t> order(rows);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(derive_seed(seed, kSplitPurpose));
  rng.shuffle(std::span(order));
  const std::size_t wanted =
      test_rows > 0
          ? test_rows
          : std::max<std::size_t>(
                1, static_cast<std::size_t>(kDefaultTestFraction * static_cast<double>(rows)));
  const auto held_out = static_cast<std::ptrdiff_t>(std::min(rows - clients, wanted));
  return RowSplit{std::vector<std::size_t>(order.begin() + held_out, order.end()),
                  std::vector<std::size_t>(order.begin(), order.begin() + held_out)};
}

}  // namespace cairn::learn

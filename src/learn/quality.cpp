#include "learn/quality.hpp"

#include <cmath>
#include <unordered_set>

#include "crypto/hash.hpp"

namespace cairn::learn {

nlohmann::json QualityReport::to_json() const {
  return {{"rows", rows},
          {"label_counts", label_counts},
          {"label_entropy_bits", label_entropy_bits},
          {"label_balance", label_balance},
          {"missing_values", missing_values},
          {"duplicate_rows", duplicate_rows},
          {"nonconforming_cells", nonconforming_cells},
          {"rejected_rows", rejected_rows},
          {"schema_conformance", schema_conformance},
          {"completeness", completeness}};
}

QualityReport quality_report(const Dataset& data) {
  QualityReport report;
  report.rows = data.rows();
  report.label_counts.assign(static_cast<std::size_t>(std::max<std::int64_t>(data.num_classes, 0)),
                             0);
  for (auto label : data.labels) {
    if (label >= 0 && static_cast<std::size_t>(label) < report.label_counts.size()) {
      ++report.label_counts[static_cast<std::size_t>(label)];
    }
  }
  if (report.rows > 0) {
    for (auto count : report.label_counts) {
      if (count == 0) continue;
      const double p = static_cast<double>(count) / static_cast<double>(report.rows);
      report.label_entropy_bits -= p * std::log2(p);
    }
    if (report.label_counts.size() > 1) {
      report.label_balance =
          report.label_entropy_bits / std::log2(static_cast<double>(report.label_counts.size()));
    }
  }
  // Duplicates by a digest of each row's features and label (exact equality).
  const std::size_t width = data.feature_size();
  std::unordered_set<std::string> seen;
  seen.reserve(data.rows());
  crypto::Hasher hasher(crypto::HashAlgorithm::sha2_256);  // finish() resets it
  for (std::size_t r = 0; r < data.rows(); ++r) {
    hasher.update(ByteView(reinterpret_cast<const std::byte*>(data.features.data() + r * width),
                           width * sizeof(float)));
    const auto label = data.labels[r];
    hasher.update(ByteView(reinterpret_cast<const std::byte*>(&label), sizeof(label)));
    const auto digest = hasher.finish();
    if (!seen.emplace(reinterpret_cast<const char*>(digest.data()), digest.size()).second)
      ++report.duplicate_rows;
  }
  return report;
}

QualityReport quality_report(const CsvDataset& csv, std::size_t schema_columns) {
  QualityReport report = quality_report(csv.data);
  report.missing_values = csv.issues.missing_values;
  report.nonconforming_cells = csv.issues.nonconforming_cells;
  report.rejected_rows = csv.issues.rejected_rows;
  if (csv.rows_read > 0) {
    report.schema_conformance = static_cast<double>(csv.rows_read - csv.issues.rejected_rows) /
                                static_cast<double>(csv.rows_read);
    report.completeness =
        1.0 - static_cast<double>(csv.issues.missing_values) /
                  static_cast<double>(csv.rows_read * std::max<std::size_t>(schema_columns, 1));
  }
  return report;
}

}  // namespace cairn::learn

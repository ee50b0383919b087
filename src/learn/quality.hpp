#pragma once
// The quality report a data provider publishes with an offer, computed by a function all
// parties agree on, so a buyer can recompute it from the data it receives.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "learn/dataset.hpp"

namespace cairn::learn {

struct QualityReport {
  std::size_t rows = 0;
  std::vector<std::size_t> label_counts;  // per class
  double label_entropy_bits = 0;          // of the label distribution
  double label_balance = 0;               // entropy / log2(classes): 1 is perfectly balanced
  std::size_t missing_values = 0;
  std::size_t duplicate_rows = 0;  // rows identical (features and label) to an earlier row
  std::size_t nonconforming_cells = 0;
  std::size_t rejected_rows = 0;
  double schema_conformance = 1;  // accepted rows / rows read
  double completeness = 1;        // 1 - missing cells / cells

  nlohmann::json to_json() const;
};

// For a dataset already in memory (IDX, or a partition of one).
[[nodiscard]] QualityReport quality_report(const Dataset& data);
// For a CSV read against its schema: also counts what the reader found wrong.
[[nodiscard]] QualityReport quality_report(const CsvDataset& csv, std::size_t schema_columns);

}  // namespace cairn::learn

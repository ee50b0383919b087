#pragma once
// Model parameters as they travel between parties: an ordered list of named tensors
// flattened into one float vector, with the model version they belong to. The wire format
// ("cairn parameter blob", docs/learn.md) is versioned and ends in a SHA-256 checksum.

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::learn {

struct TensorInfo {
  std::string name;  // "conv1.weight", as in a PyTorch state_dict
  std::vector<std::int64_t> shape;
  std::int64_t numel() const;
  bool operator==(const TensorInfo&) const = default;
};

struct ParameterSet {
  // The global model version (round number) these parameters are, or were trained from.
  std::uint64_t model_version = 0;
  std::vector<TensorInfo> tensors;
  std::vector<float> values;  // all tensors, concatenated in order, row-major

  // sha2-256 over the tensor names and shapes: two sets with equal layouts can be mixed.
  [[nodiscard]] Bytes layout_digest() const;
  [[nodiscard]] std::int64_t expected_values() const;
  [[nodiscard]] bool same_layout(const ParameterSet& other) const {
    return tensors == other.tensors;
  }
};

inline constexpr std::uint16_t kParameterFormatVersion = 1;
inline constexpr std::size_t kMaxTensors = 4096;
inline constexpr std::size_t kMaxTensorName = 1024;
inline constexpr std::size_t kMaxRank = 8;
inline constexpr std::uint64_t kMaxParameterValues = std::uint64_t{1} << 31;

// Layout: "CRNPARAM" | u16 format version | u64 model version | u32 tensor count |
// per tensor (u16 name length, name, u8 rank, rank x u64 dim) | u64 value count |
// value count x f32 little-endian | 32-byte sha2-256 of everything before it.
// Integers are big-endian.
[[nodiscard]] Bytes encode_parameters(const ParameterSet& params);
[[nodiscard]] Result<ParameterSet> decode_parameters(ByteView blob);

// Rejects values that are NaN or infinite, naming the tensor and index.
[[nodiscard]] Status check_finite(const ParameterSet& params);

}  // namespace cairn::learn

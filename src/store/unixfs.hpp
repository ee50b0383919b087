#pragma once
// UnixFS: the Data field of dag-pb nodes that describes files and directories.
//
//   message Data {
//     enum DataType { Raw = 0; Directory = 1; File = 2; Metadata = 3; Symlink = 4; HAMTShard = 5; }
//     required DataType Type = 1;   optional bytes Data = 2;      optional uint64 filesize = 3;
//     repeated uint64 blocksizes = 4; optional uint64 hashType = 5; optional uint64 fanout = 6;
//     optional uint32 mode = 7;     optional UnixTime mtime = 8;
//   }
//   message UnixTime { required int64 Seconds = 1; optional fixed32 FractionalNanoseconds = 2; }
//
// Encoding writes fields in field-number order, blocksizes unpacked (one field each), as
// ipfs-unixfs and go-unixfs do. Decoding is strict: Type is required, fields must come in
// ascending order (blocksizes consecutively), no field may repeat except blocksizes, no
// unknown fields or wrong wire types, varints minimal, nothing past the input.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace cairn::store::unixfs {

enum class DataType : std::uint8_t {
  raw = 0,
  directory = 1,
  file = 2,
  metadata = 3,
  symlink = 4,
  hamt_shard = 5,
};

std::string_view data_type_name(DataType type);

struct UnixTime {
  std::int64_t seconds = 0;
  std::optional<std::uint32_t> fractional_nanoseconds;

  friend bool operator==(const UnixTime&, const UnixTime&) = default;
};

struct Data {
  DataType type = DataType::file;
  std::optional<Bytes> data;
  std::optional<std::uint64_t> filesize;
  std::vector<std::uint64_t> blocksizes;
  std::optional<std::uint64_t> hash_type;
  std::optional<std::uint64_t> fanout;
  std::optional<std::uint32_t> mode;
  std::optional<UnixTime> mtime;

  friend bool operator==(const Data&, const Data&) = default;
};

[[nodiscard]] Bytes encode(const Data& data);
void encode_to(const Data& data, Bytes& out);
[[nodiscard]] Result<Data> decode(ByteView bytes);

// The Data bytes of an empty, metadata-free directory: {Type: Directory} = 08 01.
[[nodiscard]] Bytes directory_data();

}  // namespace cairn::store::unixfs

#pragma once
// CARv1 (content-addressable archives), as go-car, @ipld/car and `ipfs dag export` write:
//
//   varint(len(header)) ‖ header ‖ section*
//   header  = dag-cbor {"roots": [CID, ...], "version": 1}   (CIDs as CBOR tag 42 over
//             the byte string 0x00 ‖ binary CID, keys in dag-cbor order)
//   section = varint(len(cid) + len(block)) ‖ binary CID ‖ block
//
// Parsing is strict: the header must be exactly that map (no other keys, no duplicate,
// minimal CBOR integer forms, definite lengths), version must be 1 (a CARv2 pragma gets
// its own message), every section must hold a whole CID and the block after it must hash
// to it. Headers larger than kMaxCarHeaderBytes and sections larger than
// kMaxCarSectionBytes are refused (go-car's limits), so a hostile length cannot make the
// streaming reader allocate without bound. Nothing reads past its input.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "store/block.hpp"
#include "store/cid.hpp"

namespace cairn::store {

inline constexpr std::size_t kMaxCarHeaderBytes = 32u << 20;
inline constexpr std::size_t kMaxCarSectionBytes = 8u << 20;

struct CarHeader {
  std::vector<Cid> roots;
  friend bool operator==(const CarHeader&, const CarHeader&) = default;
};

// A section of a CAR held in memory: the block is a view into the CAR's bytes.
struct CarSection {
  Cid cid;
  ByteView block;
};

struct CarBlock {
  Cid cid;
  Bytes block;
};

// --- writing -------------------------------------------------------------------------

// varint(len) ‖ dag-cbor header, byte-identical to go-car and @ipld/car.
[[nodiscard]] Bytes encode_car_header(std::span<const Cid> roots);
// varint(len) ‖ cid ‖ block.
void append_car_section(Bytes& out, const Cid& cid, ByteView block);

using ByteWriter = std::function<Status(ByteView)>;
// Writes the CAR of the DAG below `root` (header with that one root, then every block
// once, depth-first pre-order as `ipfs dag export`) through `write`. Blocks come from
// `source`, which verifies them.
[[nodiscard]] Status write_car(const Cid& root, BlockSource& source, const ByteWriter& write);
// As write_car, but only the root block (the gateway's dag-scope=block).
[[nodiscard]] Status write_car_root_only(const Cid& root, BlockSource& source,
                                         const ByteWriter& write);
// The sections alone (no header) of the DAG below `root`, as write_car writes them; the
// gateway uses this after path blocks of its own.
[[nodiscard]] Status write_car_sections(const Cid& root, BlockSource& source,
                                        const ByteWriter& write);
[[nodiscard]] Result<Bytes> export_car(const Cid& root, BlockSource& source);

// --- reading -------------------------------------------------------------------------

// The header at the start of `car` (the length varint included); `consumed` receives
// the number of bytes it took.
[[nodiscard]] Result<CarHeader> decode_car_header(ByteView car, std::size_t& consumed);
// The dag-cbor header body alone (after the length varint).
[[nodiscard]] Result<CarHeader> decode_car_header_body(ByteView body);
// One section at the start of `in`, its block checked against its CID.
[[nodiscard]] Result<CarSection> decode_car_section(ByteView in, std::size_t& consumed);

struct ParsedCar {
  CarHeader header;
  std::vector<CarSection> sections;  // views into the parsed bytes, in file order
};
// A whole CAR in memory: header and every section, each block verified. The first
// problem fails the whole parse (naming the section index and byte offset).
[[nodiscard]] Result<ParsedCar> parse_car(ByteView car);

// Reads a CAR from a stream in bounded memory, one verified block at a time.
class CarReader {
 public:
  // Reads up to `buffer.size()` bytes; returns how many (0 at the end of the input).
  using ReadFn = std::function<Result<std::size_t>(MutableByteView buffer)>;

  [[nodiscard]] static Result<std::unique_ptr<CarReader>> open(ReadFn read);
  [[nodiscard]] static Result<std::unique_ptr<CarReader>> open_file(
      const std::filesystem::path& path);

  const CarHeader& header() const { return header_; }
  // The next block, verified against its CID; nullopt at a clean end of the input.
  [[nodiscard]] Result<std::optional<CarBlock>> next();
  // Bytes consumed so far; sections read so far.
  std::uint64_t offset() const { return offset_; }
  std::uint64_t sections() const { return sections_; }

 private:
  explicit CarReader(ReadFn read) : read_(std::move(read)) {}
  // Fills exactly `out`; `at_start` lets a clean end before the first byte return false.
  Result<bool> read_exact(MutableByteView out, bool at_start);
  Result<std::optional<std::uint64_t>> read_varint(bool allow_end);
  Result<Bytes> read_bytes(std::uint64_t count);

  ReadFn read_;
  CarHeader header_;
  std::uint64_t offset_ = 0;
  std::uint64_t sections_ = 0;
};

// --- importing -----------------------------------------------------------------------

struct CarImportOptions {
  // Every root must name a complete DAG, counting the CAR's blocks and those `existing`
  // already has. When false, blocks are stored without that check.
  bool require_complete = true;
  // Where blocks that the CAR lacks may already be (the store being imported into).
  BlockSource* existing = nullptr;
  // When set, the CAR's header must name exactly this one root.
  std::optional<Cid> expected_root{};
  // When non-empty, completeness is checked for these roots instead of the header's (a
  // gateway client asks for a CID and, as the trustless-gateway spec says, ignores the
  // roots a gateway writes).
  std::vector<Cid> dag_roots{};
};

struct CarImportReport {
  std::vector<Cid> roots;
  std::uint64_t blocks = 0;  // sections read (duplicates counted)
  std::uint64_t bytes = 0;   // block bytes read
};

// Imports a CAR held in memory: parses and verifies all of it and checks completeness
// first, then puts the blocks into `sink`; on any problem nothing is put.
[[nodiscard]] Result<CarImportReport> import_car(ByteView car, BlockSink& sink,
                                                 const CarImportOptions& options = {});
// Imports a CAR file in bounded memory with two passes: the first verifies every block
// and records the DAG's links (nothing is written); the second reads the file again,
// verifies each block again and puts it. A problem in the first pass leaves `sink`
// untouched; one in the second (the file changed between passes) stops it, leaving
// unpinned blocks that gc removes.
[[nodiscard]] Result<CarImportReport> import_car_file(const std::filesystem::path& path,
                                                      BlockSink& sink,
                                                      const CarImportOptions& options = {});

}  // namespace cairn::store

#include "store/car.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "base/varint.hpp"
#include "store/dag.hpp"

namespace cairn::store {
namespace {

// --- the tiny dag-cbor subset a CARv1 header uses -----------------------------------

enum class Major : std::uint8_t { uint = 0, bytes = 2, text = 3, array = 4, map = 5, tag = 6 };

void cbor_head(Bytes& out, std::uint8_t major, std::uint64_t value) {
  const auto m = static_cast<std::uint8_t>(major << 5);
  if (value < 24) {
    out.push_back(static_cast<std::byte>(m | value));
  } else if (value <= 0xff) {
    out.push_back(static_cast<std::byte>(m | 24));
    append_be(out, value, 1);
  } else if (value <= 0xffff) {
    out.push_back(static_cast<std::byte>(m | 25));
    append_be(out, value, 2);
  } else if (value <= 0xffffffffu) {
    out.push_back(static_cast<std::byte>(m | 26));
    append_be(out, value, 4);
  } else {
    out.push_back(static_cast<std::byte>(m | 27));
    append_be(out, value, 8);
  }
}

void cbor_text(Bytes& out, std::string_view text) {
  cbor_head(out, 3, text.size());
  append(out, text);
}

class CborReader {
 public:
  explicit CborReader(ByteView in) : in_(in) {}
  std::size_t position() const { return pos_; }
  bool at_end() const { return pos_ == in_.size(); }

  // Reads one head of the expected major type; definite, minimal-length forms only.
  Result<std::uint64_t> head(Major expected, std::string_view what) {
    if (pos_ >= in_.size()) return problem(fmt::format("ends before {}", what));
    const auto initial = static_cast<std::uint8_t>(in_[pos_]);
    const auto major = static_cast<Major>(initial >> 5);
    const std::uint8_t info = initial & 31;
    if (major != expected) {
      return problem(fmt::format("{} has CBOR major type {}, expected {}", what,
                                 static_cast<int>(major), static_cast<int>(expected)));
    }
    ++pos_;
    if (info < 24) return info;
    if (info > 27) {
      return problem(fmt::format("{} uses {}", what,
                                 info == 31 ? "an indefinite length" : "a reserved CBOR form"));
    }
    const std::size_t width = std::size_t{1} << (info - 24);
    if (in_.size() - pos_ < width) return problem(fmt::format("{} is truncated", what));
    const std::uint64_t value = read_be(in_.subspan(pos_, width));
    pos_ += width;
    const std::uint64_t minimum = width == 1 ? 24 : (std::uint64_t{1} << (4 * width));
    if (value < minimum) return problem(fmt::format("{} is not minimally encoded", what));
    return value;
  }

  Result<ByteView> bytes_of(Major major, std::string_view what) {
    CAIRN_TRY_ASSIGN(const std::uint64_t length, head(major, what));
    if (in_.size() - pos_ < length) return problem(fmt::format("{} is truncated", what));
    const auto out = in_.subspan(pos_, length);
    pos_ += length;
    return out;
  }

  static std::unexpected<Error> problem(std::string message) {
    return fail(Errc::parse, "CAR header: " + std::move(message));
  }

 private:
  ByteView in_;
  std::size_t pos_ = 0;
};

Result<Cid> decode_root(CborReader& reader, std::size_t index) {
  const std::string what = fmt::format("root {}", index);
  CAIRN_TRY_ASSIGN(const std::uint64_t tag, reader.head(Major::tag, what));
  if (tag != 42) {
    return CborReader::problem(fmt::format("{} has CBOR tag {}, expected 42 (a CID)", what, tag));
  }
  CAIRN_TRY_ASSIGN(const ByteView bytes, reader.bytes_of(Major::bytes, what));
  if (bytes.empty() || bytes[0] != std::byte{0}) {
    return CborReader::problem(fmt::format("{} lacks the 0x00 multibase prefix of a CID", what));
  }
  auto cid = Cid::decode(bytes.subspan(1));
  if (!cid) return CborReader::problem(fmt::format("{}: {}", what, cid.error().message));
  return cid;
}

std::string multihash_key(const Cid& cid) {
  const Bytes key = cid.hash().encode();
  return {reinterpret_cast<const char*>(key.data()), key.size()};
}

// What the first pass learns about a CAR: which blocks it holds and where they link.
struct DagIndex {
  std::unordered_set<std::string> present;  // multihashes of the CAR's blocks
  std::unordered_map<std::string, std::vector<Cid>> links;
  std::unordered_map<std::string, std::string> undecodable;  // why links are unknown

  void add(const Cid& cid, ByteView block) {
    const std::string key = multihash_key(cid);
    if (!present.insert(key).second) return;
    if (cid.codec() == codec::kRaw) return;
    auto found = block_links(cid, block);
    if (found) {
      links.emplace(key, std::move(*found));
    } else {
      undecodable.emplace(key, found.error().message);
    }
  }
};

Status check_complete(const std::vector<Cid>& roots, const DagIndex& index, BlockSource* existing) {
  std::unordered_set<std::string> seen;
  struct Item {
    Cid cid;
    std::optional<Cid> parent;
  };
  for (const Cid& root : roots) {
    std::vector<Item> stack{{root, std::nullopt}};
    while (!stack.empty()) {
      Item item = std::move(stack.back());
      stack.pop_back();
      const Cid& cid = item.cid;
      if (cid.hash().code == multihash_code::kIdentity) continue;
      const std::string key = multihash_key(cid);
      if (!seen.insert(key).second) continue;
      std::vector<Cid> children;
      if (index.present.contains(key)) {
        if (const auto bad = index.undecodable.find(key); bad != index.undecodable.end()) {
          return fail(Errc::unsupported,
                      fmt::format("cannot check that the DAG of {} is complete: block {}: {}",
                                  root.to_string(), cid.to_string(), bad->second));
        }
        if (const auto found = index.links.find(key); found != index.links.end()) {
          children = found->second;
        }
      } else {
        bool have = false;
        if (existing != nullptr) {
          CAIRN_TRY_ASSIGN(have, existing->has(cid));
        }
        if (!have) {
          return fail(Errc::not_found,
                      item.parent ? fmt::format("the CAR is incomplete: block {} (linked from {}) "
                                                "is neither in the CAR nor in the store",
                                                cid.to_string(), item.parent->to_string())
                                  : fmt::format("the CAR is incomplete: its root {} is neither in "
                                                "the CAR nor in the store",
                                                cid.to_string()));
        }
        if (cid.codec() != codec::kRaw) {
          CAIRN_TRY_ASSIGN(const Bytes block, existing->get(cid));
          CAIRN_TRY_ASSIGN(children, block_links(cid, block));
        }
      }
      for (auto it = children.rbegin(); it != children.rend(); ++it) {
        stack.push_back({std::move(*it), cid});
      }
    }
  }
  return {};
}

Status check_expected_root(const CarHeader& header, const CarImportOptions& options) {
  if (!options.expected_root) return {};
  if (header.roots.size() != 1 || header.roots[0] != *options.expected_root) {
    std::string named;
    for (const auto& root : header.roots)
      named += (named.empty() ? "" : ", ") + root.to_string();
    return fail(Errc::integrity, fmt::format("the CAR's header names root(s) [{}], expected {}",
                                             named, options.expected_root->to_string()));
  }
  return {};
}

Error section_error(Error error, std::uint64_t index, std::uint64_t offset) {
  return std::move(error).context(fmt::format("CAR section {} at byte {}", index, offset));
}

}  // namespace

// --- writing -------------------------------------------------------------------------

Bytes encode_car_header(std::span<const Cid> roots) {
  Bytes body;
  cbor_head(body, 5, 2);  // map(2), keys in dag-cbor order: shorter first
  cbor_text(body, "roots");
  cbor_head(body, 4, roots.size());
  for (const Cid& root : roots) {
    cbor_head(body, 6, 42);
    cbor_head(body, 2, root.bytes().size() + 1);
    body.push_back(std::byte{0});
    append(body, root.bytes());
  }
  cbor_text(body, "version");
  cbor_head(body, 0, 1);
  Bytes out;
  varint_append(out, body.size());
  append(out, body);
  return out;
}

void append_car_section(Bytes& out, const Cid& cid, ByteView block) {
  varint_append(out, cid.bytes().size() + block.size());
  append(out, cid.bytes());
  append(out, block);
}

namespace {
// Collects small writes so the caller's writer sees ~1 MiB pieces.
class BufferedWriter {
 public:
  explicit BufferedWriter(const ByteWriter& write) : write_(write) {}
  Status section(const Cid& cid, ByteView block) {
    append_car_section(buffer_, cid, block);
    if (buffer_.size() >= (1u << 20)) return drain();
    return {};
  }
  Status raw(ByteView bytes) {
    append(buffer_, bytes);
    return {};
  }
  Status drain() {
    if (buffer_.empty()) return {};
    auto status = write_(buffer_);
    buffer_.clear();
    return status;
  }

 private:
  const ByteWriter& write_;
  Bytes buffer_;
};
}  // namespace

namespace {
Status write_sections(const Cid& root, BlockSource& source, BufferedWriter& out) {
  return walk_dag(root, source, [&](const Cid& cid, ByteView block) -> Status {
    if (cid.hash().code == multihash_code::kIdentity) return {};  // as go-car: not written
    return out.section(cid, block);
  });
}
}  // namespace

Status write_car_sections(const Cid& root, BlockSource& source, const ByteWriter& write) {
  BufferedWriter out(write);
  CAIRN_TRY(write_sections(root, source, out));
  return out.drain();
}

Status write_car(const Cid& root, BlockSource& source, const ByteWriter& write) {
  BufferedWriter out(write);
  const Cid roots[] = {root};
  CAIRN_TRY(out.raw(encode_car_header(roots)));
  CAIRN_TRY(write_sections(root, source, out));
  return out.drain();
}

Status write_car_root_only(const Cid& root, BlockSource& source, const ByteWriter& write) {
  BufferedWriter out(write);
  const Cid roots[] = {root};
  CAIRN_TRY(out.raw(encode_car_header(roots)));
  CAIRN_TRY_ASSIGN(const Bytes block, source.get(root));
  CAIRN_TRY(out.section(root, block));
  return out.drain();
}

Result<Bytes> export_car(const Cid& root, BlockSource& source) {
  Bytes car;
  CAIRN_TRY(write_car(root, source, [&](ByteView bytes) -> Status {
    append(car, bytes);
    return {};
  }));
  return car;
}

// --- reading -------------------------------------------------------------------------

Result<CarHeader> decode_car_header_body(ByteView body) {
  CborReader reader(body);
  CAIRN_TRY_ASSIGN(const std::uint64_t entries, reader.head(Major::map, "the header"));
  std::optional<std::uint64_t> version;
  std::optional<std::vector<Cid>> roots;
  for (std::uint64_t i = 0; i < entries; ++i) {
    CAIRN_TRY_ASSIGN(const ByteView key_bytes, reader.bytes_of(Major::text, "a header key"));
    const std::string_view key = as_chars(key_bytes);
    if (key == "version") {
      if (version) return CborReader::problem("duplicate key 'version'");
      CAIRN_TRY_ASSIGN(version, reader.head(Major::uint, "version"));
    } else if (key == "roots") {
      if (roots) return CborReader::problem("duplicate key 'roots'");
      CAIRN_TRY_ASSIGN(const std::uint64_t count, reader.head(Major::array, "roots"));
      if (count > body.size()) return CborReader::problem("roots array longer than the header");
      roots.emplace();
      for (std::uint64_t r = 0; r < count; ++r) {
        CAIRN_TRY_ASSIGN(auto root, decode_root(reader, r));
        roots->push_back(std::move(root));
      }
    } else {
      std::string printable;
      for (char c : key)
        printable += (c >= 0x20 && c < 0x7f) ? c : '?';
      return CborReader::problem(fmt::format("unexpected key '{}'", printable));
    }
  }
  if (!reader.at_end()) {
    return CborReader::problem(
        fmt::format("{} bytes after the header map", body.size() - reader.position()));
  }
  if (!version) return CborReader::problem("no version");
  if (*version == 2) {
    return fail(Errc::unsupported,
                "this is a CARv2 file; cairn reads CARv1 (`ipfs dag export` writes CARv1)");
  }
  if (*version != 1) {
    return fail(Errc::unsupported, fmt::format("CAR version {} (cairn reads version 1)", *version));
  }
  if (!roots) return CborReader::problem("no roots");
  return CarHeader{std::move(*roots)};
}

Result<CarHeader> decode_car_header(ByteView car, std::size_t& consumed) {
  if (car.empty()) return fail(Errc::parse, "CAR header: the input is empty");
  auto length = varint_decode(car);
  if (!length) return std::unexpected(std::move(length).error().context("CAR header length"));
  if (length->value == 0) return fail(Errc::parse, "CAR header: length is zero");
  if (length->value > kMaxCarHeaderBytes) {
    return fail(Errc::parse, fmt::format("CAR header: length {} exceeds the {}-byte limit",
                                         length->value, kMaxCarHeaderBytes));
  }
  if (car.size() - length->length < length->value) {
    return fail(Errc::parse, fmt::format("CAR header: truncated ({} of {} bytes)",
                                         car.size() - length->length, length->value));
  }
  CAIRN_TRY_ASSIGN(auto header, decode_car_header_body(car.subspan(length->length, length->value)));
  consumed = length->length + length->value;
  return header;
}

namespace {
Result<CarSection> decode_section_body(ByteView section) {
  std::size_t cid_length = 0;
  auto cid = Cid::decode_prefix(section, cid_length);
  if (!cid) return std::unexpected(std::move(cid).error().context("the section's CID"));
  const ByteView block = section.subspan(cid_length);
  CAIRN_TRY_ASSIGN(const bool ok, cid->matches(block));
  if (!ok) {
    return fail(Errc::integrity, fmt::format("block {} ({} bytes) does not match its CID",
                                             cid->to_string(), block.size()));
  }
  return CarSection{std::move(*cid), block};
}

Status check_section_length(std::uint64_t length) {
  if (length == 0) return fail(Errc::parse, "empty section");
  if (length > kMaxCarSectionBytes) {
    return fail(Errc::parse, fmt::format("section length {} exceeds the {}-byte limit", length,
                                         kMaxCarSectionBytes));
  }
  return {};
}
}  // namespace

Result<CarSection> decode_car_section(ByteView in, std::size_t& consumed) {
  auto length = varint_decode(in);
  if (!length) return std::unexpected(std::move(length).error().context("section length"));
  CAIRN_TRY(check_section_length(length->value));
  if (in.size() - length->length < length->value) {
    return fail(Errc::parse, fmt::format("section truncated ({} of {} bytes)",
                                         in.size() - length->length, length->value));
  }
  CAIRN_TRY_ASSIGN(auto section, decode_section_body(in.subspan(length->length, length->value)));
  consumed = length->length + length->value;
  return section;
}

Result<ParsedCar> parse_car(ByteView car) {
  ParsedCar parsed;
  std::size_t offset = 0;
  CAIRN_TRY_ASSIGN(parsed.header, decode_car_header(car, offset));
  while (offset < car.size()) {
    std::size_t consumed = 0;
    auto section = decode_car_section(car.subspan(offset), consumed);
    if (!section)
      return std::unexpected(
          section_error(std::move(section).error(), parsed.sections.size(), offset));
    parsed.sections.push_back(std::move(*section));
    offset += consumed;
  }
  return parsed;
}

// --- streaming -----------------------------------------------------------------------

Result<std::unique_ptr<CarReader>> CarReader::open(ReadFn read) {
  std::unique_ptr<CarReader> reader(new CarReader(std::move(read)));
  CAIRN_TRY_ASSIGN(const auto length, reader->read_varint(false));
  if (!length) return fail(Errc::parse, "CAR header: the input is empty");
  if (*length == 0) return fail(Errc::parse, "CAR header: length is zero");
  if (*length > kMaxCarHeaderBytes) {
    return fail(Errc::parse, fmt::format("CAR header: length {} exceeds the {}-byte limit", *length,
                                         kMaxCarHeaderBytes));
  }
  CAIRN_TRY_ASSIGN(const Bytes body, with_context(reader->read_bytes(*length), "CAR header"));
  CAIRN_TRY_ASSIGN(reader->header_, decode_car_header_body(body));
  return reader;
}

Result<std::unique_ptr<CarReader>> CarReader::open_file(const std::filesystem::path& path) {
  std::FILE* raw = std::fopen(path.c_str(), "rb");
  if (raw == nullptr) {
    return fail(errno == ENOENT ? Errc::not_found : Errc::io,
                fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  }
  std::shared_ptr<std::FILE> file(raw, &std::fclose);
  const std::string name = path.string();
  return open([file, name](MutableByteView buffer) -> Result<std::size_t> {
    const std::size_t got = std::fread(buffer.data(), 1, buffer.size(), file.get());
    if (got < buffer.size() && std::ferror(file.get())) {
      return fail(Errc::io, fmt::format("reading {}: {}", name, std::strerror(errno)));
    }
    return got;
  });
}

Result<bool> CarReader::read_exact(MutableByteView out, bool at_start) {
  std::size_t filled = 0;
  while (filled < out.size()) {
    CAIRN_TRY_ASSIGN(const std::size_t got, read_(out.subspan(filled)));
    if (got == 0) {
      if (filled == 0 && at_start) return false;
      return fail(Errc::parse, fmt::format("truncated: the input ends after {} of {} bytes", filled,
                                           out.size()));
    }
    filled += got;
    offset_ += got;
  }
  return true;
}

Result<Bytes> CarReader::read_bytes(std::uint64_t count) {
  // Grows the buffer as bytes arrive rather than trusting the length up front, so a
  // hostile length on a short input costs no more memory than the input itself.
  Bytes out;
  const std::uint64_t start = offset_;
  while (out.size() < count) {
    const std::size_t step = static_cast<std::size_t>(
        std::min<std::uint64_t>(count - out.size(), std::max<std::size_t>(out.size(), 1u << 16)));
    const std::size_t at = out.size();
    out.resize(at + step);
    auto got = read_exact(MutableByteView(out).subspan(at), false);
    if (!got) {
      if (got.error().code != Errc::parse) return std::unexpected(std::move(got).error());
      return fail(Errc::parse, fmt::format("truncated: the input ends after {} of {} bytes",
                                           offset_ - start, count));
    }
  }
  return out;
}

Result<std::optional<std::uint64_t>> CarReader::read_varint(bool allow_end) {
  Bytes bytes;
  for (;;) {
    std::byte b{};
    CAIRN_TRY_ASSIGN(const bool got, read_exact({&b, 1}, bytes.empty() && allow_end));
    if (!got) return std::optional<std::uint64_t>();
    bytes.push_back(b);
    if ((static_cast<std::uint8_t>(b) & 0x80) == 0) break;
    if (bytes.size() >= kMaxVarintBytes) break;
  }
  CAIRN_TRY_ASSIGN(const Varint v, varint_decode(bytes));
  return std::optional<std::uint64_t>(v.value);
}

Result<std::optional<CarBlock>> CarReader::next() {
  const std::uint64_t start = offset_;
  auto wrap = [&](Error e) { return section_error(std::move(e), sections_, start); };
  auto length = read_varint(true);
  if (!length) return std::unexpected(wrap(std::move(length).error()));
  if (!*length) return std::optional<CarBlock>();
  if (auto ok = check_section_length(**length); !ok) return std::unexpected(wrap(ok.error()));
  auto read = read_bytes(**length);
  if (!read) return std::unexpected(wrap(std::move(read).error()));
  const Bytes section = std::move(*read);
  auto decoded = decode_section_body(section);
  if (!decoded) return std::unexpected(wrap(std::move(decoded).error()));
  const std::size_t cid_length = section.size() - decoded->block.size();
  CarBlock block{std::move(decoded->cid),
                 Bytes(section.begin() + static_cast<std::ptrdiff_t>(cid_length), section.end())};
  ++sections_;
  return std::optional<CarBlock>(std::move(block));
}

// --- importing -----------------------------------------------------------------------

Result<CarImportReport> import_car(ByteView car, BlockSink& sink, const CarImportOptions& options) {
  CAIRN_TRY_ASSIGN(const ParsedCar parsed, parse_car(car));
  CAIRN_TRY(check_expected_root(parsed.header, options));
  CarImportReport report;
  report.roots = parsed.header.roots;
  if (options.require_complete) {
    DagIndex index;
    for (const auto& section : parsed.sections)
      index.add(section.cid, section.block);
    CAIRN_TRY(check_complete(options.dag_roots.empty() ? parsed.header.roots : options.dag_roots,
                             index, options.existing));
  }
  for (const auto& section : parsed.sections) {
    CAIRN_TRY(sink.put(section.cid, section.block));
    ++report.blocks;
    report.bytes += section.block.size();
  }
  return report;
}

Result<CarImportReport> import_car_file(const std::filesystem::path& path, BlockSink& sink,
                                        const CarImportOptions& options) {
  const std::string name = path.string();
  auto in_file = [&](Error e) { return std::move(e).context(name); };
  CarImportReport report;
  {
    auto reader = CarReader::open_file(path);
    if (!reader) return std::unexpected(in_file(std::move(reader).error()));
    CAIRN_TRY(with_context(check_expected_root((*reader)->header(), options), name));
    report.roots = (*reader)->header().roots;
    DagIndex index;
    for (;;) {
      auto block = (*reader)->next();
      if (!block) return std::unexpected(in_file(std::move(block).error()));
      if (!*block) break;
      if (options.require_complete) index.add((*block)->cid, (*block)->block);
    }
    if (options.require_complete) {
      CAIRN_TRY(
          with_context(check_complete(options.dag_roots.empty() ? report.roots : options.dag_roots,
                                      index, options.existing),
                       name));
    }
  }
  auto reader = CarReader::open_file(path);
  if (!reader) return std::unexpected(in_file(std::move(reader).error()));
  if ((*reader)->header().roots != report.roots) {
    return fail(Errc::conflict, fmt::format("{} changed while it was being imported", name));
  }
  for (;;) {
    auto block = (*reader)->next();
    if (!block) {
      return std::unexpected(in_file(std::move(block).error())
                                 .context("the file changed while it was being imported"));
    }
    if (!*block) break;
    CAIRN_TRY(sink.put((*block)->cid, (*block)->block));
    ++report.blocks;
    report.bytes += (*block)->block.size();
  }
  return report;
}

}  // namespace cairn::store

#include "store/importer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <system_error>
#include <thread>

#include "store/dag_pb.hpp"
#include "store/murmur3.hpp"
#include "store/unixfs.hpp"

namespace cairn::store {
namespace {

// A finished subtree as its parent file node sees it.
struct PendingLink {
  Cid cid;
  std::uint64_t dag_size;   // the link's Tsize
  std::uint64_t file_size;  // content bytes below it: the parent's blocksizes entry
};

Status check_options(const ImportOptions& options) {
  if (options.chunk_size == 0) return fail(Errc::invalid_argument, "chunk size must be positive");
  if (options.chunk_size > (std::size_t{1} << 30)) {
    return fail(Errc::invalid_argument,
                fmt::format("chunk size {} is above 1 GiB", options.chunk_size));
  }
  if (options.max_links < 2) {
    return fail(Errc::invalid_argument,
                fmt::format("max links per node must be at least 2, not {}", options.max_links));
  }
  return {};
}

}  // namespace

struct FileImporter::State {
  BlockSink& sink;
  ImportOptions options;
  Status options_ok;
  Bytes chunk;  // the partial chunk carried between write() calls
  std::size_t chunk_fill = 0;
  // levels[0] holds leaves, levels[k] nodes whose children are at level k-1; each holds
  // fewer than max_links entries between calls (a full level is folded at once).
  std::vector<std::vector<PendingLink>> levels;
  std::uint64_t leaves = 0;
  std::uint64_t bytes = 0;
  bool finished = false;
  std::size_t threads;  // hashing threads for whole chunks arriving together
  Bytes node_buffer;    // reused for every dag-pb node
  Bytes unixfs_buffer;

  State(BlockSink& s, ImportOptions o)
      : sink(s),
        options(std::move(o)),
        options_ok(check_options(options)),
        threads(options.threads != 0
                    ? options.threads
                    : std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 8)) {}

  // `hashed`: the raw leaf's CID when the caller already computed it (parallel hashing).
  Status put_leaf(ByteView data, const Cid* hashed = nullptr) {
    PendingLink link{Cid(), data.size(), data.size()};
    if (options.raw_leaves) {
      link.cid = hashed != nullptr ? *hashed : Cid::of(codec::kRaw, data);
      CAIRN_TRY(sink.put(link.cid, data));
    } else {
      // A UnixFS File node holding the chunk, as ipfs-unixfs-importer writes with
      // rawLeaves false (filesize is the chunk's length; data omitted when empty).
      unixfs::Data leaf;
      leaf.type = unixfs::DataType::file;
      leaf.filesize = data.size();
      if (!data.empty()) leaf.data = to_bytes(data);
      PbNode node;
      node.data = unixfs::encode(leaf);
      node_buffer.clear();
      encode_pb_node_to(node, node_buffer);
      link.cid = Cid::of(codec::kDagPb, node_buffer);
      link.dag_size = node_buffer.size();
      CAIRN_TRY(sink.put(link.cid, node_buffer));
    }
    ++leaves;
    bytes += data.size();
    CAIRN_TRY(add_to_level(0, std::move(link)));
    if (options.progress) options.progress(bytes);
    return {};
  }

  Status add_to_level(std::size_t level, PendingLink link) {
    if (levels.size() <= level) levels.resize(level + 1);
    levels[level].push_back(std::move(link));
    if (levels[level].size() == options.max_links) {
      CAIRN_TRY_ASSIGN(auto parent, fold(levels[level]));
      levels[level].clear();
      return add_to_level(level + 1, std::move(parent));
    }
    return {};
  }

  // The UnixFS File node over `children` (the balanced layout's reduce step).
  Result<PendingLink> fold(const std::vector<PendingLink>& children) {
    unixfs::Data data;
    data.type = unixfs::DataType::file;
    PbNode node;
    node.links.reserve(children.size());
    data.blocksizes.reserve(children.size());
    std::uint64_t file_size = 0;
    std::uint64_t dag_size = 0;
    for (const auto& child : children) {
      // The reference drops empty leaves from parents; only an empty file has one, and it
      // never gets a parent, but keep the rule for exactness.
      if (child.file_size == 0) continue;
      node.links.push_back(PbLink{child.cid, std::string(), child.dag_size});
      data.blocksizes.push_back(child.file_size);
      file_size += child.file_size;
      dag_size += child.dag_size;
    }
    data.filesize = file_size;
    unixfs_buffer.clear();
    unixfs::encode_to(data, unixfs_buffer);
    node.data = std::move(unixfs_buffer);
    node_buffer.clear();
    encode_pb_node_to(node, node_buffer);
    unixfs_buffer = std::move(*node.data);
    PendingLink parent{Cid::of(codec::kDagPb, node_buffer), node_buffer.size() + dag_size,
                       file_size};
    CAIRN_TRY(sink.put(parent.cid, node_buffer));
    return parent;
  }
};

FileImporter::FileImporter(BlockSink& sink, ImportOptions options)
    : state_(std::make_unique<State>(sink, std::move(options))) {}

FileImporter::~FileImporter() = default;

std::uint64_t FileImporter::bytes_written() const {
  return state_->bytes + state_->chunk_fill;
}

Status FileImporter::write(ByteView data) {
  auto& s = *state_;
  CAIRN_TRY(s.options_ok);
  if (s.finished) return fail(Errc::invalid_argument, "FileImporter::write after finish");
  const std::size_t chunk_size = s.options.chunk_size;
  while (!data.empty()) {
    if (s.chunk_fill == 0 && s.threads > 1 && s.options.raw_leaves &&
        data.size() >= 2 * chunk_size) {
      // Several whole chunks at once: hash them on several threads, then store them and
      // fold them into the tree in order, on this thread (sinks need not be thread-safe).
      const std::size_t whole = data.size() / chunk_size;
      std::vector<Cid> cids(whole);
      const std::size_t workers = std::min(s.threads, whole);
      const auto hash_share = [&](std::size_t worker) {
        for (std::size_t i = worker; i < whole; i += workers) {
          cids[i] = Cid::of(codec::kRaw, data.subspan(i * chunk_size, chunk_size));
        }
      };
      std::vector<std::future<void>> helpers;
      helpers.reserve(workers - 1);
      for (std::size_t w = 1; w < workers; ++w) {
        try {
          helpers.push_back(std::async(std::launch::async, hash_share, w));
        } catch (const std::system_error&) {
          hash_share(w);  // no thread to be had: hash that share here
        }
      }
      hash_share(0);
      for (auto& helper : helpers)
        helper.get();
      for (std::size_t i = 0; i < whole; ++i) {
        CAIRN_TRY(s.put_leaf(data.subspan(i * chunk_size, chunk_size), &cids[i]));
      }
      data = data.subspan(whole * chunk_size);
      continue;
    }
    if (s.chunk_fill == 0 && data.size() >= chunk_size) {
      // Whole chunks straight from the caller's buffer: no copy.
      CAIRN_TRY(s.put_leaf(data.first(chunk_size)));
      data = data.subspan(chunk_size);
      continue;
    }
    if (s.chunk.size() != chunk_size) s.chunk.resize(chunk_size);
    const std::size_t take = std::min(chunk_size - s.chunk_fill, data.size());
    std::memcpy(s.chunk.data() + s.chunk_fill, data.data(), take);
    s.chunk_fill += take;
    data = data.subspan(take);
    if (s.chunk_fill == chunk_size) {
      s.chunk_fill = 0;
      CAIRN_TRY(s.put_leaf(s.chunk));
    }
  }
  return {};
}

Result<ImportedFile> FileImporter::finish() {
  auto& s = *state_;
  CAIRN_TRY(s.options_ok);
  if (s.finished) return fail(Errc::invalid_argument, "FileImporter::finish called twice");
  s.finished = true;
  if (s.chunk_fill > 0 || s.leaves == 0) {
    CAIRN_TRY(s.put_leaf(ByteView(s.chunk.data(), s.chunk_fill)));
    s.chunk_fill = 0;
  }
  // Fold what is left bottom-up, as the balanced layout's last partial batches do: a
  // level collapses into one parent unless it is the top level with a single entry, which
  // is the root (a one-chunk file's root is its leaf).
  for (std::size_t level = 0;; ++level) {
    auto& pending = s.levels[level];
    const bool top = level + 1 == s.levels.size();
    if (top && pending.size() == 1) {
      return ImportedFile{pending.front().cid, s.bytes, pending.front().dag_size};
    }
    if (!pending.empty()) {
      CAIRN_TRY_ASSIGN(auto parent, s.fold(pending));
      pending.clear();
      if (top) s.levels.emplace_back();
      s.levels[level + 1].push_back(std::move(parent));
    }
  }
}

Result<ImportedFile> import_bytes(ByteView data, BlockSink& sink, const ImportOptions& options) {
  FileImporter importer(sink, options);
  CAIRN_TRY(importer.write(data));
  return importer.finish();
}

namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads of this many chunks at a time: few system calls, and whole chunks are hashed in
// place from the read buffer.
constexpr std::size_t kChunksPerRead = 16;

Result<ImportedFile> import_file_with(const std::filesystem::path& path, BlockSink& sink,
                                      const ImportOptions& options, Bytes& buffer) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return fail(Errc::io, fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  }
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  FileImporter importer(sink, options);
  const std::size_t read_size = std::max<std::size_t>(options.chunk_size, 1) * kChunksPerRead;
  if (buffer.size() < read_size) buffer.resize(read_size);
  std::size_t filled = 0;  // keep reads chunk-aligned so write() can hash in place
  for (;;) {
    const auto n = ::read(fd.get(), buffer.data() + filled, read_size - filled);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::io, fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
    }
    filled += static_cast<std::size_t>(n);
    if (n == 0 || filled == read_size) {
      auto written = importer.write(ByteView(buffer.data(), filled));
      if (!written) {
        return std::unexpected(
            std::move(written).error().context(fmt::format("importing {}", path.string())));
      }
      filled = 0;
      if (n == 0) break;
    }
  }
  auto result = importer.finish();
  if (!result)
    return std::unexpected(
        std::move(result).error().context(fmt::format("importing {}", path.string())));
  return result;
}

const Cid& empty_directory_cid() {
  static const Cid cid = [] {
    PbNode node;
    node.data = unixfs::directory_data();
    return Cid::of(codec::kDagPb, encode_pb_node(node));
  }();
  return cid;
}

std::string entry_name(const std::filesystem::path& path) {
  auto normal = path.lexically_normal();
  if (!normal.has_filename()) normal = normal.parent_path();
  auto name = normal.filename().string();
  if (name.empty() || name == "." || name == "..") {
    std::error_code ec;
    auto absolute = std::filesystem::absolute(normal, ec).lexically_normal();
    if (!absolute.has_filename()) absolute = absolute.parent_path();
    name = absolute.filename().string();
  }
  return name;
}

struct PathImport {
  BlockSink& sink;
  const ImportOptions& options;
  std::vector<ImportedEntry>& entries;
  Bytes buffer;
  std::uint64_t bytes_before = 0;  // content bytes of files already imported

  Result<ImportedEntry> import(const std::filesystem::path& path, const std::string& display) {
    std::error_code ec;
    const auto status = std::filesystem::symlink_status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found) {
      return fail(Errc::not_found, fmt::format("{} does not exist", path.string()));
    }
    if (ec) return fail(Errc::io, fmt::format("cannot stat {}: {}", path.string(), ec.message()));
    if (std::filesystem::is_regular_file(status)) {
      ImportOptions file_options = options;
      if (options.progress) {
        file_options.progress = [this](std::uint64_t done) {
          options.progress(bytes_before + done);
        };
      }
      CAIRN_TRY_ASSIGN(auto file, import_file_with(path, sink, file_options, buffer));
      bytes_before += file.size;
      ImportedEntry entry{display, file.cid, file.size, file.dag_size, false};
      entries.push_back(entry);
      return entry;
    }
    if (std::filesystem::is_directory(status)) return import_directory(path, display);
    if (std::filesystem::is_symlink(status)) {
      return fail(Errc::unsupported,
                  fmt::format("{} is a symbolic link; cairn imports regular files and directories",
                              path.string()));
    }
    return fail(Errc::unsupported,
                fmt::format("{} is not a regular file or directory", path.string()));
  }

  Result<ImportedEntry> import_directory(const std::filesystem::path& path,
                                         const std::string& display) {
    std::vector<std::string> names;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end;
         it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    if (ec) return fail(Errc::io, fmt::format("cannot list {}: {}", path.string(), ec.message()));
    std::sort(names.begin(), names.end());
    std::vector<DirectoryEntry> children;
    children.reserve(names.size());
    std::uint64_t size = 0;
    for (const auto& name : names) {
      CAIRN_TRY_ASSIGN(auto child, import(path / name, display + "/" + name));
      size += child.size;
      const bool counts = !child.directory || child.cid == empty_directory_cid();
      children.push_back(DirectoryEntry{name, child.cid, child.dag_size, child.size, counts});
    }
    auto directory = put_directory(std::move(children), sink, options.shard_threshold);
    if (!directory) return std::unexpected(std::move(directory).error().context(path.string()));
    ImportedEntry entry{display, directory->cid, size, directory->dag_size, true};
    entries.push_back(entry);
    return entry;
  }
};

}  // namespace

Result<ImportedFile> import_file(const std::filesystem::path& path, BlockSink& sink,
                                 const ImportOptions& options) {
  Bytes buffer;
  return import_file_with(path, sink, options, buffer);
}

Result<std::vector<ImportedEntry>> import_path(const std::filesystem::path& path, BlockSink& sink,
                                               const ImportOptions& options) {
  CAIRN_TRY(check_options(options));
  std::vector<ImportedEntry> entries;
  PathImport run{sink, options, entries, {}};
  CAIRN_TRY(run.import(path, entry_name(path)));
  return entries;
}

namespace {

// One name in a HAMT-sharded directory, with the hash that places it.
struct HamtEntry {
  PbLink link;  // name without the slot prefix
  std::array<std::uint8_t, 16> hash;
};

constexpr std::size_t kHamtFanout = 256;  // 8 bits of the hash per level
constexpr std::uint64_t kHamtHashMurmur3 = 0x22;

// The occupied-slot bitfield as ipfs-unixfs-importer writes it (sparse-array's bitField(),
// reversed): slot i is bit i%8 of byte i/8, bytes up to the one holding the highest slot
// (no zero bytes above it), then the bytes reversed (big-endian, go-unixfs order).
Bytes hamt_bitfield(const std::vector<std::size_t>& slots) {
  Bytes bytes(slots.back() / 8 + 1);
  for (const auto slot : slots)
    bytes[slot / 8] |= static_cast<std::byte>(1u << (slot % 8));
  std::reverse(bytes.begin(), bytes.end());
  return bytes;
}

// Stores the shard holding `entries` (all sharing the hash bytes before `level`) and any
// sub-shards below it; returns its CID and Tsize. The layout is what the reference's
// hamt-sharding buckets converge to: a slot holds one name, or a sub-shard when several
// names' hashes share it.
Result<ImportedFile> put_hamt_shard(std::span<HamtEntry> entries, std::size_t level,
                                    BlockSink& sink) {
  if (level >= 8) {
    return fail(Errc::unsupported, fmt::format("directory names '{}' and '{}' share all 64 bits of "
                                               "their HAMT hash; cairn does not extend the hash",
                                               *entries[0].link.name, *entries[1].link.name));
  }
  std::stable_sort(entries.begin(), entries.end(), [level](const HamtEntry& a, const HamtEntry& b) {
    return a.hash[level] < b.hash[level];
  });
  PbNode node;
  std::vector<std::size_t> slots;
  std::uint64_t children_size = 0;
  for (std::size_t i = 0; i < entries.size();) {
    const std::size_t slot = entries[i].hash[level];
    std::size_t j = i + 1;
    while (j < entries.size() && entries[j].hash[level] == slot)
      ++j;
    const std::string prefix = fmt::format("{:02X}", slot);
    if (j - i == 1) {
      const auto& link = entries[i].link;
      node.links.push_back(PbLink{link.cid, prefix + *link.name, link.tsize});
      children_size += *link.tsize;
    } else {
      CAIRN_TRY_ASSIGN(auto sub, put_hamt_shard(entries.subspan(i, j - i), level + 1, sink));
      node.links.push_back(PbLink{sub.cid, prefix, sub.dag_size});
      children_size += sub.dag_size;
    }
    slots.push_back(slot);
    i = j;
  }
  unixfs::Data data;
  data.type = unixfs::DataType::hamt_shard;
  data.data = hamt_bitfield(slots);
  data.hash_type = kHamtHashMurmur3;
  data.fanout = kHamtFanout;
  node.data = unixfs::encode(data);
  sort_links_by_name(node.links);  // already in slot order; the hex prefixes sort the same
  const Bytes block = encode_pb_node(node);
  const Cid cid = Cid::of(codec::kDagPb, block);
  CAIRN_TRY(sink.put(cid, block));
  return ImportedFile{cid, 0, block.size() + children_size};
}

}  // namespace

Result<ImportedFile> put_directory(std::vector<DirectoryEntry> entries, BlockSink& sink,
                                   std::size_t shard_threshold) {
  std::size_t estimate = 0;
  PbNode node;
  node.links.reserve(entries.size());
  std::uint64_t dag_size = 0;
  std::uint64_t content_size = 0;
  for (auto& entry : entries) {
    if (entry.name.empty() || entry.name.find('/') != std::string::npos ||
        entry.name.find('\0') != std::string::npos) {
      return fail(Errc::invalid_argument,
                  fmt::format("'{}' cannot be a directory entry name", entry.name));
    }
    // The reference's "links-bytes" estimate of the directory block.
    if (entry.counts_toward_sharding) estimate += entry.name.size() + entry.cid.bytes().size();
    dag_size += entry.dag_size;
    content_size += entry.size;
    node.links.push_back(PbLink{std::move(entry.cid), std::move(entry.name), entry.dag_size});
  }
  sort_links_by_name(node.links);
  for (std::size_t i = 1; i < node.links.size(); ++i) {
    if (node.links[i].name == node.links[i - 1].name) {
      return fail(Errc::invalid_argument,
                  fmt::format("directory has two entries named '{}'", *node.links[i].name));
    }
  }
  if (estimate > shard_threshold) {
    std::vector<HamtEntry> hamt;
    hamt.reserve(node.links.size());
    for (auto& link : node.links) {
      const auto hash = murmur3_x64_128(as_bytes(*link.name));
      hamt.push_back(HamtEntry{std::move(link), hash});
    }
    CAIRN_TRY_ASSIGN(auto shard, put_hamt_shard(hamt, 0, sink));
    shard.size = content_size;
    return shard;
  }
  node.data = unixfs::directory_data();
  const Bytes block = encode_pb_node(node);
  const Cid cid = Cid::of(codec::kDagPb, block);
  CAIRN_TRY(sink.put(cid, block));
  return ImportedFile{cid, content_size, block.size() + dag_size};
}

}  // namespace cairn::store

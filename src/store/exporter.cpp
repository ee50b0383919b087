#include "store/exporter.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <set>

#include "store/dag_pb.hpp"
#include "store/unixfs.hpp"

namespace cairn::store {
namespace {

using Writer = std::function<Status(ByteView)>;

Result<Bytes> get_block(BlockSource& source, const Cid& cid) {
  auto block = source.get(cid);
  if (!block) {
    auto error = std::move(block).error();
    if (error.code == Errc::not_found) {
      return fail(Errc::not_found, fmt::format("block {} is missing", cid.to_string()));
    }
    return std::unexpected(
        std::move(error).context(fmt::format("reading block {}", cid.to_string())));
  }
  return block;
}

// A dag-pb block decoded down to its UnixFS metadata.
struct UnixfsNode {
  PbNode node;
  unixfs::Data data;
};

Result<UnixfsNode> decode_unixfs(const Cid& cid, ByteView block) {
  auto node = decode_pb_node(block);
  if (!node) return std::unexpected(std::move(node).error().context(cid.to_string()));
  if (!node->data) {
    return fail(Errc::parse, fmt::format("{}: dag-pb node has no UnixFS Data", cid.to_string()));
  }
  auto data = unixfs::decode(*node->data);
  if (!data) return std::unexpected(std::move(data).error().context(cid.to_string()));
  return UnixfsNode{std::move(*node), std::move(*data)};
}

bool is_file_type(unixfs::DataType type) {
  return type == unixfs::DataType::file || type == unixfs::DataType::raw;
}

Status not_a_file(const Cid& cid, unixfs::DataType type) {
  if (type == unixfs::DataType::directory || type == unixfs::DataType::hamt_shard) {
    return fail(Errc::invalid_argument,
                fmt::format("{} is a directory, not a file", cid.to_string()));
  }
  return fail(Errc::unsupported, fmt::format("{} is a UnixFS {} node; cairn exports files and "
                                             "directories",
                                             cid.to_string(), unixfs::data_type_name(type)));
}

// Streams the file below `cid` whose block is `block`; returns the bytes it produced.
Result<std::uint64_t> stream_file(BlockSource& source, const Cid& cid, ByteView block, int depth,
                                  const Writer& write) {
  if (depth > kMaxDagDepth) {
    return fail(Errc::parse,
                fmt::format("{}: file DAG deeper than {} levels", cid.to_string(), kMaxDagDepth));
  }
  if (cid.codec() == codec::kRaw) {
    CAIRN_TRY(write(block));
    return block.size();
  }
  if (cid.codec() != codec::kDagPb) {
    return fail(Errc::unsupported, fmt::format("{}: {} blocks are not UnixFS", cid.to_string(),
                                               codec_name(cid.codec())));
  }
  CAIRN_TRY_ASSIGN(auto node, decode_unixfs(cid, block));
  if (!is_file_type(node.data.type)) {
    if (depth == 0) CAIRN_TRY(not_a_file(cid, node.data.type));
    return fail(Errc::integrity, fmt::format("{}: a UnixFS {} node inside a file", cid.to_string(),
                                             unixfs::data_type_name(node.data.type)));
  }
  const auto& blocksizes = node.data.blocksizes;
  if (blocksizes.size() != node.node.links.size()) {
    return fail(Errc::integrity, fmt::format("{}: {} links but {} blocksizes", cid.to_string(),
                                             node.node.links.size(), blocksizes.size()));
  }
  std::uint64_t produced = 0;
  if (node.data.data && !node.data.data->empty()) {
    CAIRN_TRY(write(*node.data.data));
    produced += node.data.data->size();
  }
  for (std::size_t i = 0; i < node.node.links.size(); ++i) {
    const auto& child = node.node.links[i].cid;
    CAIRN_TRY_ASSIGN(const auto child_block, get_block(source, child));
    CAIRN_TRY_ASSIGN(const auto child_bytes,
                     stream_file(source, child, child_block, depth + 1, write));
    if (child_bytes != blocksizes[i]) {
      return fail(Errc::integrity,
                  fmt::format("{}: link {} ({}) holds {} bytes but blocksizes says {}",
                              cid.to_string(), i, child.to_string(), child_bytes, blocksizes[i]));
    }
    produced += child_bytes;
  }
  if (node.data.filesize && *node.data.filesize != produced) {
    return fail(Errc::integrity, fmt::format("{}: filesize says {} bytes but the node holds {}",
                                             cid.to_string(), *node.data.filesize, produced));
  }
  return produced;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

// The size a file node says it has, before any of its children is read: a raw block's
// length, or UnixFS filesize (its own data plus its blocksizes when filesize is absent).
Result<std::uint64_t> declared_file_size(const Cid& cid, ByteView block) {
  if (cid.codec() != codec::kDagPb) return block.size();
  CAIRN_TRY_ASSIGN(const auto node, decode_unixfs(cid, block));
  if (!is_file_type(node.data.type)) return std::uint64_t{0};  // refused by stream_file
  if (node.data.filesize) return *node.data.filesize;
  std::uint64_t size = node.data.data ? node.data.data->size() : 0;
  for (const auto blocksize : node.data.blocksizes)
    size = saturating_add(size, blocksize);
  return size;
}

Status past_cap(const Cid& cid, std::uint64_t declared, std::uint64_t left, std::uint64_t cap) {
  if (left == cap) {
    return fail(Errc::rejected,
                fmt::format("{} declares {} bytes, more than the export cap of {} bytes",
                            cid.to_string(), declared, cap));
  }
  return fail(Errc::rejected, fmt::format("{} declares {} bytes, more than the {} bytes left of "
                                          "the export cap of {} bytes",
                                          cid.to_string(), declared, left, cap));
}

// Counts what an export writes against its cap. The declared sizes are checked first; this
// catches a DAG whose blocks hold more than they declare before the excess is written.
class Budget {
 public:
  explicit Budget(std::uint64_t cap) : cap_(cap), left_(cap) {}
  // Refuses a file of `declared` bytes that does not fit in what is left.
  Status admit(const Cid& cid, std::uint64_t declared) const {
    if (declared > left_) return past_cap(cid, declared, left_, cap_);
    return {};
  }
  Writer counting(const Writer& write) {
    return [this, &write](ByteView data) -> Status {
      if (data.size() > left_) {
        return fail(Errc::rejected, fmt::format("the export passed its cap of {} bytes", cap_));
      }
      left_ -= data.size();
      return write(data);
    };
  }
  std::uint64_t cap() const { return cap_; }
  std::uint64_t left() const { return left_; }

 private:
  std::uint64_t cap_;
  std::uint64_t left_;
};

Status check_entry_name(const Cid& directory, const std::optional<std::string>& name) {
  const auto refuse = [&](std::string_view why) {
    return fail(Errc::integrity,
                fmt::format("directory {} has an entry name {}", directory.to_string(), why));
  };
  if (!name || name->empty()) return refuse("that is empty");
  if (*name == "." || *name == "..") return refuse(fmt::format("'{}'", *name));
  if (name->find('/') != std::string::npos) return refuse("containing '/'");
  if (name->find('\0') != std::string::npos) return refuse("containing NUL");
  return {};
}

std::string errno_text() {
  return std::strerror(errno);
}

class File {
 public:
  explicit File(int fd) : fd_(fd) {}
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Status write_all(int fd, ByteView data, const std::filesystem::path& path) {
  while (!data.empty()) {
    const auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::io, fmt::format("cannot write {}: {}", path.string(), errno_text()));
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

// The entries of a HAMT-sharded directory (UnixFS HAMTShard nodes, as the reference
// importer and go-ipfs build them): each link's name is the slot as hex digits (two for
// fanout 256), followed by the entry's name, or the slot alone for a sub-shard.
Status collect_hamt_entries(BlockSource& source, const Cid& cid, const UnixfsNode& node, int depth,
                            std::vector<PbLink>& out) {
  const auto fanout = node.data.fanout.value_or(0);
  if (fanout < 2 || fanout > 4096 || (fanout & (fanout - 1)) != 0) {
    return fail(Errc::parse, fmt::format("HAMT shard {} has fanout {}, not a power of two in "
                                         "2..4096",
                                         cid.to_string(), fanout));
  }
  if (node.data.hash_type != 0x22) {
    return fail(Errc::unsupported, fmt::format("HAMT shard {} uses hash function 0x{:x}, not "
                                               "murmur3-x64-64",
                                               cid.to_string(), node.data.hash_type.value_or(0)));
  }
  if (depth > kMaxDagDepth) {
    return fail(Errc::parse,
                fmt::format("HAMT shard {} nested deeper than {}", cid.to_string(), kMaxDagDepth));
  }
  const std::size_t prefix = fmt::format("{:X}", fanout - 1).size();
  for (const auto& link : node.node.links) {
    if (!link.name || link.name->size() < prefix) {
      return fail(Errc::integrity, fmt::format("HAMT shard {} has a link name shorter than its "
                                               "{}-digit slot",
                                               cid.to_string(), prefix));
    }
    if (link.name->size() > prefix) {
      out.push_back(PbLink{link.cid, link.name->substr(prefix), link.tsize});
      continue;
    }
    CAIRN_TRY_ASSIGN(const auto block, get_block(source, link.cid));
    if (link.cid.codec() != codec::kDagPb) {
      return fail(Errc::integrity, fmt::format("HAMT shard {} links a {} block as a sub-shard",
                                               cid.to_string(), codec_name(link.cid.codec())));
    }
    CAIRN_TRY_ASSIGN(const auto sub, decode_unixfs(link.cid, block));
    if (sub.data.type != unixfs::DataType::hamt_shard) {
      return fail(Errc::integrity,
                  fmt::format("HAMT shard {} links a UnixFS {} node as a "
                              "sub-shard",
                              cid.to_string(), unixfs::data_type_name(sub.data.type)));
    }
    CAIRN_TRY(collect_hamt_entries(source, link.cid, sub, depth + 1, out));
  }
  return {};
}

Status write_tree(BlockSource& source, const Cid& cid, const std::filesystem::path& path, int depth,
                  Budget& budget) {
  if (depth > kMaxDirectoryDepth) {
    return fail(Errc::parse, fmt::format("{}: directories nested deeper than {}", cid.to_string(),
                                         kMaxDirectoryDepth));
  }
  CAIRN_TRY_ASSIGN(const auto block, get_block(source, cid));
  bool directory = false;
  if (cid.codec() == codec::kDagPb) {
    CAIRN_TRY_ASSIGN(auto node, decode_unixfs(cid, block));
    if (node.data.type == unixfs::DataType::directory ||
        node.data.type == unixfs::DataType::hamt_shard) {
      directory = true;
      std::vector<PbLink> entries;
      if (node.data.type == unixfs::DataType::hamt_shard) {
        CAIRN_TRY(collect_hamt_entries(source, cid, node, 0, entries));
      } else {
        entries = std::move(node.node.links);
      }
      std::error_code ec;
      if (!std::filesystem::create_directory(path, ec) || ec) {
        return fail(Errc::io, fmt::format("cannot create directory {}: {}", path.string(),
                                          ec ? ec.message() : "it exists"));
      }
      std::set<std::string> names;
      for (const auto& link : entries) {
        CAIRN_TRY(check_entry_name(cid, link.name));
        if (!names.insert(*link.name).second) {
          return fail(Errc::integrity,
                      fmt::format("directory {} names '{}' twice", cid.to_string(), *link.name));
        }
        CAIRN_TRY(write_tree(source, link.cid, path / *link.name, depth + 1, budget));
      }
    } else if (!is_file_type(node.data.type)) {
      return not_a_file(cid, node.data.type);
    }
  }
  if (directory) return {};
  CAIRN_TRY_ASSIGN(const auto declared, declared_file_size(cid, block));
  CAIRN_TRY(budget.admit(cid, declared));
  File file(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (file.get() < 0) {
    return fail(Errc::io, fmt::format("cannot create {}: {}", path.string(), errno_text()));
  }
  const Writer to_file = [&](ByteView data) { return write_all(file.get(), data, path); };
  CAIRN_TRY(stream_file(source, cid, block, 0, budget.counting(to_file)));
  if (::fsync(file.get()) != 0 || ::close(file.release()) != 0) {
    return fail(Errc::io, fmt::format("cannot write {}: {}", path.string(), errno_text()));
  }
  return {};
}

std::filesystem::path temporary_sibling(const std::filesystem::path& destination) {
  std::random_device random;
  const auto name = destination.filename().string();
  return destination.parent_path() /
         fmt::format(".{}.cairn-partial-{:08x}{:08x}", name, random(), random());
}

}  // namespace

Status export_file(const Cid& cid, BlockSource& source, const Writer& write,
                   const ExportLimits& limits) {
  CAIRN_TRY_ASSIGN(const auto block, get_block(source, cid));
  Budget budget(limits.max_bytes);
  CAIRN_TRY_ASSIGN(const auto declared, declared_file_size(cid, block));
  CAIRN_TRY(budget.admit(cid, declared));
  CAIRN_TRY(stream_file(source, cid, block, 0, budget.counting(write)));
  return {};
}

Status export_to_path(const Cid& cid, BlockSource& source, const std::filesystem::path& destination,
                      const ExportLimits& limits) {
  Budget budget(limits.max_bytes);
  if (limits.max_bytes != UINT64_MAX) {
    // Refuse a tree that declares more than the cap before creating anything.
    CAIRN_TRY_ASSIGN(const auto block, get_block(source, cid));
    std::uint64_t declared = 0;
    if (cid.codec() == codec::kDagPb) {
      CAIRN_TRY_ASSIGN(const auto node, decode_unixfs(cid, block));
      if (node.data.type == unixfs::DataType::directory ||
          node.data.type == unixfs::DataType::hamt_shard) {
        for (const auto& link : node.node.links)
          declared = saturating_add(declared, link.tsize.value_or(0));
      } else {
        CAIRN_TRY_ASSIGN(declared, declared_file_size(cid, block));
      }
    } else {
      declared = block.size();
    }
    CAIRN_TRY(budget.admit(cid, declared));
  }
  std::error_code ec;
  const auto target = destination.has_filename() ? destination : destination.parent_path();
  if (std::filesystem::exists(std::filesystem::symlink_status(target, ec))) {
    return fail(Errc::conflict, fmt::format("{} already exists", target.string()));
  }
  const auto temporary = temporary_sibling(target);
  auto written = write_tree(source, cid, temporary, 0, budget);
  if (written &&
      ::renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
    written = fail(
        errno == EEXIST ? Errc::conflict : Errc::io,
        fmt::format("cannot move the export into place at {}: {}", target.string(), errno_text()));
  }
  if (!written) {
    std::filesystem::remove_all(temporary, ec);
    return std::unexpected(
        std::move(written).error().context(fmt::format("exporting {}", cid.to_string())));
  }
  return {};
}

}  // namespace cairn::store

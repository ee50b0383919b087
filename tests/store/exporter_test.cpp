#include "store/exporter.hpp"

#include <gtest/gtest.h>

#include "store/dag.hpp"
#include "store/dag_pb.hpp"
#include "store/importer.hpp"
#include "store/memory_blockstore.hpp"
#include "store/unixfs.hpp"
#include "testing/testing.hpp"

namespace cairn::store {
namespace {

constexpr std::size_t kChunk = 262144;

Result<Bytes> cat(const Cid& cid, BlockSource& source) {
  Bytes out;
  CAIRN_TRY(export_file(cid, source, [&](ByteView data) -> Status {
    append(out, data);
    return {};
  }));
  return out;
}

TEST(Exporter, RoundTripsEverySizeClass) {
  for (std::size_t size :
       {0ul, 1ul, kChunk - 1, kChunk, kChunk + 1, 2 * kChunk, 174 * kChunk, 174 * kChunk + 1}) {
    MemoryBlockStore store;
    const auto data = testing::pseudo_random_bytes(size, size);
    const auto cid = import_bytes(data, store).value().cid;
    const auto back = cat(cid, store);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_TRUE(equal(*back, data)) << "size " << size;
  }
}

TEST(Exporter, ReadsFileLeavesAndDeepTrees) {
  // Chunks of 3 bytes and 2 links per node: a 100-byte file is 6 levels deep.
  ImportOptions options;
  options.chunk_size = 3;
  options.max_links = 2;
  options.raw_leaves = false;
  MemoryBlockStore store;
  const auto data = testing::pseudo_random_bytes(100, 9);
  const auto cid = import_bytes(data, store, options).value().cid;
  EXPECT_TRUE(equal(cat(cid, store).value(), data));
}

TEST(Exporter, StreamsInChunks) {
  MemoryBlockStore store;
  const auto cid = import_bytes(testing::pseudo_random_bytes(3 * kChunk + 1, 1), store)->cid;
  std::vector<std::size_t> writes;
  ASSERT_TRUE(export_file(cid, store, [&](ByteView data) -> Status {
    writes.push_back(data.size());
    return {};
  }));
  EXPECT_EQ(writes, (std::vector<std::size_t>{kChunk, kChunk, kChunk, 1}));
  // A failing writer stops the export with its error.
  const auto stopped =
      export_file(cid, store, [](ByteView) -> Status { return fail(Errc::io, "pipe closed"); });
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().message, "pipe closed");
}

TEST(Exporter, NamesAMissingBlock) {
  MemoryBlockStore store;
  const auto data = testing::pseudo_random_bytes(3 * kChunk, 2);
  const auto cid = import_bytes(data, store)->cid;
  const auto second_leaf = Cid::of(codec::kRaw, ByteView(data).subspan(kChunk, kChunk));
  ASSERT_TRUE(store.erase(second_leaf));
  const auto result = cat(cid, store);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::not_found);
  EXPECT_NE(result.error().message.find(second_leaf.to_string()), std::string::npos);
}

TEST(Exporter, ReportsACorruptBlockFromTheSource) {
  MemoryBlockStore store;
  const auto data = testing::pseudo_random_bytes(2 * kChunk, 3);
  const auto cid = import_bytes(data, store)->cid;
  const auto leaf = Cid::of(codec::kRaw, ByteView(data).first(kChunk));
  Bytes tampered = to_bytes(ByteView(data).first(kChunk));
  tampered[5] ^= std::byte{1};
  store.overwrite(leaf, tampered);
  const auto result = cat(cid, store);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::integrity);
}

// Stores a file node over `children` with the given metadata, as a forger would.
Cid put_file_node(MemoryBlockStore& store, const std::vector<Cid>& children,
                  std::vector<std::uint64_t> blocksizes, std::optional<std::uint64_t> filesize,
                  std::optional<Bytes> inline_data = std::nullopt) {
  unixfs::Data meta;
  meta.type = unixfs::DataType::file;
  meta.blocksizes = std::move(blocksizes);
  meta.filesize = filesize;
  meta.data = std::move(inline_data);
  PbNode node;
  for (const auto& child : children)
    node.links.push_back(PbLink{child, std::string(), 1});
  node.data = unixfs::encode(meta);
  const auto block = encode_pb_node(node);
  const auto cid = Cid::of(codec::kDagPb, block);
  EXPECT_TRUE(store.put(cid, block));
  return cid;
}

TEST(Exporter, ChecksSizesInUnixfsMetadata) {
  MemoryBlockStore store;
  const auto a = import_bytes(as_bytes(std::string_view("hello ")), store)->cid;
  const auto b = import_bytes(as_bytes(std::string_view("world")), store)->cid;
  const auto good = put_file_node(store, {a, b}, {6, 5}, 11);
  EXPECT_EQ(as_chars(cat(good, store).value()), "hello world");
  const auto with_data = put_file_node(store, {b}, {5}, 7, to_bytes(std::string_view("! ")));
  EXPECT_EQ(as_chars(cat(with_data, store).value()), "! world");

  const auto expect_integrity = [&](const Cid& cid, std::string_view what) {
    const auto result = cat(cid, store);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Errc::integrity);
    EXPECT_NE(result.error().message.find(what), std::string::npos) << result.error().message;
  };
  expect_integrity(put_file_node(store, {a, b}, {6, 6}, 12), "blocksizes says 6");
  expect_integrity(put_file_node(store, {a, b}, {6, 5}, 12), "filesize says 12");
  expect_integrity(put_file_node(store, {a, b}, {6}, 11), "2 links but 1 blocksizes");
  // A directory inside a file.
  const auto dir = put_directory({}, store)->cid;
  expect_integrity(put_file_node(store, {dir}, {0}, 0), "directory node inside a file");
}

TEST(Exporter, RefusesDirectoriesAndNonUnixfs) {
  MemoryBlockStore store;
  const auto dir = put_directory({}, store)->cid;
  const auto result = cat(dir, store);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::invalid_argument);
  PbNode bare;  // dag-pb without Data
  const auto block = encode_pb_node(bare);
  const auto bare_cid = Cid::of(codec::kDagPb, block);
  ASSERT_TRUE(store.put(bare_cid, block));
  EXPECT_EQ(cat(bare_cid, store).error().code, Errc::parse);
  const auto cbor = Cid::of(codec::kDagCbor, block);
  ASSERT_TRUE(store.put(cbor, block));
  EXPECT_EQ(cat(cbor, store).error().code, Errc::unsupported);
}

TEST(Exporter, RefusesFileDagsDeeperThanTheLimit) {
  MemoryBlockStore store;
  Cid cid = import_bytes(as_bytes(std::string_view("x")), store)->cid;
  for (int i = 0; i <= kMaxDagDepth; ++i)
    cid = put_file_node(store, {cid}, {1}, 1);
  const auto result = cat(cid, store);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::parse);
}

// One block linked a million times declares a terabyte: an export with a cap refuses it
// from its metadata, before writing a byte.
TEST(Exporter, RefusesADagDeclaringMoreThanTheCapBeforeWriting) {
  MemoryBlockStore store;
  const Bytes chunk = testing::pseudo_random_bytes(1 << 20, 7);
  const auto leaf = import_bytes(chunk, store)->cid;
  // An honest 1 TiB file in three blocks: 1024 links to a 1 GiB node of 1024 links to the
  // same 1 MiB leaf.
  const std::uint64_t tebibyte = 1ull << 40;
  const Cid gib = put_file_node(store, std::vector<Cid>(1024, leaf),
                                std::vector<std::uint64_t>(1024, 1 << 20), 1ull << 30);
  const Cid huge = put_file_node(store, std::vector<Cid>(1024, gib),
                                 std::vector<std::uint64_t>(1024, 1ull << 30), tebibyte);
  ExportLimits limits;
  limits.max_bytes = 1ull << 30;
  std::uint64_t written = 0;
  const auto streamed = export_file(
      huge, store,
      [&](ByteView data) -> Status {
        written += data.size();
        return {};
      },
      limits);
  ASSERT_FALSE(streamed);
  EXPECT_EQ(streamed.error().code, Errc::rejected);
  EXPECT_NE(streamed.error().message.find("declares 1099511627776 bytes, more than the export "
                                          "cap of 1073741824 bytes"),
            std::string::npos)
      << streamed.error().message;
  EXPECT_EQ(written, 0u);

  testing::TempDir tmp;
  const auto to_disk = export_to_path(huge, store, tmp / "huge.bin", limits);
  ASSERT_FALSE(to_disk);
  EXPECT_EQ(to_disk.error().code, Errc::rejected);
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path())) << "nothing is left behind";

  // In a directory: the Tsize of its link declares it too.
  DirectoryEntry entry;
  entry.name = "huge.bin";
  entry.cid = huge;
  entry.dag_size = tebibyte;
  const auto dir = put_directory({entry}, store);
  ASSERT_TRUE(dir);
  const auto tree = export_to_path(dir->cid, store, tmp / "tree", limits);
  ASSERT_FALSE(tree);
  EXPECT_EQ(tree.error().code, Errc::rejected);
  EXPECT_FALSE(std::filesystem::exists(tmp / "tree"));

  // Within the cap, the same export works; and the bytes written are counted too.
  const auto small = put_file_node(store, {leaf, leaf}, {1 << 20, 1 << 20}, 2 << 20);
  limits.max_bytes = 2 << 20;
  EXPECT_TRUE(export_file(
      small, store, [](ByteView) -> Status { return {}; }, limits));
  limits.max_bytes = (2 << 20) - 1;
  EXPECT_FALSE(export_file(
      small, store, [](ByteView) -> Status { return {}; }, limits));
}

TEST(Exporter, ExportsDirectoryTreesToDisk) {
  testing::TempDir tmp;
  const auto source = tmp / "tree";
  std::filesystem::create_directories(source / "sub" / "deeper");
  std::filesystem::create_directories(source / "empty");
  testing::write_file(source / "a.txt", as_bytes(std::string_view("alpha")));
  testing::write_file(source / "sub" / "big.bin", testing::pseudo_random_bytes(3 * kChunk + 7, 4));
  testing::write_file(source / "sub" / "deeper" / "z", {});
  MemoryBlockStore store;
  const auto root = import_path(source, store).value().back().cid;
  const auto out = tmp / "out";
  ASSERT_TRUE(export_to_path(root, store, out));
  for (const char* file : {"a.txt", "sub/big.bin", "sub/deeper/z"}) {
    EXPECT_EQ(testing::read_file(out / file), testing::read_file(source / file)) << file;
  }
  EXPECT_TRUE(std::filesystem::is_directory(out / "empty"));
  // Re-importing the export gives the same root.
  EXPECT_EQ(import_path(out, store).value().back().cid, root);
  // The destination must not exist.
  const auto again = export_to_path(root, store, out);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::conflict);
  // A single file.
  const auto file_cid = import_bytes(as_bytes(std::string_view("hello world")), store)->cid;
  ASSERT_TRUE(export_to_path(file_cid, store, tmp / "hello.txt"));
  EXPECT_EQ(as_chars(testing::read_file(tmp / "hello.txt")), "hello world");
}

TEST(Exporter, ExportsHamtShardedDirectories) {
  testing::TempDir tmp;
  const auto source = tmp / "many";
  std::filesystem::create_directories(source / "sub");
  testing::write_file(source / "sub" / "x", as_bytes(std::string_view("x")));
  for (int i = 0; i < 700; ++i) {
    testing::write_file(source / ("n" + std::to_string(i)), as_bytes(std::to_string(i * i)));
  }
  ImportOptions options;
  options.shard_threshold = 2000;  // sub-shards under the root
  MemoryBlockStore store;
  const auto root = import_path(source, store, options).value().back().cid;
  EXPECT_EQ(unixfs::decode(*decode_pb_node(store.get(root).value())->data)->type,
            unixfs::DataType::hamt_shard);
  ASSERT_TRUE(export_to_path(root, store, tmp / "out"));
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(tmp / "out")) {
    (void)entry;
    ++count;
  }
  EXPECT_EQ(count, 701u);
  EXPECT_EQ(as_chars(testing::read_file(tmp / "out" / "n12")), "144");
  EXPECT_EQ(as_chars(testing::read_file(tmp / "out" / "sub" / "x")), "x");
  EXPECT_EQ(import_path(tmp / "out", store, options).value().back().cid, root);
}

TEST(Exporter, RefusesMalformedHamtShards) {
  testing::TempDir tmp;
  MemoryBlockStore store;
  const auto file = import_bytes(as_bytes(std::string_view("f")), store)->cid;
  const auto put_shard = [&](std::vector<PbLink> links, std::uint64_t fanout, std::uint64_t hash) {
    unixfs::Data data;
    data.type = unixfs::DataType::hamt_shard;
    data.data = Bytes{std::byte{1}};
    data.hash_type = hash;
    data.fanout = fanout;
    PbNode node;
    node.links = std::move(links);
    node.data = unixfs::encode(data);
    const auto block = encode_pb_node(node);
    const auto cid = Cid::of(codec::kDagPb, block);
    EXPECT_TRUE(store.put(cid, block));
    return cid;
  };
  const auto expect_code = [&](const Cid& cid, Errc code) {
    const auto result = export_to_path(cid, store, tmp / "out");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, code) << result.error().to_string();
    EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
  };
  expect_code(put_shard({PbLink{file, std::string("0"), 1}}, 256, 0x22), Errc::integrity);
  expect_code(put_shard({PbLink{file, std::string("00../x"), 1}}, 256, 0x22), Errc::integrity);
  expect_code(put_shard({PbLink{file, std::string("00"), 1}}, 256, 0x22), Errc::integrity);
  expect_code(put_shard({PbLink{file, std::string("00a"), 1}}, 100, 0x22), Errc::parse);
  expect_code(put_shard({PbLink{file, std::string("00a"), 1}}, 256, 0x12), Errc::unsupported);
  ASSERT_TRUE(export_to_path(put_shard({PbLink{file, std::string("00a"), 1}}, 256, 0x22), store,
                             tmp / "ok"));
  EXPECT_EQ(as_chars(testing::read_file(tmp / "ok" / "a")), "f");
}

Cid put_raw_directory(MemoryBlockStore& store, std::vector<PbLink> links) {
  PbNode node;
  node.links = std::move(links);
  node.data = unixfs::directory_data();
  const auto block = encode_pb_node(node);
  const auto cid = Cid::of(codec::kDagPb, block);
  EXPECT_TRUE(store.put(cid, block));
  return cid;
}

TEST(Exporter, RefusesHostileNamesAndLeavesNothingBehind) {
  testing::TempDir tmp;
  MemoryBlockStore store;
  const auto file = import_bytes(as_bytes(std::string_view("pwned")), store)->cid;
  for (const std::optional<std::string>& name :
       {std::optional<std::string>("../escape"), std::optional<std::string>(".."),
        std::optional<std::string>("."), std::optional<std::string>("a/b"),
        std::optional<std::string>(std::string("a\0b", 3)), std::optional<std::string>(""),
        std::optional<std::string>()}) {
    // A good entry first, so the export has begun writing when the bad one comes.
    const auto dir =
        put_raw_directory(store, {PbLink{file, std::string("good"), 5}, PbLink{file, name, 5}});
    const auto result = export_to_path(dir, store, tmp / "out");
    ASSERT_FALSE(result) << name.value_or("<none>");
    EXPECT_EQ(result.error().code, Errc::integrity);
    EXPECT_FALSE(std::filesystem::exists(tmp / "out"));
    EXPECT_TRUE(std::filesystem::is_empty(tmp.path())) << "temporary left behind";
  }
  const auto twice = put_raw_directory(
      store, {PbLink{file, std::string("x"), 5}, PbLink{file, std::string("x"), 5}});
  EXPECT_EQ(export_to_path(twice, store, tmp / "out").error().code, Errc::integrity);
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
}

TEST(Exporter, MissingBlockInATreeLeavesNothingAtTheDestination) {
  testing::TempDir tmp;
  MemoryBlockStore store;
  const auto a = import_bytes(as_bytes(std::string_view("a")), store)->cid;
  const auto b = import_bytes(as_bytes(std::string_view("b")), store)->cid;
  const auto dir =
      put_directory({DirectoryEntry{"a", a, 1, 1, true}, DirectoryEntry{"b", b, 1, 1, true}}, store)
          ->cid;
  ASSERT_TRUE(store.erase(b));
  const auto result = export_to_path(dir, store, tmp / "out");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::not_found);
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
}

TEST(Dag, BlockLinksByCodec) {
  MemoryBlockStore store;
  const auto data = testing::pseudo_random_bytes(2 * kChunk, 5);
  const auto root = import_bytes(data, store)->cid;
  const auto links = block_links(root, store.get(root).value()).value();
  EXPECT_EQ(links, (std::vector<Cid>{Cid::of(codec::kRaw, ByteView(data).first(kChunk)),
                                     Cid::of(codec::kRaw, ByteView(data).last(kChunk))}));
  EXPECT_TRUE(block_links(links[0], store.get(links[0]).value())->empty());
  EXPECT_EQ(block_links(Cid::of(codec::kDagCbor, {}), {}).error().code, Errc::unsupported);
  const auto garbage = to_bytes(std::string_view("\xff\xff"));
  EXPECT_EQ(block_links(Cid::of(codec::kDagPb, garbage), garbage).error().code, Errc::parse);
}

TEST(Dag, WalksPreOrderVisitingEachBlockOnce) {
  MemoryBlockStore store;
  // Two identical files in a directory share every block; a tree of three levels.
  testing::TempDir tmp;
  std::filesystem::create_directories(tmp / "d" / "s");
  const auto content = testing::pseudo_random_bytes(2 * kChunk + 3, 8);
  testing::write_file(tmp / "d" / "one", content);
  testing::write_file(tmp / "d" / "s" / "two", content);
  testing::write_file(tmp / "d" / "s" / "three", as_bytes(std::string_view("3")));
  const auto entries = import_path(tmp / "d", store).value();
  const auto root = entries.back().cid;

  std::vector<Cid> order;
  ASSERT_TRUE(walk_dag(root, store, [&](const Cid& cid, ByteView block) -> Status {
    EXPECT_TRUE(cid.matches(block).value());
    order.push_back(cid);
    return {};
  }));
  const auto file = entries[0].cid;  // d/one (and d/s/two)
  const auto leaf = [&](std::size_t i) {
    return Cid::of(codec::kRaw, ByteView(content).subspan(
                                    i * kChunk, std::min(kChunk, content.size() - i * kChunk)));
  };
  const auto s = entries[3].cid;
  const auto three = entries[1].cid;
  ASSERT_EQ(entries[3].path, "d/s");
  ASSERT_EQ(entries[1].path, "d/s/three");
  // d, one (file root), its 3 leaves, s, three ("three" < "two"); two is one: skipped.
  EXPECT_EQ(order, (std::vector<Cid>{root, file, leaf(0), leaf(1), leaf(2), s, three}));
  EXPECT_EQ(order.size(), store.size());

  // Errors from the visitor and from missing blocks stop the walk.
  int visited = 0;
  const auto stopped = walk_dag(root, store, [&](const Cid&, ByteView) -> Status {
    if (++visited == 3) return fail(Errc::io, "stop");
    return {};
  });
  ASSERT_FALSE(stopped);
  EXPECT_EQ(visited, 3);
  ASSERT_TRUE(store.erase(three));
  EXPECT_EQ(walk_dag(root, store, [](const Cid&, ByteView) -> Status { return {}; }).error().code,
            Errc::not_found);
}

TEST(Dag, IdentityCidsAreTheirOwnBlock) {
  MemoryBlockStore store;
  const Bytes inline_data = to_bytes(std::string_view("tiny"));
  const Cid identity = Cid::v1(codec::kRaw, Multihash{multihash_code::kIdentity, inline_data});
  std::vector<std::string> seen;
  ASSERT_TRUE(walk_dag(identity, store, [&](const Cid&, ByteView block) -> Status {
    seen.emplace_back(as_chars(block));
    return {};
  }));
  EXPECT_EQ(seen, std::vector<std::string>{"tiny"});
}

}  // namespace
}  // namespace cairn::store

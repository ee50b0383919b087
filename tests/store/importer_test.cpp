#include "store/importer.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/encoding.hpp"
#include "store/dag_pb.hpp"
#include "store/memory_blockstore.hpp"
#include "store/murmur3.hpp"
#include "store/unixfs.hpp"
#include "testing/testing.hpp"

namespace cairn::store {
namespace {

constexpr std::uint64_t kChunk = 262144;

// The pattern tests/store/js/vectors.mjs imports: byte i = (i*7 ^ i>>11 ^ i>>19) & 0xff.
void pattern_into(std::uint64_t offset, MutableByteView out) {
  for (std::size_t k = 0; k < out.size(); ++k) {
    const std::uint64_t i = offset + k;
    out[k] = static_cast<std::byte>(((i * 7) ^ (i >> 11) ^ (i >> 19)) & 0xff);
  }
}

// Streams `size` pattern bytes into the importer in pieces of an awkward size, so chunks
// straddle write() calls and some writes carry several chunks.
Result<ImportedFile> import_pattern(std::uint64_t size, BlockSink& sink, ImportOptions options = {},
                                    std::size_t piece = 1'000'003) {
  FileImporter importer(sink, std::move(options));
  Bytes buffer(piece);
  for (std::uint64_t done = 0; done < size;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(piece, size - done));
    pattern_into(done, MutableByteView(buffer).first(n));
    CAIRN_TRY(importer.write(ByteView(buffer).first(n)));
    done += n;
  }
  return importer.finish();
}

struct Vector {
  std::uint64_t size;
  const char* raw_leaves_cid;
  std::uint64_t raw_leaves_dag_size;
  const char* file_leaves_cid;
  std::uint64_t file_leaves_dag_size;
};

// From ipfs-unixfs-importer 17.1.1: `node tests/store/js/vectors.mjs`.
constexpr Vector kVectors[] = {
    {0, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", 0,
     "bafybeif7ztnhq65lumvvtr4ekcwd2ifwgm3awq4zfr3srh462rwyinlb4y", 6},
    {1, "bafkreidogqfzz75tpkmjzjke425xqcrmpcib2p5tg44hnbirumdbpl5adu", 1,
     "bafybeibyqyrkx66boqbutl5oktknecxgnl43cipcls3knonfmi727rdtnu", 9},
    {11, "bafkreiemzsnsdw4rkkmqgrbtgcu5z7z4uqi4pmlblprnimkvujjqxcwa74", 11,
     "bafybeifj3u4leylb47zrcnyddhgqot3fstdtqwfabkc64tfc6rrvkwfqxe", 19},
    {262143, "bafkreie6j5eaym7pu6qmuvrcwobzhjm3owu45iotd2zrx7w2gdfq5g3jru", 262143,
     "bafybeiec4alzry7sd3gcsi66iq3pftxswx5o3ptm3weyzwfvpwwyonde2q", 262157},
    {262144, "bafkreiaburryfbopgfueu7yezqtljxynxekxj7kd7nn2pyfn5qwa34w3ga", 262144,
     "bafybeidqhjrinne5dgwq4fofkaot2sgtsos6aqqude7l5rkqr4tvjuvmgu", 262158},
    {262145, "bafybeihtbcy446f2do5b4h5forajx35q4fy7lrl7e2xi3vhfe2cv3ijcdq", 262249,
     "bafybeiae2u7icytzlbsdnjjy64jpxgtbuhizdppfu7pz5glfbt7qpyqf4m", 262271},
    {524288, "bafybeihykwjwuix3n6i2itp3xltfvi7x6rvwbbns5ti4zai6uczkknuk4y", 524396,
     "bafybeiguuvmbcftwopnk3sji2oihgtjbgr2rosx6ruzkklxkg2wp5hdq4a", 524424},
    {786437, "bafybeigq3x7ofankxonq4khk7v2e5pslurg56rmrvjtne5wtthlny5adb4", 786641,
     "bafybeihlhkhib7kqb4ui2u7lea5icuykf5w5tuvhldwzd7ad75qqystwru", 786691},
    {45613055, "bafybeih4a2ah5r42fwnntp7t3f3watsfennj6qk2ttvvn2yzy6d2zohfi4", 45621765,
     "bafybeicvy76ppui4dzbjqlsgtyst6sy5s3ujoaln5weyjo7566bjaujeou", 45624201},
    {45613056, "bafybeieqbqxckxdbo4wqgfwjzzsystyt4i2cobolwiu73bmkkmh266qife", 45621766,
     "bafybeiei5g4xtzkaiwbacftl5wrrj6kea7i7f5jcxqeyk6bzkjbunurzom", 45624202},
    {45613057, "bafybeibmpqrsmyd4i547mfhwczpctutv2meweawuncjtkcqjj3jj7xh65q", 45621926,
     "bafybeietuqkwzdbqszzkmihauaalddg4py4ifrvhxzmv4jtphufdyxprn4", 45624370},
    {45875200, "bafybeia4udfkgvyr7frzyp5dpigserhc6o3lw4nkw2ltoqtit5kxub4q7a", 45884079,
     "bafybeiaq7xpts5nufmxxebi4x65udz3bibuxrwmuhrkxuzhspoknnhbobe", 45886529},
    {91226119, "bafybeie5lmdce3x4wiaykuthyvlxh5tggxyp7y3oclre2dlwzaodda73re", 91243750,
     "bafybeidd2jf6cyaybbnahcushvt3xmkz6ezdlw54rgdwbqvveswcko6msi", 91248630},
};

TEST(Importer, KnownVectors) {
  DiscardingSink sink;
  const auto hello = import_bytes(as_bytes(std::string_view("hello world")), sink);
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->cid.to_string(), "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
  EXPECT_EQ(hello->size, 11u);
  EXPECT_EQ(import_bytes({}, sink)->cid.to_string(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
}

// Every size class: empty, 1 byte, one chunk -1/0/+1, two chunks, 174 chunks -1/0/+1 byte
// (one level, then two), 175 chunks, two full 174-chunk subtrees and a bit.
TEST(Importer, MatchesReferenceForEverySizeClassWithRawLeaves) {
  for (const auto& v : kVectors) {
    DiscardingSink sink;
    const auto imported = import_pattern(v.size, sink);
    ASSERT_TRUE(imported) << imported.error().to_string();
    EXPECT_EQ(imported->cid.to_string(), v.raw_leaves_cid) << "size " << v.size;
    EXPECT_EQ(imported->size, v.size);
    EXPECT_EQ(imported->dag_size, v.raw_leaves_dag_size) << "size " << v.size;
  }
}

TEST(Importer, MatchesReferenceWithFileLeaves) {
  ImportOptions options;
  options.raw_leaves = false;
  for (const auto& v : kVectors) {
    if (v.size > 50'000'000) continue;  // the raw-leaves test covers the big ones
    DiscardingSink sink;
    const auto imported = import_pattern(v.size, sink, options, 77'777);
    ASSERT_TRUE(imported) << imported.error().to_string();
    EXPECT_EQ(imported->cid.to_string(), v.file_leaves_cid) << "size " << v.size;
    EXPECT_EQ(imported->dag_size, v.file_leaves_dag_size) << "size " << v.size;
  }
}

TEST(Importer, ResultDoesNotDependOnHowBytesArrive) {
  const auto data = testing::pseudo_random_bytes(3 * kChunk + 12345, 7);
  DiscardingSink sink;
  const auto whole = import_bytes(data, sink).value();
  for (std::size_t piece : {1ul, 4095ul, 262144ul, 262145ul, 1ul << 20}) {
    if (piece == 1 && data.size() > 1'000'000) {
      FileImporter importer(sink);
      // Byte-at-a-time over the first chunk boundary only (the rest in one go).
      for (std::size_t i = 0; i < kChunk + 10; ++i)
        ASSERT_TRUE(importer.write(ByteView(data).subspan(i, 1)));
      ASSERT_TRUE(importer.write(ByteView(data).subspan(kChunk + 10)));
      EXPECT_EQ(importer.finish()->cid, whole.cid);
      continue;
    }
    FileImporter importer(sink);
    for (std::size_t at = 0; at < data.size(); at += piece) {
      ASSERT_TRUE(importer.write(ByteView(data).subspan(at, std::min(piece, data.size() - at))));
    }
    EXPECT_EQ(importer.bytes_written(), data.size());
    EXPECT_EQ(importer.finish()->cid, whole.cid) << "piece " << piece;
  }
}

TEST(Importer, ParallelHashingStoresTheSameBlocksInTheSameOrder) {
  const auto data = testing::pseudo_random_bytes(37 * kChunk + 100, 17);
  class RecordingSink final : public BlockSink {
   public:
    Status put(const Cid& cid, ByteView) override {
      order.push_back(cid);
      return {};
    }
    std::vector<Cid> order;
  };
  RecordingSink serial;
  RecordingSink parallel;
  ImportOptions one;
  one.threads = 1;
  ImportOptions many;
  many.threads = 5;
  const auto a = import_bytes(data, serial, one).value();
  const auto b = import_bytes(data, parallel, many).value();
  EXPECT_EQ(a.cid, b.cid);
  EXPECT_EQ(serial.order, parallel.order);
  EXPECT_EQ(serial.order.size(), 37u + 1u + 1u);
}

TEST(Importer, StoresEveryBlockOfABalancedTree) {
  // 175 chunks: a root over a full 174-leaf node and a node over the one leaf left.
  MemoryBlockStore store;
  const auto data = testing::pseudo_random_bytes(174 * kChunk + 5, 11);
  const auto imported = import_bytes(data, store).value();
  EXPECT_EQ(store.size(), 175u + 2u + 1u);
  std::uint64_t stored = 0;
  for (const auto& [cid, block] : store.blocks())
    stored += block.size();
  EXPECT_EQ(stored, imported.dag_size);
  const auto root = decode_pb_node(store.get(imported.cid).value()).value();
  ASSERT_EQ(root.links.size(), 2u);
  const auto meta = unixfs::decode(*root.data).value();
  EXPECT_EQ(meta.type, unixfs::DataType::file);
  EXPECT_EQ(meta.filesize, data.size());
  EXPECT_EQ(meta.blocksizes, (std::vector<std::uint64_t>{174 * kChunk, 5}));
  for (const auto& link : root.links) {
    EXPECT_EQ(link.name, std::optional<std::string>(""));  // written, empty
    EXPECT_EQ(link.cid.codec(), codec::kDagPb);
  }
  const auto small = decode_pb_node(store.get(root.links[1].cid).value()).value();
  ASSERT_EQ(small.links.size(), 1u);
  EXPECT_EQ(small.links[0].cid, Cid::of(codec::kRaw, ByteView(data).last(5)));
  EXPECT_EQ(small.links[0].tsize, 5u);
}

TEST(Importer, ReportsProgressAndValidatesOptions) {
  std::vector<std::uint64_t> seen;
  ImportOptions options;
  options.progress = [&](std::uint64_t done) { seen.push_back(done); };
  DiscardingSink sink;
  ASSERT_TRUE(import_bytes(testing::pseudo_random_bytes(2 * kChunk + 1, 3), sink, options));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{kChunk, 2 * kChunk, 2 * kChunk + 1}));
  options.chunk_size = 0;
  const auto bad = import_bytes(as_bytes(std::string_view("x")), sink, options);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  ImportOptions narrow;
  narrow.max_links = 1;
  EXPECT_FALSE(import_bytes(as_bytes(std::string_view("x")), sink, narrow));
}

TEST(Importer, FinishTwiceAndWriteAfterFinishFail) {
  DiscardingSink sink;
  FileImporter importer(sink);
  ASSERT_TRUE(importer.write(as_bytes(std::string_view("abc"))));
  ASSERT_TRUE(importer.finish());
  EXPECT_FALSE(importer.finish());
  EXPECT_FALSE(importer.write(as_bytes(std::string_view("d"))));
}

class FailingSink final : public BlockSink {
 public:
  explicit FailingSink(int after) : left_(after) {}
  Status put(const Cid&, ByteView) override {
    if (left_-- <= 0) return fail(Errc::io, "disk full");
    return {};
  }

 private:
  int left_;
};

TEST(Importer, PassesSinkFailuresOn) {
  FailingSink sink(2);
  const auto result = import_bytes(testing::pseudo_random_bytes(5 * kChunk, 1), sink);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::io);
  EXPECT_NE(result.error().message.find("disk full"), std::string::npos);
}

TEST(Importer, ImportFileMatchesImportBytesAndNamesUnreadableFiles) {
  testing::TempDir dir;
  const auto data = testing::pseudo_random_bytes(20 * kChunk + 999, 5);
  testing::write_file(dir / "f.bin", data);
  DiscardingSink sink;
  EXPECT_EQ(import_file(dir / "f.bin", sink)->cid, import_bytes(data, sink)->cid);
  const auto missing = import_file(dir / "nope", sink);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::io);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
  const auto directory = import_file(dir.path(), sink);
  ASSERT_FALSE(directory);  // read() on a directory fails: EISDIR
  EXPECT_EQ(directory.error().code, Errc::io);
}

TEST(Importer, DirectoriesMatchTheReference) {
  // The tree /tmp/jsdir of `node tests/store/js/import.mjs jsdir`: a = "a\n",
  // sub/b = "b\n".
  testing::TempDir tmp;
  const auto root = tmp / "jsdir";
  std::filesystem::create_directories(root / "sub");
  testing::write_file(root / "a", as_bytes(std::string_view("a\n")));
  testing::write_file(root / "sub" / "b", as_bytes(std::string_view("b\n")));
  MemoryBlockStore store;
  const auto entries = import_path(root, store).value();
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].path, "jsdir/a");
  EXPECT_EQ(entries[1].path, "jsdir/sub/b");
  EXPECT_EQ(entries[2].path, "jsdir/sub");
  EXPECT_EQ(entries[3].path, "jsdir");
  EXPECT_EQ(entries[0].cid.to_string(),
            "bafkreiehikh4kiuahuyqmxt3zy6pap7eouewmmpf4b5326qp3zqmjtzfy4");
  EXPECT_EQ(entries[2].cid.to_string(),
            "bafybeiby6gxn26b3j5tst2axuaswvyndgondg3x23rkektbiytqp4w6s2i");
  EXPECT_EQ(entries[2].dag_size, 51u);
  EXPECT_EQ(entries[3].cid.to_string(),
            "bafybeic2x2ueg3akfbh57yhfs6tj5qujkg4yk7qhdpnuxxnvk4s67ntb7q");
  EXPECT_EQ(entries[3].dag_size, 149u);
  EXPECT_TRUE(entries[3].directory);
  EXPECT_FALSE(entries[0].directory);
  EXPECT_EQ(entries[3].size, 4u);
  // A trailing slash names the same directory.
  DiscardingSink sink;
  EXPECT_EQ(import_path(root.string() + "/", sink)->back().path, "jsdir");
}

TEST(Importer, EmptyDirectoryAndSingleFilePath) {
  testing::TempDir tmp;
  std::filesystem::create_directory(tmp / "empty");
  DiscardingSink sink;
  const auto empty = import_path(tmp / "empty", sink).value();
  ASSERT_EQ(empty.size(), 1u);
  // {Data: {Type: Directory}}: the reference's empty directory.
  EXPECT_EQ(empty[0].cid.to_string(),
            "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354");
  EXPECT_EQ(empty[0].dag_size, 4u);
  testing::write_file(tmp / "hello.txt", as_bytes(std::string_view("hello world")));
  const auto file = import_path(tmp / "hello.txt", sink).value();
  ASSERT_EQ(file.size(), 1u);
  EXPECT_EQ(file[0].path, "hello.txt");
  EXPECT_EQ(file[0].cid.to_string(), "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
}

TEST(Importer, RefusesSymlinksAndMissingPathsShardsHugeDirectories) {
  testing::TempDir tmp;
  std::filesystem::create_directory(tmp / "d");
  std::filesystem::create_symlink("/etc/passwd", tmp / "d" / "link");
  DiscardingSink sink;
  const auto link = import_path(tmp / "d", sink);
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error().code, Errc::unsupported);
  EXPECT_NE(link.error().message.find("symbolic link"), std::string::npos);
  const auto missing = import_path(tmp / "missing", sink);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);

  // 262144 / (36-byte CID + 64-byte name) = 2621.44: 2622 entries cross the threshold and
  // the directory becomes a HAMT shard.
  const Cid child = Cid::of(codec::kRaw, {});
  std::vector<DirectoryEntry> entries;
  for (int i = 0; i < 2621; ++i) {
    entries.push_back(DirectoryEntry{fmt::format("{:064d}", i), child, 0, 0, true});
  }
  MemoryBlockStore store;
  const auto flat = put_directory(entries, store).value();
  EXPECT_EQ(unixfs::decode(*decode_pb_node(store.get(flat.cid).value())->data)->type,
            unixfs::DataType::directory);
  entries.push_back(DirectoryEntry{fmt::format("{:064d}", 2621), child, 0, 0, true});
  const auto sharded = put_directory(entries, store).value();
  EXPECT_EQ(unixfs::decode(*decode_pb_node(store.get(sharded.cid).value())->data)->type,
            unixfs::DataType::hamt_shard);
}

TEST(Importer, PutDirectoryRejectsBadNames) {
  DiscardingSink sink;
  const Cid child = Cid::of(codec::kRaw, {});
  for (const std::string& name : {std::string(), std::string("a/b"), std::string("a\0b", 3)}) {
    EXPECT_FALSE(put_directory({DirectoryEntry{name, child, 0, 0, true}}, sink)) << name;
  }
  EXPECT_FALSE(put_directory(
      {DirectoryEntry{"x", child, 0, 0, true}, DirectoryEntry{"x", child, 0, 0, true}}, sink));
}

}  // namespace
}  // namespace cairn::store

namespace cairn::store {
namespace {

TEST(Murmur3, MatchesTheReference) {
  // Values from @multiformats/murmur3's murmur3128.
  const auto hex = [](std::string_view text) {
    const auto h = murmur3_x64_128(as_bytes(text));
    return to_hex(ByteView(reinterpret_cast<const std::byte*>(h.data()), h.size()));
  };
  EXPECT_EQ(hex(""), "00000000000000000000000000000000");
  EXPECT_EQ(hex("a"), "85555565f6597889e6b53a48510e895a");
  EXPECT_EQ(hex("hello"), "cbd8a7b341bd9b025b1e906a48ae1d19");
  EXPECT_EQ(hex("abcdefghijklmnop"), "c4ca3ca3224cb7234333d695b331eb1a");
  EXPECT_EQ(hex("abcdefghijklmnopq"), "7564747f88bda657ecda499da1110de4");
  EXPECT_EQ(hex("caf\xc3\xa9 and a longer name 0123456789"), "bf54d7b64e280dd4fc54604398e9271d");
}

TEST(Importer, SmallShardMatchesTheReference) {
  // `node tests/store/js/import.mjs --shard-threshold=100 d` over d/f0..f9 holding "0".."9".
  testing::TempDir tmp;
  std::filesystem::create_directory(tmp / "d");
  for (int i = 0; i < 10; ++i) {
    testing::write_file(tmp / "d" / fmt::format("f{}", i), as_bytes(std::to_string(i)));
  }
  ImportOptions options;
  options.shard_threshold = 100;
  MemoryBlockStore store;
  const auto root = import_path(tmp / "d", store, options).value().back();
  EXPECT_EQ(root.cid.to_string(), "bafybeiaixmlyek2fcoxwewfrggi6vwabihbvvc5xmkuveuh6oivkbxiawq");
  EXPECT_EQ(root.dag_size, 529u);
  const auto node = decode_pb_node(store.get(root.cid).value()).value();
  std::string names;
  for (const auto& link : node.links)
    names += *link.name + " ";
  EXPECT_EQ(names, "1Af2 3Df3 41f9 50f6 60f5 71f0 9Ff7 D7f1 DEf8 DFf4 ");
  EXPECT_EQ(to_hex(*node.data),
            "0805121cc08000000000000080000000000200010001000220000000040000002822308002");
}

}  // namespace
}  // namespace cairn::store

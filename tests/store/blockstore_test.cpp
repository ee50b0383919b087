#include "store/blockstore.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "store/importer.hpp"
#include "store/repo.hpp"
#include "testing/testing.hpp"

namespace cairn::store {
namespace {

std::unique_ptr<Blockstore> open_store(const std::filesystem::path& dir) {
  auto store = Blockstore::open(dir);
  EXPECT_TRUE(store) << store.error().to_string();
  return std::move(*store);
}

TEST(Blockstore, PutGetHasRemove) {
  testing::TempDir dir;
  auto store = open_store(dir / "blocks");
  const auto data = to_bytes("hello world");
  const Cid cid = Cid::of(codec::kRaw, data);
  EXPECT_FALSE(store->has(cid).value());
  EXPECT_EQ(store->get(cid).error().code, Errc::not_found);
  ASSERT_TRUE(store->put(cid, data));
  EXPECT_TRUE(store->has(cid).value());
  EXPECT_EQ(store->get(cid).value(), data);
  ASSERT_TRUE(store->remove(cid));
  EXPECT_FALSE(store->has(cid).value());
}

TEST(Blockstore, BlocksAreKeyedByMultihashSoV0AndV1Share) {
  testing::TempDir dir;
  auto store = open_store(dir / "blocks");
  const auto data = to_bytes("\x0a\x02\x08\x01");  // some dag-pb bytes
  const Cid v1 = Cid::of(codec::kDagPb, data);
  ASSERT_TRUE(store->put(v1, data));
  const Cid v0 = Cid::v0(v1.hash());
  EXPECT_EQ(store->get(v0).value(), data);
}

TEST(Blockstore, PersistsAcrossReopen) {
  testing::TempDir dir;
  const auto data = testing::pseudo_random_bytes(100000, 1);
  const Cid cid = Cid::of(codec::kRaw, data);
  {
    auto store = open_store(dir / "blocks");
    ASSERT_TRUE(store->put(cid, data));
    ASSERT_TRUE(store->flush());
  }
  auto store = open_store(dir / "blocks");
  EXPECT_EQ(store->get(cid).value(), data);
}

TEST(Blockstore, DetectsABlockThatNoLongerMatchesItsCid) {
  testing::TempDir dir;
  auto store = open_store(dir / "blocks");
  const Cid cid = Cid::of(codec::kRaw, to_bytes("the real bytes"));
  // Simulates on-disk corruption: bytes stored under a CID they do not hash to.
  ASSERT_TRUE(store->put(cid, to_bytes("tampered bytes")));
  const auto got = store->get(cid);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::integrity);
  EXPECT_NE(got.error().message.find(cid.to_string()), std::string::npos);
  const auto report = store->verify_all().value();
  EXPECT_EQ(report.blocks, 1u);
  EXPECT_EQ(report.problems.size(), 1u);
  // Putting the right bytes repairs it.
  ASSERT_TRUE(store->put(cid, to_bytes("the real bytes")));
  EXPECT_TRUE(store->get(cid));
  EXPECT_TRUE(store->verify_all().value().ok());
}

TEST(Blockstore, IdentityCidsNeedNoStorage) {
  testing::TempDir dir;
  auto store = open_store(dir / "blocks");
  const Cid cid = Cid::v1(codec::kRaw, Multihash{multihash_code::kIdentity, to_bytes("inline")});
  ASSERT_TRUE(store->put(cid, to_bytes("inline")));
  EXPECT_TRUE(store->has(cid).value());
  EXPECT_EQ(store->get(cid).value(), to_bytes("inline"));
  EXPECT_EQ(store->verify_all().value().blocks, 0u);
}

TEST(Blockstore, PinRequiresACompleteDagAndNamesTheMissingBlock) {
  testing::TempDir dir;
  auto store = open_store(dir / "blocks");
  const auto content = testing::pseudo_random_bytes(3 * 262144 + 5, 2);
  const auto file = import_bytes(content, *store).value();
  ASSERT_TRUE(store->pin(file.cid, "three chunks"));
  EXPECT_TRUE(store->is_pinned(file.cid).value());
  const auto pins = store->pins().value();
  ASSERT_EQ(pins.size(), 1u);
  EXPECT_EQ(pins[0].cid, file.cid);
  EXPECT_EQ(pins[0].name, "three chunks");

  // The same DAG with its second leaf gone cannot be pinned.
  ASSERT_TRUE(store->unpin(file.cid));
  const Cid second_leaf = Cid::of(codec::kRaw, ByteView(content).subspan(262144, 262144));
  ASSERT_TRUE(store->remove(second_leaf));
  const auto pinned = store->pin(file.cid);
  ASSERT_FALSE(pinned);
  EXPECT_EQ(pinned.error().code, Errc::not_found);
  EXPECT_NE(pinned.error().message.find(second_leaf.to_string()), std::string::npos);
  EXPECT_FALSE(store->is_pinned(file.cid).value());
  EXPECT_EQ(store->unpin(file.cid).error().code, Errc::not_found);
}

TEST(Blockstore, GcKeepsPinnedDagsAndFreesTheRest) {
  testing::TempDir dir;
  auto store = open_store(dir / "blocks");
  const auto kept_bytes = testing::pseudo_random_bytes(2 * 262144, 3);
  const auto dropped_bytes = testing::pseudo_random_bytes(3 * 262144, 4);
  const auto kept = import_bytes(kept_bytes, *store).value();
  const auto dropped = import_bytes(dropped_bytes, *store).value();
  ASSERT_TRUE(store->pin(kept.cid));
  const auto report = store->gc().value();
  EXPECT_EQ(report.blocks_kept, 3u);     // two leaves and their parent
  EXPECT_EQ(report.blocks_removed, 4u);  // three leaves and their parent
  EXPECT_GE(report.bytes_freed, dropped_bytes.size());
  EXPECT_TRUE(store->has(kept.cid).value());
  EXPECT_FALSE(store->has(dropped.cid).value());
  EXPECT_EQ(store->gc().value().blocks_removed, 0u);
}

std::uintmax_t disk_usage(const std::filesystem::path& dir) {
  std::uintmax_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

TEST(Blockstore, GcGivesTheDiskSpaceBack) {
  testing::TempDir dir;
  auto store = open_store(dir / "blocks");
  const auto kept = import_bytes(testing::pseudo_random_bytes(262144, 6), *store).value();
  ASSERT_TRUE(import_bytes(testing::pseudo_random_bytes(16u << 20, 7), *store));
  ASSERT_TRUE(store->pin(kept.cid));  // also flushes everything to disk
  const auto before = disk_usage(dir / "blocks");
  EXPECT_GT(before, 16u << 20);
  const auto report = store->gc().value();
  EXPECT_EQ(report.blocks_removed, 65u);  // 64 leaves and their parent
  const auto after = disk_usage(dir / "blocks");
  EXPECT_LT(after, before - (15u << 20)) << before << " -> " << after;
}

TEST(Blockstore, GcDeletesNothingWhenAPinnedDagIsDamaged) {
  testing::TempDir dir;
  auto store = open_store(dir / "blocks");
  const auto content = testing::pseudo_random_bytes(2 * 262144, 5);
  const auto file = import_bytes(content, *store).value();
  ASSERT_TRUE(store->pin(file.cid));
  const auto loose = to_bytes("unpinned");
  ASSERT_TRUE(store->put(Cid::of(codec::kRaw, loose), loose));
  ASSERT_TRUE(store->remove(Cid::of(codec::kRaw, ByteView(content).first(262144))));
  const auto report = store->gc();
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().message.find("nothing deleted"), std::string::npos);
  EXPECT_TRUE(store->has(Cid::of(codec::kRaw, loose)).value());
}

TEST(Blockstore, SecondWriterGetsAClearBusyError) {
  testing::TempDir dir;
  auto first = Repo::open(dir / "repo", RepoAccess::write);
  ASSERT_TRUE(first);
  const auto second = Repo::open(dir / "repo", RepoAccess::write);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::conflict);
  EXPECT_NE(second.error().message.find("in use by another"), std::string::npos)
      << second.error().message;
}

TEST(Blockstore, ReaderOpensReadOnlyBesideAWriter) {
  testing::TempDir dir;
  auto writer = Repo::open(dir / "repo", RepoAccess::write).value();
  const auto data = to_bytes("shared");
  const Cid cid = Cid::of(codec::kRaw, data);
  ASSERT_TRUE(writer->blocks().put(cid, data));
  ASSERT_TRUE(writer->blocks().flush());
  auto reader = Repo::open(dir / "repo", RepoAccess::read).value();
  EXPECT_TRUE(reader->blocks().read_only());
  EXPECT_EQ(reader->blocks().get(cid).value(), data);
  const auto refused = reader->blocks().put(cid, data);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::conflict);
}

// `cat` and `passport verify` open the repository to read: they leave no file behind (a
// read-write open started a new empty write-ahead log on every run).
TEST(Repo, ReadingLeavesNoNewFiles) {
  testing::TempDir dir;
  {
    auto writer = Repo::open(dir / "repo", RepoAccess::write).value();
    const auto data = to_bytes("kept");
    ASSERT_TRUE(writer->blocks().put(Cid::of(codec::kRaw, data), data));
  }
  auto count_files = [&] {
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator(dir / "repo" / "blocks")) {
      ++files;
    }
    return files;
  };
  const std::size_t before = count_files();
  for (int i = 0; i < 3; ++i) {
    auto reader = Repo::open(dir / "repo", RepoAccess::snapshot).value();
    EXPECT_TRUE(reader->blocks().read_only());
  }
  EXPECT_EQ(count_files(), before);
}

TEST(Repo, RefusesANonEmptyDirectoryThatIsNotARepository) {
  testing::TempDir dir;
  testing::write_file(dir / "someone-elses-file", as_bytes(std::string_view("x")));
  const auto repo = Repo::open(dir.path(), RepoAccess::write);
  ASSERT_FALSE(repo);
  EXPECT_NE(repo.error().message.find("not a cairn repository"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir / "someone-elses-file"));
}

TEST(Repo, RefusesAPathUnderAFile) {
  testing::TempDir dir;
  testing::write_file(dir / "file", as_bytes(std::string_view("x")));
  const auto repo = Repo::open(dir / "file" / "repo", RepoAccess::write);
  ASSERT_FALSE(repo);
  EXPECT_EQ(repo.error().code, Errc::invalid_argument);
  EXPECT_NE(repo.error().message.find((dir / "file").string() + ": exists and is not a directory"),
            std::string::npos)
      << repo.error().message;
}

TEST(Repo, IsCreatedOnFirstUseWithAVersionFile) {
  testing::TempDir dir;
  ASSERT_TRUE(Repo::open(dir / "new", RepoAccess::write));
  EXPECT_TRUE(std::filesystem::exists(dir / "new" / "version"));
  EXPECT_TRUE(std::filesystem::exists(dir / "new" / "blocks" / "CURRENT"));
  EXPECT_TRUE(Repo::open(dir / "new", RepoAccess::write));  // reopens
}

}  // namespace
}  // namespace cairn::store

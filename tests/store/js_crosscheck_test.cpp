// Cross-checks the importer against the JS reference itself: tests/store/js/import.mjs
// runs npm ipfs-unixfs-importer (with `ipfs add --cid-version=1`'s settings) over the same
// files and directory trees, and every entry's CID and size must agree. scripts/setup
// installs node_modules; without it this test fails rather than skip.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "store/importer.hpp"
#include "testing/testing.hpp"

namespace cairn::store {
namespace {

constexpr std::size_t kChunk = 262144;

struct Entry {
  std::string cid;
  std::uint64_t size;
  friend bool operator==(const Entry&, const Entry&) = default;
};
using Entries = std::map<std::string, Entry>;

void print_to(const Entry& e, std::ostream* os) {
  *os << e.cid << " (" << e.size << " bytes)";
}
std::ostream& operator<<(std::ostream& os, const Entry& e) {
  print_to(e, &os);
  return os;
}

Entries run_reference(const std::vector<std::filesystem::path>& paths, const std::string& flags) {
  const auto modules = testing::source_dir() / "node_modules" / "ipfs-unixfs-importer";
  if (!std::filesystem::exists(modules)) {
    ADD_FAILURE() << modules << " is missing: run scripts/setup to install the npm references";
    return {};
  }
  std::string command =
      "node " + (testing::source_dir() / "tests/store/js/import.mjs").string() + " " + flags;
  for (const auto& path : paths)
    command += " '" + path.string() + "'";
  const auto result = testing::run_command(command);
  if (result.exit_code != 0) {
    ADD_FAILURE() << "reference importer failed (" << result.exit_code << "): " << result.err;
    return {};
  }
  Entries entries;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) {
    const auto json = nlohmann::json::parse(line);
    entries[json.at("path").get<std::string>()] =
        Entry{json.at("cid").get<std::string>(), json.at("size").get<std::uint64_t>()};
  }
  return entries;
}

Entries run_cairn(const std::vector<std::filesystem::path>& paths, const ImportOptions& options) {
  Entries entries;
  DiscardingSink sink;
  for (const auto& path : paths) {
    const auto imported = import_path(path, sink, options);
    if (!imported) {
      ADD_FAILURE() << path << ": " << imported.error().to_string();
      continue;
    }
    for (const auto& e : *imported)
      entries[e.path] = Entry{e.cid.to_string(), e.dag_size};
  }
  return entries;
}

void expect_same(const Entries& reference, const Entries& ours) {
  ASSERT_FALSE(reference.empty());
  // The reference yields no entry for an empty directory (it still links it into its
  // parent, so the parent's CID covers it); cairn lists it, as `ipfs add -r` prints it.
  constexpr std::string_view kEmptyDirectory =
      "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354";
  for (const auto& [path, entry] : ours) {
    if (!reference.contains(path)) {
      EXPECT_EQ(entry.cid, kEmptyDirectory) << "cairn has an extra entry " << path;
    }
  }
  for (const auto& [path, entry] : reference) {
    const auto it = ours.find(path);
    if (it == ours.end()) {
      ADD_FAILURE() << "cairn has no entry " << path;
      continue;
    }
    EXPECT_EQ(it->second, entry) << path;
  }
}

// Files of every size class plus random sizes, in one directory (so the directory node is
// compared too).
TEST(JsCrosscheck, FilesOfManySizes) {
  testing::TempDir tmp;
  const auto dir = tmp / "files";
  std::filesystem::create_directory(dir);
  std::vector<std::size_t> sizes = {0,
                                    1,
                                    2,
                                    11,
                                    1000,
                                    kChunk - 1,
                                    kChunk,
                                    kChunk + 1,
                                    2 * kChunk,
                                    2 * kChunk + 1,
                                    174 * kChunk - 1,
                                    174 * kChunk,
                                    174 * kChunk + 1,
                                    175 * kChunk};
  std::mt19937_64 rng(20261122);
  for (int i = 0; i < 12; ++i)
    sizes.push_back(rng() % (6 * kChunk));
  for (int i = 0; i < 2; ++i)
    sizes.push_back(rng() % (30 * kChunk));
  std::uint64_t seed = 1;
  for (const auto size : sizes) {
    testing::write_file(dir / fmt::format("f{:02d}-{}", seed, size),
                        testing::pseudo_random_bytes(size, seed));
    ++seed;
  }
  expect_same(run_reference({dir}, ""), run_cairn({dir}, {}));
}

// Tiny chunks and narrow nodes give trees many levels deep from small files, so the
// balanced layout's folding is checked at every depth and every remainder; with file
// (non-raw) leaves too.
TEST(JsCrosscheck, DeepTreesWithSmallChunks) {
  testing::TempDir tmp;
  const auto dir = tmp / "small";
  std::filesystem::create_directory(dir);
  for (std::size_t size :
       {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 26, 27, 28, 80, 81, 82, 243, 244, 500, 1000}) {
    testing::write_file(dir / fmt::format("s{}", size),
                        testing::pseudo_random_bytes(size, size + 100));
  }
  ImportOptions options;
  options.chunk_size = 1;
  options.max_links = 3;
  expect_same(run_reference({dir}, "--chunk-size=1 --max-links=3"), run_cairn({dir}, options));
  options.chunk_size = 4;
  options.max_links = 2;
  options.raw_leaves = false;
  expect_same(run_reference({dir}, "--chunk-size=4 --max-links=2 --file-leaves"),
              run_cairn({dir}, options));
}

// A random tree: nested directories, empty ones, names whose byte order differs from
// other orders (case, UTF-8, prefixes, dots, spaces), hidden files, empty files.
TEST(JsCrosscheck, RandomDirectoryTree) {
  testing::TempDir tmp;
  const auto root = tmp / "tree";
  std::mt19937_64 rng(42);
  const std::vector<std::string> names = {"a", "B",  "aa", "a.b",     "a b", "\xc3\xa4",
                                          "Z", "_x", "-y", ".hidden", "a-",  "\xe2\x98\x83.txt",
                                          "0", "10", "9",  "ab",      "A"};
  std::uint64_t seed = 1000;
  std::function<void(const std::filesystem::path&, int)> fill =
      [&](const std::filesystem::path& dir, int depth) {
        std::filesystem::create_directories(dir);
        const int count = static_cast<int>(rng() % 7);
        for (int i = 0; i < count; ++i) {
          const auto name = names[rng() % names.size()] + (rng() % 3 == 0 ? std::to_string(i) : "");
          if (std::filesystem::exists(dir / name)) continue;
          if (depth < 4 && rng() % 3 == 0) {
            fill(dir / name, depth + 1);
          } else {
            const std::size_t size =
                rng() % 4 == 0 ? 0 : rng() % (rng() % 5 == 0 ? 3 * kChunk : 5000);
            testing::write_file(dir / name, testing::pseudo_random_bytes(size, ++seed));
          }
        }
      };
  fill(root, 0);
  std::filesystem::create_directories(root / "empty" / "nested-empty");
  const auto reference = run_reference({root}, "");
  EXPECT_GT(reference.size(), 10u);
  const auto ours = run_cairn({root}, {});
  EXPECT_TRUE(ours.contains("tree/empty/nested-empty"));
  expect_same(reference, ours);
}

// The sharding threshold, to the entry: 200-byte names + 36-byte CIDs are 236 bytes a link,
// and 1110 of them (261960 bytes) stay under 262144. A non-empty subdirectory does not count
// (the reference has no CID for it yet when it decides), so adding one keeps the directory
// flat even though its links now pass the threshold. One more file crosses it: both build a
// HAMT shard (subdirectories inside it included).
TEST(JsCrosscheck, ShardingThreshold) {
  testing::TempDir tmp;
  const auto wide = tmp / "wide";
  std::filesystem::create_directories(wide / std::string(200, 's'));
  testing::write_file(wide / std::string(200, 's') / "inner", as_bytes(std::string_view("x")));
  for (int i = 0; i < 1110; ++i) {
    testing::write_file(wide / fmt::format("{:0>200}", i), testing::pseudo_random_bytes(3, i));
  }
  expect_same(run_reference({wide}, ""), run_cairn({wide}, {}));

  testing::write_file(wide / fmt::format("{:0>200}", 1110), testing::pseudo_random_bytes(3, 1110));
  // The reference reports entries inside a shard under the shard's path, so compare roots.
  const auto reference = run_reference({wide}, "");
  DiscardingSink sink;
  const auto ours = import_path(wide, sink);
  ASSERT_TRUE(ours) << ours.error().to_string();
  ASSERT_TRUE(reference.contains("wide"));
  EXPECT_EQ((Entry{ours->back().cid.to_string(), ours->back().dag_size}), reference.at("wide"));
}

// A big sharded directory: with the threshold lowered to 8000 bytes, 1500 short names put
// several names in most of the 256 slots, so the shard has sub-shards (and sub-sub-shards).
TEST(JsCrosscheck, ShardedDirectoryWithSubShards) {
  testing::TempDir tmp;
  const auto big = tmp / "big";
  std::filesystem::create_directories(big / "nested");
  testing::write_file(big / "nested" / "inside", as_bytes(std::string_view("in")));
  for (int i = 0; i < 1500; ++i) {
    testing::write_file(big / fmt::format("file-{}.txt", i),
                        as_bytes(std::string_view(i % 2 ? "odd" : "even")));
  }
  const auto reference = run_reference({big}, "--shard-threshold=8000");
  ImportOptions options;
  options.shard_threshold = 8000;
  DiscardingSink sink;
  const auto ours = import_path(big, sink, options);
  ASSERT_TRUE(ours) << ours.error().to_string();
  ASSERT_TRUE(reference.contains("big"));
  EXPECT_EQ((Entry{ours->back().cid.to_string(), ours->back().dag_size}), reference.at("big"));
}

TEST(JsCrosscheck, FailsLoudlyWithoutNode) {
  // The reference tools must be where scripts/setup puts them: a missing node_modules is a
  // broken set-up, never a reason to skip the cross-checks above.
  EXPECT_TRUE(
      std::filesystem::exists(testing::source_dir() / "node_modules" / "ipfs-unixfs-importer"))
      << "run scripts/setup";
  EXPECT_EQ(testing::run_command("node --version").exit_code, 0) << "node is not on PATH";
}

}  // namespace
}  // namespace cairn::store

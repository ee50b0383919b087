// CARs cross-checked against npm @ipld/car both ways (tests/store/js/car_*.mjs): a CAR cairn
// writes is read by @ipld/car with the same roots and blocks (and @ipld/car rewriting those
// blocks produces the same bytes), and a CAR @ipld/car writes imports into cairn's store
// and exports back to the original files. scripts/setup installs node_modules; without it
// this test fails rather than skip.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "store/blockstore.hpp"
#include "store/car.hpp"
#include "store/exporter.hpp"
#include "store/importer.hpp"
#include "testing/testing.hpp"

namespace cairn::store {
namespace {

std::string script(const std::string& name) {
  return "node " + (testing::source_dir() / "tests/store/js" / name).string();
}

bool have_reference() {
  if (std::filesystem::exists(testing::source_dir() / "node_modules/@ipld/car")) return true;
  ADD_FAILURE() << "node_modules/@ipld/car is missing: run scripts/setup";
  return false;
}

void make_tree(const std::filesystem::path& root) {
  std::filesystem::create_directories(root / "nested" / "deeper");
  testing::write_file(root / "small.txt", as_bytes(std::string_view("small file\n")));
  testing::write_file(root / "empty", {});
  testing::write_file(root / "nested" / "two-levels.bin",
                      testing::pseudo_random_bytes(175 * 262144 + 1, 21));
  testing::write_file(root / "nested" / "deeper" / "boundary.bin",
                      testing::pseudo_random_bytes(262144, 22));
}

TEST(CarCrossCheck, IpldCarReadsCairnsCarAndRewritesItByteForByte) {
  if (!have_reference()) return;
  testing::TempDir dir;
  make_tree(dir / "tree");
  auto store = Blockstore::open(dir / "blocks").value();
  const Cid root = import_path(dir / "tree", *store).value().back().cid;
  ASSERT_TRUE(store->pin(root));
  const Bytes car = export_car(root, *store).value();
  testing::write_file(dir / "cairn.car", car);

  const auto read =
      testing::run_command(script("car_read.mjs") + " " + (dir / "cairn.car").string() +
                           " --rewrite " + (dir / "js.car").string());
  ASSERT_EQ(read.exit_code, 0) << read.err;
  const auto json = nlohmann::json::parse(read.out);
  ASSERT_EQ(json.at("roots").size(), 1u);
  EXPECT_EQ(json.at("roots")[0].get<std::string>(), root.to_string());
  const auto parsed = parse_car(car).value();
  ASSERT_EQ(json.at("blocks").size(), parsed.sections.size());
  for (std::size_t i = 0; i < parsed.sections.size(); ++i) {
    EXPECT_EQ(json["blocks"][i]["cid"].get<std::string>(), parsed.sections[i].cid.to_string());
    EXPECT_EQ(json["blocks"][i]["size"].get<std::size_t>(), parsed.sections[i].block.size());
  }
  EXPECT_TRUE(equal(testing::read_file(dir / "js.car"), car)) << "@ipld/car wrote different bytes";
}

TEST(CarCrossCheck, CairnImportsACarWrittenByIpldCar) {
  if (!have_reference()) return;
  testing::TempDir dir;
  make_tree(dir / "tree");
  const auto written = testing::run_command(
      script("car_write.mjs") + " " + (dir / "tree").string() + " " + (dir / "js.car").string());
  ASSERT_EQ(written.exit_code, 0) << written.err;
  const std::string js_root = nlohmann::json::parse(written.out).at("root").get<std::string>();

  auto store = Blockstore::open(dir / "blocks").value();
  const auto report = import_car_file(dir / "js.car", *store, {.existing = store.get()});
  ASSERT_TRUE(report) << report.error().to_string();
  ASSERT_EQ(report->roots.size(), 1u);
  EXPECT_EQ(report->roots[0].to_string(), js_root);
  ASSERT_TRUE(store->pin(report->roots[0]));
  // cairn's importer agrees on the root, and the files come back out unchanged.
  DiscardingSink discard;
  EXPECT_EQ(import_path(dir / "tree", discard).value().back().cid.to_string(), js_root);
  ASSERT_TRUE(export_to_path(report->roots[0], *store, dir / "out"));
  for (const auto* name :
       {"small.txt", "empty", "nested/two-levels.bin", "nested/deeper/boundary.bin"}) {
    EXPECT_EQ(testing::read_file(dir / "out" / name), testing::read_file(dir / "tree" / name))
        << name;
  }
}

}  // namespace
}  // namespace cairn::store

// `cairn learn partition`: shards on disk that learn's readers load back, the manifest's
// counts and hashes matching the files, determinism by seed, CSV shards, bad arguments.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "base/encoding.hpp"
#include "crypto/hash.hpp"
#include "learn/dataset.hpp"
#include "learn/torch/simulate.hpp"
#include "testing/testing.hpp"

namespace cairn {
namespace {

nlohmann::json last_json_line(const std::string& out) {
  const auto end = out.find_last_not_of('\n');
  const auto start = out.rfind('\n', end);
  return nlohmann::json::parse(out.substr(start == std::string::npos ? 0 : start + 1, end + 1));
}

std::string cairn_learn() {
  return testing::cairn_binary().string() + " learn partition";
}

// Loads an IDX shard and checks it against its manifest entry.
learn::Dataset load_checked_shard(const std::filesystem::path& root, const nlohmann::json& entry) {
  learn::Dataset out;
  for (const auto* file : {"images", "labels"}) {
    const auto bytes = testing::read_file(root / entry[file]["path"].get<std::string>());
    EXPECT_EQ(bytes.size(), entry[file]["bytes"].get<std::size_t>());
    EXPECT_EQ(to_hex(crypto::sha256(bytes)), entry[file]["sha256"].get<std::string>());
  }
  const auto images =
      learn::parse_idx(testing::read_file(root / entry["images"]["path"].get<std::string>()));
  const auto labels =
      learn::parse_idx(testing::read_file(root / entry["labels"]["path"].get<std::string>()));
  EXPECT_TRUE(images && labels);
  if (!images || !labels) return out;
  auto data = learn::dataset_from_idx(*images, *labels);
  EXPECT_TRUE(data);
  if (!data) return out;
  EXPECT_EQ(data->rows(), entry["rows"].get<std::size_t>());
  EXPECT_EQ(data->feature_shape, (std::vector<std::int64_t>{1, 28, 28}));
  std::vector<std::size_t> counts(10);
  for (auto label : data->labels)
    ++counts.at(static_cast<std::size_t>(label));
  EXPECT_EQ(counts, entry["label_counts"].get<std::vector<std::size_t>>());
  return std::move(*data);
}

TEST(LearnPartitionCli, FashionMnistShardsLoadBackAndFollowTheSeed) {
  if (!std::filesystem::exists(learn::kFashionMnistDir)) GTEST_SKIP() << "no Fashion-MNIST";
  testing::TempDir dir;
  const auto args =
      " --dataset fashion-mnist --clients 4 --partition dirichlet:0.5 --seed 7 --rows-per-client "
      "300"
      " --test-rows 100 --json --out ";
  const auto run = testing::run_command(cairn_learn() + args + (dir / "a").string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto json = last_json_line(run.out);
  EXPECT_EQ(json["format"], "idx");
  EXPECT_EQ(json["partition"], "dirichlet:0.5");
  ASSERT_EQ(json["providers"].size(), 4u);
  const auto manifest =
      nlohmann::json::parse(as_chars(testing::read_file(dir / "a" / "partition.json")));
  EXPECT_EQ(manifest["providers"], json["providers"]);
  std::set<std::string> digests;
  for (std::size_t k = 0; k < 4; ++k) {
    const auto& provider = json["providers"][k];
    EXPECT_EQ(provider["name"], "provider-" + std::to_string(k + 1));
    EXPECT_EQ(provider["images"]["path"], "provider-" + std::to_string(k + 1) + "/images.idx");
    EXPECT_LE(provider["rows"].get<std::size_t>(), 300u);
    EXPECT_GE(provider["rows"].get<std::size_t>(), 10u);
    load_checked_shard(dir / "a", provider);
    digests.insert(provider["images"]["sha256"].get<std::string>());
  }
  EXPECT_EQ(digests.size(), 4u) << "every provider holds different rows";
  // The test set is the head of Fashion-MNIST's t10k set, byte for byte.
  const auto test = load_checked_shard(dir / "a", json["test"]);
  EXPECT_EQ(test.rows(), 100u);
  const auto original = learn::load_fashion_mnist();
  ASSERT_TRUE(original);
  const auto head = original->test.head(100);
  EXPECT_EQ(test.labels, head.labels);
  EXPECT_EQ(test.features, head.features);

  // The same seed writes the same files.
  const auto again = testing::run_command(cairn_learn() + args + (dir / "b").string());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(last_json_line(again.out)["providers"], json["providers"]);
}

TEST(LearnPartitionCli, LabelShardsCoverTheTrainingSet) {
  if (!std::filesystem::exists(learn::kFashionMnistDir)) GTEST_SKIP() << "no Fashion-MNIST";
  testing::TempDir dir;
  const auto run = testing::run_command(
      cairn_learn() + " --clients 5 --partition shards:1 --seed 3 --test-rows 10 --json --out " +
      (dir / "out").string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto json = last_json_line(run.out);
  std::size_t total = 0;
  for (const auto& provider : json["providers"]) {
    total += provider["rows"].get<std::size_t>();
    // One shard of label-sorted rows spans at most two labels (60 000 / 5 is 2 classes).
    std::size_t labels_present = 0;
    for (auto count : provider["label_counts"].get<std::vector<std::size_t>>())
      labels_present += count > 0;
    EXPECT_LE(labels_present, 2u) << provider.dump();
  }
  EXPECT_EQ(total, 60000u);
  EXPECT_EQ(json["test"]["rows"], 10);
}

TEST(LearnPartitionCli, CsvShardsKeepTheHeaderAndReadWithTheSchema) {
  testing::TempDir dir;
  const std::string schema = "x:number\ncolour:category:red|blue\ny:label:a|b\n";
  std::string csv = "x,colour,y\n";
  for (int i = 0; i < 40; ++i)
    csv += std::to_string(i) + "," + (i % 3 ? "red" : "blue") + "," + (i % 2 ? "a" : "b") + "\n";
  csv += "99,red,zzz\n";  // unknown label: rejected by the reader, so by partition too
  csv += "1,2\n";         // wrong column count
  testing::write_file(dir / "schema.txt", as_bytes(std::string_view(schema)));
  testing::write_file(dir / "data.csv", as_bytes(std::string_view(csv)));
  const auto run = testing::run_command(
      cairn_learn() + " --dataset " + (dir / "data.csv").string() + " --schema " +
      (dir / "schema.txt").string() +
      " --clients 3 --partition iid --seed 5 --test-rows 7 --json --out " + (dir / "out").string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto json = last_json_line(run.out);
  EXPECT_EQ(json["format"], "csv");
  EXPECT_EQ(json["class_names"], (std::vector<std::string>{"a", "b"}));
  const auto parsed_schema = learn::parse_csv_schema(schema);
  ASSERT_TRUE(parsed_schema);
  std::set<float> seen_x;
  std::size_t total = 0;
  auto check = [&](const nlohmann::json& entry) {
    const auto bytes = testing::read_file(dir / "out" / entry["data"]["path"].get<std::string>());
    EXPECT_EQ(to_hex(crypto::sha256(bytes)), entry["data"]["sha256"].get<std::string>());
    const auto shard = learn::read_csv(as_chars(bytes), *parsed_schema);
    ASSERT_TRUE(shard) << shard.error().message;
    EXPECT_EQ(shard->issues.rejected_rows, 0u);
    EXPECT_EQ(shard->data.rows(), entry["rows"].get<std::size_t>());
    std::vector<std::size_t> counts(2);
    for (auto label : shard->data.labels)
      ++counts.at(static_cast<std::size_t>(label));
    EXPECT_EQ(counts, entry["label_counts"].get<std::vector<std::size_t>>());
    for (std::size_t r = 0; r < shard->data.rows(); ++r) {
      const float x = shard->data.features[r * shard->data.feature_size()];
      EXPECT_TRUE(seen_x.insert(x).second) << "row x=" << x << " written twice";
      // The label follows the row: odd x is "a" (class 0).
      EXPECT_EQ(shard->data.labels[r], static_cast<int>(x) % 2 ? 0 : 1);
    }
    total += shard->data.rows();
  };
  for (const auto& provider : json["providers"])
    check(provider);
  EXPECT_EQ(json["test"]["rows"], 7);
  check(json["test"]);
  EXPECT_EQ(total, 40u);
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "schema.txt"));
}

// `learn partition` and `learn simulate` hold out exactly the same test rows of a CSV for
// the same seed (both split with learn::split_rows), and another seed holds out others.
TEST(LearnPartitionCli, CsvTestRowsAreTheOnesSimulateTestsOn) {
  testing::TempDir dir;
  const std::string schema = "x:number\ny:label:a|b\n";
  std::string csv = "x,y\n";
  for (int i = 0; i < 60; ++i) {
    csv += std::to_string(i) + "," + (i % 2 ? "a" : "b") + "\n";
    if (i % 10 == 3) csv += "bad,zzz\n";  // rejected rows shift nothing
  }
  testing::write_file(dir / "schema.txt", as_bytes(std::string_view(schema)));
  testing::write_file(dir / "data.csv", as_bytes(std::string_view(csv)));
  const auto parsed_schema = learn::parse_csv_schema(schema);
  ASSERT_TRUE(parsed_schema);
  auto xs = [](const learn::Dataset& data) {
    std::vector<float> out;
    for (std::size_t r = 0; r < data.rows(); ++r)
      out.push_back(data.features[r * data.feature_size()]);
    std::sort(out.begin(), out.end());
    return out;
  };
  std::vector<std::vector<float>> held_out;
  for (const int seed : {5, 6}) {
    SCOPED_TRACE(seed);
    const auto out = dir / ("out-" + std::to_string(seed));
    const auto run =
        testing::run_command(cairn_learn() + " --dataset " + (dir / "data.csv").string() +
                             " --schema " + (dir / "schema.txt").string() + " --clients 3 --seed " +
                             std::to_string(seed) + " --json --out " + out.string());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto shard =
        learn::read_csv(as_chars(testing::read_file(out / "test" / "data.csv")), *parsed_schema);
    ASSERT_TRUE(shard) << shard.error().message;
    EXPECT_EQ(shard->data.rows(), 12u);  // a fifth of 60

    learn::SimulationConfig config;
    config.dataset = (dir / "data.csv").string();
    config.csv_schema = dir / "schema.txt";
    config.clients = 3;
    config.seed = static_cast<std::uint64_t>(seed);
    const auto data = learn::simulation_data(config);
    ASSERT_TRUE(data) << data.error().to_string();
    EXPECT_EQ(xs(data->test), xs(shard->data));
    EXPECT_EQ(data->train.rows(), 48u);
    held_out.push_back(xs(shard->data));
  }
  EXPECT_NE(held_out[0], held_out[1]);
}

TEST(LearnPartitionCli, BadArguments) {
  testing::TempDir dir;
  const auto no_out = testing::run_command(cairn_learn() + " --clients 2");
  EXPECT_NE(no_out.exit_code, 0);
  EXPECT_NE(no_out.err.find("--out"), std::string::npos) << no_out.err;
  const auto bad_partition =
      testing::run_command(cairn_learn() + " --partition zipf --out " + (dir / "x").string());
  EXPECT_EQ(bad_partition.exit_code, 2);
  EXPECT_NE(bad_partition.err.find("unknown partition"), std::string::npos) << bad_partition.err;
  testing::write_file(dir / "data.csv", as_bytes(std::string_view("x,y\n1,a\n")));
  const auto no_schema =
      testing::run_command(cairn_learn() + " --dataset " + (dir / "data.csv").string() + " --out " +
                           (dir / "y").string());
  EXPECT_NE(no_schema.exit_code, 0);
  EXPECT_NE(no_schema.err.find("--schema"), std::string::npos) << no_schema.err;
  testing::write_file(dir / "schema.txt", as_bytes(std::string_view("x:number\ny:label:a|b\n")));
  const auto too_few = testing::run_command(
      cairn_learn() + " --dataset " + (dir / "data.csv").string() + " --schema " +
      (dir / "schema.txt").string() + " --clients 2 --out " + (dir / "z").string());
  EXPECT_EQ(too_few.exit_code, 1);
  EXPECT_NE(too_few.err.find("too few"), std::string::npos) << too_few.err;
}

}  // namespace
}  // namespace cairn

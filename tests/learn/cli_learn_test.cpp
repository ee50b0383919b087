#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/testing.hpp"

namespace cairn {
namespace {

nlohmann::json last_json_line(const std::string& out) {
  const auto end = out.find_last_not_of('\n');
  const auto start = out.rfind('\n', end);
  return nlohmann::json::parse(out.substr(start == std::string::npos ? 0 : start + 1, end + 1));
}

TEST(LearnCli, SimulatePrintsProgressWritesCurveAndJson) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist"))
    GTEST_SKIP() << "no Fashion-MNIST";
  testing::TempDir dir;
  const auto cmd = testing::cairn_binary().string() +
                   " learn simulate --dataset fashion-mnist --clients 3 --rounds 2 --local-epochs "
                   "1 --batch-size 32"
                   " --lr 0.05 --partition dirichlet:0.5 --model logreg --aggregate fedavg "
                   "--secure mask --seed 3"
                   " --train-limit 600 --test-limit 300 --threads 1 --out " +
                   (dir / "out").string();
  const auto human = testing::run_command(cmd);
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.err.find("round   1/2: accuracy"), std::string::npos) << human.err;
  EXPECT_NE(human.err.find("train "), std::string::npos);
  EXPECT_NE(human.out.find("final accuracy"), std::string::npos);
  EXPECT_NE(human.out.find("shapley"), std::string::npos);
  const auto json_run = testing::run_command(cmd + " --json");
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  const auto json = last_json_line(json_run.out);
  EXPECT_TRUE(json["final_accuracy"].is_number());
  ASSERT_EQ(json["rounds"].size(), 2u);
  EXPECT_TRUE(json["rounds"][1]["accuracy"].is_number());
  EXPECT_EQ(json["final_accuracy"], json["rounds"][1]["accuracy"]);
  EXPECT_EQ(json["contributions"]["clients"].size(), 3u);
  for (const auto* phase : {"train", "encrypt", "aggregate", "decrypt", "evaluate"}) {
    EXPECT_TRUE(json["seconds"][phase].is_number()) << phase;
  }
  const auto csv = testing::read_file(dir / "out" / "curve.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), std::byte{'\n'}), 3);
  const auto svg = as_chars(testing::read_file(dir / "out" / "curve.svg"));
  EXPECT_TRUE(std::string(svg).starts_with("<svg"));
  for (const auto* file : {"model.pt", "state_dict.pt", "model.params", "result.json"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / "out" / file)) << file;
  }
  // Another party replays the contribution report.
  const auto verify =
      testing::run_command(testing::cairn_binary().string() + " learn verify-contributions " +
                           (dir / "out" / "result.json").string() + " --json");
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_EQ(last_json_line(verify.out)["verified_rounds"], 1);
}

TEST(LearnCli, BadArgumentsAreUsageErrors) {
  const auto bin = testing::cairn_binary().string();
  const auto partition = testing::run_command(bin + " learn simulate --partition zipf --rounds 1");
  EXPECT_EQ(partition.exit_code, 2);
  EXPECT_NE(partition.err.find("--partition: unknown partition"), std::string::npos)
      << partition.err;
  // Each bad value is refused by name before any work starts (these exited 1 before).
  for (const char* bad :
       {"--dropout 1.5", "--paillier-bits 511", "--paillier-bits 1024", "--partition bogus"}) {
    const auto refused = testing::run_command(bin + " learn simulate " + bad + " --rounds 1");
    EXPECT_EQ(refused.exit_code, 2) << bad << ": " << refused.err;
  }
  const auto small_key = testing::run_command(bin + " learn simulate --paillier-bits 1024");
  EXPECT_NE(small_key.err.find("--insecure-test-key"), std::string::npos) << small_key.err;
  const auto task_model = testing::run_command(bin + " task run --model resnet");
  EXPECT_EQ(task_model.exit_code, 2) << task_model.err;
  EXPECT_NE(task_model.err.find("--model must be one of logreg, mlp, cnn"), std::string::npos)
      << task_model.err;
  const auto clients = testing::run_command(bin + " learn simulate --clients 0");
  EXPECT_EQ(clients.exit_code, 2) << clients.err;
  const auto secure =
      testing::run_command(bin +
                           " learn simulate --secure paillier --aggregate median --rounds 1 "
                           "--train-limit 100 --test-limit 10 --model logreg");
  EXPECT_EQ(secure.exit_code, 1);
  EXPECT_NE(secure.err.find("individual updates"), std::string::npos) << secure.err;
}

TEST(LearnCli, QualityReportForCsv) {
  testing::TempDir dir;
  testing::write_file(dir / "schema.txt", as_bytes(std::string_view("x:number\ny:label:a|b\n")));
  testing::write_file(dir / "data.csv",
                      as_bytes(std::string_view("x,y\n1,a\n2,b\n,a\n1,a\n3,c\n")));
  const auto run = testing::run_command(testing::cairn_binary().string() +
                                        " learn quality --dataset " + (dir / "data.csv").string() +
                                        " --schema " + (dir / "schema.txt").string() + " --json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto json = last_json_line(run.out);
  EXPECT_EQ(json["rows"], 4);
  EXPECT_EQ(json["rejected_rows"], 1);
  EXPECT_EQ(json["missing_values"], 1);
  EXPECT_EQ(json["duplicate_rows"], 1);
}

}  // namespace
}  // namespace cairn

// state_dict.pt as Python's torch.load reads it. There is no Python torch on the build
// machine, so tests/learn/py/check_state_dict.py does what torch.load does with Python's
// standard library (zipfile, pickle with torch's weights_only globals, pickletools) and the
// test compares every name, shape, dtype and value with the model's.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "learn/torch/model.hpp"
#include "learn/torch/train.hpp"
#include "testing/testing.hpp"

namespace cairn::learn {
namespace {

bool have_python() {
  return testing::run_command("python3 -c 'import zipfile, pickle, pickletools'").exit_code == 0;
}

nlohmann::json check_with_python(const std::filesystem::path& state_dict,
                                 const ParameterSet& params, const std::filesystem::path& dir) {
  nlohmann::json expected;
  expected["tensors"] = nlohmann::json::array();
  std::size_t offset = 0;
  for (const auto& tensor : params.tensors) {
    const auto count = static_cast<std::size_t>(tensor.numel());
    std::vector<double> values(params.values.begin() + static_cast<std::ptrdiff_t>(offset),
                               params.values.begin() + static_cast<std::ptrdiff_t>(offset + count));
    expected["tensors"].push_back(
        {{"name", tensor.name}, {"shape", tensor.shape}, {"values", values}});
    offset += count;
  }
  const auto expected_path = dir / "expected.json";
  testing::write_file(expected_path, as_bytes(std::string_view(expected.dump())));
  const auto script = testing::source_dir() / "tests" / "learn" / "py" / "check_state_dict.py";
  const auto run = testing::run_command("python3 " + script.string() + " " + state_dict.string() +
                                        " " + expected_path.string());
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  const auto end = run.out.find_last_not_of('\n');
  const auto start = run.out.rfind('\n', end);
  return nlohmann::json::parse(run.out.substr(start == std::string::npos ? 0 : start + 1, end + 1));
}

TEST(StateDict, LoadsAsTorchLoadReadsIt) {
  if (!have_python()) GTEST_SKIP() << "python3 with zipfile/pickle/pickletools is not installed";
  set_torch_threads(1);
  testing::TempDir dir;
  for (const auto* name : {"cnn", "mlp", "logreg"}) {
    SCOPED_TRACE(name);
    auto model = Model::builtin(name, InputSpec{{1, 28, 28}, 10}, 7).value();
    const auto path = dir / (std::string(name) + ".pt");
    ASSERT_TRUE(model.save_state_dict(path));
    const auto params = model.parameters();
    const auto found = check_with_python(path, params, dir.path());
    ASSERT_TRUE(found["ok"].get<bool>()) << found.dump();
    ASSERT_EQ(found["tensors"].size(), params.tensors.size());
    for (std::size_t i = 0; i < params.tensors.size(); ++i) {
      EXPECT_EQ(found["tensors"][i]["name"], params.tensors[i].name);
      EXPECT_EQ(found["tensors"][i]["shape"].get<std::vector<std::int64_t>>(),
                params.tensors[i].shape);
      EXPECT_EQ(found["tensors"][i]["dtype"], "float32");
      EXPECT_EQ(found["tensors"][i]["location"], "cpu");
    }
    // Only globals torch.load(weights_only=True) accepts.
    for (const auto& global : found["globals"]) {
      const auto text = global.get<std::string>();
      EXPECT_TRUE(text == "torch._utils _rebuild_tensor_v2" || text == "torch FloatStorage" ||
                  text == "collections OrderedDict")
          << text;
    }
  }
  const auto cnn = check_with_python(
      dir / "cnn.pt", Model::builtin("cnn", InputSpec{{1, 28, 28}, 10}, 7)->parameters(),
      dir.path());
  EXPECT_EQ(cnn["tensors"][0]["name"], "conv1.weight");
  EXPECT_EQ(cnn["tensors"][0]["shape"], (std::vector<int>{6, 1, 5, 5}));
}

TEST(StateDict, CheckerRefusesWhatTorchLoadWouldNot) {
  if (!have_python()) GTEST_SKIP() << "python3 with zipfile/pickle/pickletools is not installed";
  set_torch_threads(1);
  testing::TempDir dir;
  auto model = Model::builtin("logreg", InputSpec{{1, 28, 28}, 10}, 3).value();
  ASSERT_TRUE(model.save_state_dict(dir / "model.pt"));
  // Another model's values under the same names: the checker sees the difference.
  auto other = Model::builtin("logreg", InputSpec{{1, 28, 28}, 10}, 4).value();
  const auto script = testing::source_dir() / "tests" / "learn" / "py" / "check_state_dict.py";
  nlohmann::json expected;
  std::size_t offset = 0;
  const auto other_params = other.parameters();
  for (const auto& tensor : other_params.tensors) {
    const auto count = static_cast<std::size_t>(tensor.numel());
    std::vector<double> values(
        other_params.values.begin() + static_cast<std::ptrdiff_t>(offset),
        other_params.values.begin() + static_cast<std::ptrdiff_t>(offset + count));
    expected["tensors"].push_back(
        {{"name", tensor.name}, {"shape", tensor.shape}, {"values", values}});
    offset += count;
  }
  testing::write_file(dir / "expected.json", as_bytes(std::string_view(expected.dump())));
  const auto differs =
      testing::run_command("python3 " + script.string() + " " + (dir / "model.pt").string() + " " +
                           (dir / "expected.json").string());
  EXPECT_NE(differs.exit_code, 0);
  EXPECT_NE(differs.out.find("values differ"), std::string::npos) << differs.out << differs.err;
  // Not a zip archive at all.
  testing::write_file(dir / "junk.pt", as_bytes(std::string_view("not a zip")));
  const auto junk =
      testing::run_command("python3 " + script.string() + " " + (dir / "junk.pt").string() + " " +
                           (dir / "expected.json").string());
  EXPECT_NE(junk.exit_code, 0);
}

}  // namespace
}  // namespace cairn::learn

#include "learn/torch/model.hpp"

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "base/file.hpp"

namespace cairn::learn {
namespace {

// PyTorch's default initialisation for Linear and Conv2d (kaiming_uniform with a = sqrt(5),
// which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias).
torch::jit::Module layer(const std::shared_ptr<torch::jit::CompilationUnit>& cu,
                         const std::string& type, std::vector<std::int64_t> weight_shape,
                         std::int64_t fan_in) {
  torch::jit::Module module(c10::QualifiedName("__torch__.cairn." + type), cu, true);
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  auto weight = (torch::rand(weight_shape) * 2 - 1) * bound;
  auto bias = (torch::rand({weight_shape[0]}) * 2 - 1) * bound;
  module.register_parameter("weight", weight, false);
  module.register_parameter("bias", bias, false);
  return module;
}

std::int64_t product(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape)
    n *= d;
  return n;
}

Status check_forward(torch::jit::Module& module, const InputSpec& input, const std::string& name) {
  std::vector<std::int64_t> shape{2};
  shape.insert(shape.end(), input.feature_shape.begin(), input.feature_shape.end());
  try {
    torch::NoGradGuard no_grad;
    auto out = module.forward({torch::zeros(shape)}).toTensor();
    if (out.dim() != 2 || out.size(0) != 2 || out.size(1) != input.num_classes) {
      return fail(
          Errc::invalid_argument,
          fmt::format("model {} maps a batch of {} to shape {}, expected [2, {}]", name,
                      fmt::join(shape, "x"), fmt::join(out.sizes(), "x"), input.num_classes));
    }
  } catch (const std::exception& e) {
    return fail(Errc::invalid_argument, fmt::format("model {} rejects inputs of shape {}: {}", name,
                                                    fmt::join(shape, "x"), e.what()));
  }
  return {};
}

// The first line of a built-in's forward: the input standardisation, or nothing.
std::string standardise_line(const InputSpec& input) {
  if (input.input_mean == 0.0f && input.input_std == 1.0f) return "";
  return fmt::format("    x = (x - {:.9g}) / {:.9g}\n", input.input_mean, input.input_std);
}

}  // namespace

FeatureMoments feature_moments(const std::vector<float>& features) {
  if (features.empty()) return {};
  double sum = 0;
  for (float v : features)
    sum += v;
  const double mean = sum / static_cast<double>(features.size());
  double squares = 0;
  for (float v : features)
    squares += (v - mean) * (v - mean);
  const double std = std::sqrt(squares / static_cast<double>(features.size()));
  if (!(std > 1e-12) || !std::isfinite(mean)) return {};
  return {static_cast<float>(mean), static_cast<float>(std)};
}

Result<Model> Model::builtin(std::string_view name, const InputSpec& input, std::uint64_t seed) {
  torch::manual_seed(seed);
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  const std::int64_t features = product(input.feature_shape);
  const std::int64_t classes = input.num_classes;
  if (features <= 0 || classes < 2)
    return fail(Errc::invalid_argument, "model needs features and at least 2 classes");
  if (!std::isfinite(input.input_mean) || !std::isfinite(input.input_std) ||
      !(input.input_std > 0)) {
    return fail(Errc::invalid_argument,
                fmt::format("input standardisation needs a finite mean and a positive standard "
                            "deviation, not {} and {}",
                            input.input_mean, input.input_std));
  }
  const std::string standardise = standardise_line(input);
  if (name == "logreg") {
    torch::jit::Module m(c10::QualifiedName("__torch__.cairn.LogReg"), cu, true);
    m.register_module("fc", layer(cu, "Linear", {classes, features}, features));
    m.define("def forward(self, x):\n" + standardise + R"(
    return torch.linear(torch.flatten(x, 1), self.fc.weight, self.fc.bias)
)");
    return Model(std::move(m), "logreg");
  }
  if (name == "mlp") {
    torch::jit::Module m(c10::QualifiedName("__torch__.cairn.MLP"), cu, true);
    m.register_module("fc1", layer(cu, "Linear", {200, features}, features));
    m.register_module("fc2", layer(cu, "Linear", {200, 200}, 200));
    m.register_module("fc3", layer(cu, "Linear", {classes, 200}, 200));
    m.define("def forward(self, x):\n" + standardise + R"(
    x = torch.flatten(x, 1)
    x = torch.relu(torch.linear(x, self.fc1.weight, self.fc1.bias))
    x = torch.relu(torch.linear(x, self.fc2.weight, self.fc2.bias))
    return torch.linear(x, self.fc3.weight, self.fc3.bias)
)");
    return Model(std::move(m), "mlp");
  }
  if (name == "cnn") {
    // NIID-Bench's SimpleCNNMNIST: conv 6@5x5, pool, conv 16@5x5, pool, fc 120, fc 84, fc 10.
    if (input.feature_shape != std::vector<std::int64_t>{1, 28, 28}) {
      return fail(Errc::invalid_argument,
                  fmt::format("the cnn model takes 1x28x28 images, the data has {}",
                              fmt::join(input.feature_shape, "x")));
    }
    torch::jit::Module m(c10::QualifiedName("__torch__.cairn.CNN"), cu, true);
    m.register_module("conv1", layer(cu, "Conv2d", {6, 1, 5, 5}, 1 * 25));
    m.register_module("conv2", layer(cu, "Conv2d", {16, 6, 5, 5}, 6 * 25));
    m.register_module("fc1", layer(cu, "Linear", {120, 256}, 256));
    m.register_module("fc2", layer(cu, "Linear", {84, 120}, 120));
    m.register_module("fc3", layer(cu, "Linear", {classes, 84}, 84));
    m.define("def forward(self, x):\n" + standardise + R"(
    x = torch.max_pool2d(torch.relu(torch.conv2d(x, self.conv1.weight, self.conv1.bias)), 2)
    x = torch.max_pool2d(torch.relu(torch.conv2d(x, self.conv2.weight, self.conv2.bias)), 2)
    x = torch.flatten(x, 1)
    x = torch.relu(torch.linear(x, self.fc1.weight, self.fc1.bias))
    x = torch.relu(torch.linear(x, self.fc2.weight, self.fc2.bias))
    return torch.linear(x, self.fc3.weight, self.fc3.bias)
)");
    return Model(std::move(m), "cnn");
  }
  return fail(Errc::invalid_argument,
              fmt::format("unknown built-in model '{}' (logreg, mlp, cnn)", name));
}

Result<Model> Model::load(const std::filesystem::path& path, const InputSpec& input) {
  if (!std::filesystem::exists(path))
    return fail(Errc::not_found, fmt::format("no model file {}", path.string()));
  torch::jit::Module module;
  try {
    module = torch::jit::load(path.string());
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return fail(Errc::parse,
                fmt::format("{} is not a TorchScript module: {}", path.string(), what));
  }
  CAIRN_TRY(check_forward(module, input, path.filename().string()));
  return Model(std::move(module), path.filename().string());
}

bool Model::is_builtin(std::string_view name) {
  return std::find(kBuiltinNames.begin(), kBuiltinNames.end(), name) != kBuiltinNames.end();
}

Result<Model> Model::from_spec(std::string_view spec, const InputSpec& input, std::uint64_t seed) {
  if (is_builtin(spec)) return builtin(spec, input, seed);
  return load(std::filesystem::path(std::string(spec)), input);
}

Model Model::clone() const {
  return Model(module_.deepcopy(), name_);
}

torch::Tensor Model::forward(const torch::Tensor& batch) {
  return module_.forward({batch}).toTensor();
}

std::vector<torch::Tensor> Model::trainable() {
  std::vector<torch::Tensor> out;
  for (const auto& p : module_.parameters()) {
    p.set_requires_grad(true);
    out.push_back(p);
  }
  return out;
}

ParameterSet Model::parameters(std::uint64_t version) const {
  ParameterSet set;
  set.model_version = version;
  for (const auto& item : module_.named_parameters()) {
    const auto tensor = item.value.detach().to(torch::kFloat32).contiguous();
    set.tensors.push_back(TensorInfo{item.name, tensor.sizes().vec()});
    const float* data = tensor.data_ptr<float>();
    set.values.insert(set.values.end(), data, data + tensor.numel());
  }
  return set;
}

Status Model::set_parameters(const ParameterSet& params) {
  const auto mine = parameters();
  if (!mine.same_layout(params)) {
    return fail(Errc::invalid_argument,
                fmt::format("parameters do not fit model {}: layouts differ ({} tensors vs {})",
                            name_, params.tensors.size(), mine.tensors.size()));
  }
  return set_values(params.values);
}

Status Model::set_values(const std::vector<float>& values) {
  torch::NoGradGuard no_grad;
  std::size_t offset = 0;
  std::int64_t total = 0;
  for (const auto& p : module_.parameters())
    total += p.numel();
  if (static_cast<std::int64_t>(values.size()) != total) {
    return fail(Errc::invalid_argument, fmt::format("{} values for model {} with {} parameters",
                                                    values.size(), name_, total));
  }
  for (auto p : module_.parameters()) {
    auto source =
        torch::from_blob(const_cast<float*>(values.data() + offset), p.sizes(), torch::kFloat32);
    p.copy_(source);
    offset += static_cast<std::size_t>(p.numel());
  }
  return {};
}

Status Model::save_torchscript(const std::filesystem::path& path) const {
  try {
    module_.save(path.string());
  } catch (const std::exception& e) {
    return fail(Errc::io, fmt::format("saving TorchScript to {}: {}", path.string(), e.what()));
  }
  return {};
}

Status Model::save_state_dict(const std::filesystem::path& path) const {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& item : module_.named_parameters())
    dict.insert(item.name, item.value.detach().clone());
  // torch::pickle_save, except that the dict is not wrapped in
  // torch.jit._pickle.restore_type_tag(..., "Dict[str, Tensor]") (tag_aggregates = false):
  // that global is outside what torch.load(weights_only=True), the default since PyTorch
  // 2.6, accepts. What remains is exactly torch.save's layout for a dict of tensors.
  std::vector<char> pickle;
  std::vector<char> archive;
  try {
    torch::jit::Pickler pickler(
        [&](const char* data, std::size_t size) { pickle.insert(pickle.end(), data, data + size); },
        nullptr, nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
    pickler.protocol();
    pickler.pushIValue(c10::IValue(dict));
    pickler.stop();
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, std::size_t size) {
      const auto* bytes = static_cast<const char*>(data);
      archive.insert(archive.end(), bytes, bytes + size);
      return size;
    });
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    std::size_t index = 0;
    for (const auto& tensor : pickler.tensorData()) {
      const auto writable = torch::jit::getWriteableTensorData(tensor);
      writer.writeRecord("data/" + std::to_string(index++), writable.data(),
                         writable.sizeInBytes());
    }
    writer.writeEndOfFile();
  } catch (const std::exception& e) {
    return fail(Errc::internal, fmt::format("serialising the state_dict: {}", e.what()));
  }
  return file::write_atomic(path, std::string_view(archive.data(), archive.size()));
}

Result<std::vector<std::pair<std::string, torch::Tensor>>> load_state_dict(
    const std::filesystem::path& path) {
  CAIRN_TRY_ASSIGN(const Bytes contents, file::read(path, file::kLargeFileCap));
  const std::vector<char> bytes(reinterpret_cast<const char*>(contents.data()),
                                reinterpret_cast<const char*>(contents.data()) + contents.size());
  try {
    const auto value = torch::pickle_load(bytes);
    if (!value.isGenericDict())
      return fail(Errc::parse, fmt::format("{} does not hold a dict", path.string()));
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& entry : value.toGenericDict()) {
      if (!entry.key().isString() || !entry.value().isTensor()) {
        return fail(Errc::parse,
                    fmt::format("{}: state_dict entries must be name -> tensor", path.string()));
      }
      out.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
    }
    return out;
  } catch (const std::exception& e) {
    return fail(Errc::parse,
                fmt::format("{} is not a torch.save file: {}", path.string(), e.what()));
  }
}

}  // namespace cairn::learn

#pragma once
// Models as TorchScript modules. The built-ins (logistic regression, an MLP and
// NIID-Bench's CNN) are defined in TorchScript here, so every model — built-in or written
// in PyTorch by a model provider and exported with torch.jit.save — is trained, exchanged
// and exported the same way.

#include <torch/script.h>

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "learn/params.hpp"

namespace cairn::learn {

struct InputSpec {
  std::vector<std::int64_t> feature_shape;  // per example, e.g. {1, 28, 28}
  std::int64_t num_classes = 10;
  // The built-in models standardise their input first, x' = (x - input_mean) / input_std,
  // inside the module (so the exported model takes the raw features); 0 and 1 leave the
  // input as it is. Constants of the model, not parameters: they are not trained and do
  // not travel in the parameter format.
  float input_mean = 0.0f;
  float input_std = 1.0f;
};

// The mean and standard deviation over every feature value of `data` (what InputSpec's
// input_mean and input_std are set to); {0, 1} for an empty or constant dataset.
struct FeatureMoments {
  float mean = 0.0f;
  float std = 1.0f;
};
[[nodiscard]] FeatureMoments feature_moments(const std::vector<float>& features);

class Model {
 public:
  // The built-in architectures, by name.
  static constexpr std::array<std::string_view, 3> kBuiltinNames{"logreg", "mlp", "cnn"};
  [[nodiscard]] static bool is_builtin(std::string_view name);
  // "logreg", "mlp", "cnn" (the CNN needs 1x28x28 inputs). Fails on a non-finite or
  // non-positive input_std.
  [[nodiscard]] static Result<Model> builtin(std::string_view name, const InputSpec& input,
                                             std::uint64_t seed);
  // A TorchScript file (torch.jit.save), checked with one forward pass of the input shape.
  [[nodiscard]] static Result<Model> load(const std::filesystem::path& path,
                                          const InputSpec& input);
  // A built-in name or a file path.
  [[nodiscard]] static Result<Model> from_spec(std::string_view spec, const InputSpec& input,
                                               std::uint64_t seed);

  [[nodiscard]] Model clone() const;
  const std::string& name() const { return name_; }

  torch::Tensor forward(const torch::Tensor& batch);
  void train(bool on) { module_.train(on); }
  std::vector<torch::Tensor> trainable();

  [[nodiscard]] ParameterSet parameters(std::uint64_t version = 0) const;
  [[nodiscard]] Status set_parameters(const ParameterSet& params);
  [[nodiscard]] Status set_values(const std::vector<float>& values);

  // torch.jit.load-able TorchScript, and a state_dict that Python's torch.load reads
  // (torch::pickle_save's zip format) as {name: tensor}.
  [[nodiscard]] Status save_torchscript(const std::filesystem::path& path) const;
  [[nodiscard]] Status save_state_dict(const std::filesystem::path& path) const;

 private:
  Model(torch::jit::Module module, std::string name)
      : module_(std::move(module)), name_(std::move(name)) {}
  torch::jit::Module module_;
  std::string name_;
};

// Reads a state_dict written by save_state_dict (or torch.save of a dict of tensors).
[[nodiscard]] Result<std::vector<std::pair<std::string, torch::Tensor>>> load_state_dict(
    const std::filesystem::path& path);

}  // namespace cairn::learn

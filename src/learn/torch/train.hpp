#pragma once
// Local training and evaluation with libtorch.

#include <torch/torch.h>

#include <cstdint>

#include "base/error.hpp"
#include "learn/dataset.hpp"
#include "learn/torch/model.hpp"

namespace cairn::learn {

struct TrainConfig {
  enum class Optimizer { sgd, adam } optimizer = Optimizer::sgd;
  double lr = 0.01;
  double momentum = 0.9;       // SGD only (NIID-Bench uses 0.9)
  double weight_decay = 1e-5;  // NIID-Bench's default
  int epochs = 1;
  int batch_size = 64;
  double prox_mu = 0;      // FedProx: adds mu/2 * ||w - w_global||^2 to the loss
  std::uint64_t seed = 1;  // batch order
};

struct TrainResult {
  double mean_loss = 0;  // over the last epoch's batches
  std::size_t samples = 0;
  std::size_t steps = 0;
};

struct Evaluation {
  double accuracy = 0;
  double loss = 0;
};

// A dataset as tensors: features [N, ...feature_shape] float, labels [N] int64.
struct TensorData {
  torch::Tensor x;
  torch::Tensor y;
  [[nodiscard]] std::int64_t rows() const { return y.defined() ? y.size(0) : 0; }
};
[[nodiscard]] TensorData to_tensors(const Dataset& data);

// Trains `model` in place from its current parameters. `anchor` (the round's global model
// parameters) is required when prox_mu > 0.
[[nodiscard]] Result<TrainResult> train_local(Model& model, const TensorData& data,
                                              const TrainConfig& config);
[[nodiscard]] Evaluation evaluate(Model& model, const TensorData& data,
                                  std::int64_t batch_size = 1000);

// libtorch's intra-op threads (the machine's cores by default); set once per process.
void set_torch_threads(int threads);

}  // namespace cairn::learn

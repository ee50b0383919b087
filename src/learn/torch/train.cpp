#include "learn/torch/train.hpp"

#include <fmt/format.h>

#include "learn/rng.hpp"

namespace cairn::learn {

TensorData to_tensors(const Dataset& data) {
  std::vector<std::int64_t> shape{static_cast<std::int64_t>(data.rows())};
  shape.insert(shape.end(), data.feature_shape.begin(), data.feature_shape.end());
  TensorData out;
  out.x =
      torch::from_blob(const_cast<float*>(data.features.data()), shape, torch::kFloat32).clone();
  out.y = torch::from_blob(const_cast<std::int64_t*>(data.labels.data()),
                           {static_cast<std::int64_t>(data.rows())}, torch::kInt64)
              .clone();
  return out;
}

Result<TrainResult> train_local(Model& model, const TensorData& data, const TrainConfig& config) {
  if (data.rows() == 0) return fail(Errc::invalid_argument, "no training data");
  if (config.batch_size < 1 || config.epochs < 1 || !(config.lr > 0)) {
    return fail(Errc::invalid_argument, "batch size, epochs and learning rate must be positive");
  }
  auto params = model.trainable();
  std::vector<torch::Tensor> anchor;
  if (config.prox_mu > 0) {
    for (const auto& p : params)
      anchor.push_back(p.detach().clone());
  }
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (config.optimizer == TrainConfig::Optimizer::sgd) {
    optimizer = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(config.lr)
                                                                .momentum(config.momentum)
                                                                .weight_decay(config.weight_decay));
  } else {
    optimizer = std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(config.lr).weight_decay(config.weight_decay));
  }
  model.train(true);
  Rng rng(config.seed);
  const std::int64_t n = data.rows();
  TrainResult result;
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (int epoch = 0; epoch < config.epochs; ++epoch) {
    for (std::int64_t i = 0; i < n; ++i)
      order[static_cast<std::size_t>(i)] = i;
    rng.shuffle(std::span(order));
    const auto index = torch::from_blob(order.data(), {n}, torch::kInt64);
    double loss_sum = 0;
    std::size_t batches = 0;
    for (std::int64_t start = 0; start < n; start += config.batch_size) {
      const auto end = std::min<std::int64_t>(n, start + config.batch_size);
      const auto batch_index = index.slice(0, start, end);
      const auto x = data.x.index_select(0, batch_index);
      const auto y = data.y.index_select(0, batch_index);
      optimizer->zero_grad();
      auto loss = torch::nn::functional::cross_entropy(model.forward(x), y);
      if (config.prox_mu > 0) {
        auto prox = torch::zeros({}, torch::kFloat32);
        for (std::size_t k = 0; k < params.size(); ++k)
          prox = prox + (params[k] - anchor[k]).pow(2).sum();
        loss = loss + (config.prox_mu / 2.0) * prox;
      }
      loss.backward();
      optimizer->step();
      loss_sum += loss.item<double>();
      ++batches;
      ++result.steps;
      result.samples += static_cast<std::size_t>(end - start);
    }
    result.mean_loss = loss_sum / static_cast<double>(std::max<std::size_t>(batches, 1));
  }
  model.train(false);
  for (auto& p : params)
    p.set_requires_grad(false);
  return result;
}

Evaluation evaluate(Model& model, const TensorData& data, std::int64_t batch_size) {
  torch::NoGradGuard no_grad;
  model.train(false);
  Evaluation out;
  if (data.rows() == 0) return out;
  std::int64_t correct = 0;
  double loss_sum = 0;
  for (std::int64_t start = 0; start < data.rows(); start += batch_size) {
    const auto end = std::min<std::int64_t>(data.rows(), start + batch_size);
    const auto x = data.x.slice(0, start, end);
    const auto y = data.y.slice(0, start, end);
    const auto logits = model.forward(x);
    loss_sum +=
        torch::nn::functional::cross_entropy(
            logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
            .item<double>();
    correct += logits.argmax(1).eq(y).sum().item<std::int64_t>();
  }
  out.accuracy = static_cast<double>(correct) / static_cast<double>(data.rows());
  out.loss = loss_sum / static_cast<double>(data.rows());
  return out;
}

void set_torch_threads(int threads) {
  torch::set_num_threads(std::max(1, threads));
}

}  // namespace cairn::learn

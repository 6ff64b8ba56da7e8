#pragma once
// A BatchNorm layer's running statistics after a training batch, as torch.nn.BatchNorm2d updates
// them: num_batches_tracked + 1, then an exponential average with the layer's momentum (unset: the
// cumulative average). For layers that compute their batch statistics themselves (the fused
// BatchNorm + ReLU, synchronised BatchNorm).
#include <torch/torch.h>

namespace ichnet::model {

/// `mean` and `unbiased_var`: the batch's per-channel mean and unbiased variance (any float dtype).
inline void updateRunningStatistics(torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& mean, const torch::Tensor& unbiased_var) {
  torch::NoGradGuard no_grad;
  layer.num_batches_tracked += 1;
  const auto& momentum_option = layer.options.momentum();
  const double momentum = momentum_option ? *momentum_option : 1.0 / layer.num_batches_tracked.item<double>();
  layer.running_mean.copy_(layer.running_mean * (1 - momentum) + mean * momentum);
  layer.running_var.copy_(layer.running_var * (1 - momentum) + unbiased_var * momentum);
}

}  // namespace ichnet::model

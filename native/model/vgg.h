#pragma once
// VGG16 (configuration D) convolutional part with torchvision's module indices, so that
// `features.N.weight` keys of torchvision state dicts load unchanged; then global average pooling.
#include <torch/torch.h>

#include <functional>

namespace ichnet::model {

class VggBackboneImpl : public torch::nn::Module {
 public:
  VggBackboneImpl(bool batch_norm, double width);
  /// [N, 3, H, W] -> pooled features [N, C]: pool(lastConvBlock(x)).
  torch::Tensor forward(const torch::Tensor& x);
  /// The output of the last convolution block (conv5_3 after its ReLU), before the final max-pool:
  /// [N, C, H/16, W/16]. The layer Grad-CAM explains.
  torch::Tensor lastConvBlock(const torch::Tensor& x);
  /// The final max-pool and global average pooling: [N, C, h, w] -> [N, C].
  torch::Tensor pool(const torch::Tensor& activations);
  int64_t outChannels() const { return out_channels_; }

  /// What each BatchNorm layer computes in training mode instead of its own forward (data-parallel
  /// training's synchronised BatchNorm); empty: their own forward. Evaluation mode is unchanged.
  using BatchNormForward = std::function<torch::Tensor(torch::nn::BatchNorm2dImpl&, const torch::Tensor&)>;
  void setBatchNormForward(BatchNormForward forward) { batch_norm_forward_ = std::move(forward); }

 private:
  torch::nn::Sequential features_{nullptr};
  BatchNormForward batch_norm_forward_;
  int64_t out_channels_ = 0;
};
TORCH_MODULE(VggBackbone);

/// Channel count of a VGG stage after the width multiplier (round half to even, as Python's round).
int64_t scaledChannels(int64_t channels, double width);

}  // namespace ichnet::model

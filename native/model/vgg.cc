#include "model/vgg.h"

#include <cmath>

#include "model/batch_norm_relu.h"

namespace ichnet::model {

namespace {
constexpr int64_t kPool = 0;  // marks a max-pool in the layer plan
// torchvision "D": 13 convolutions in 5 stages, each stage closed by a 2x2 max-pool.
constexpr int64_t kPlan[] = {64, 64, kPool, 128, 128, kPool, 256, 256, 256, kPool,
                             512, 512, 512, kPool, 512, 512, 512, kPool};
}  // namespace

int64_t scaledChannels(int64_t channels, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::nearbyint(channels * width)));
}

VggBackboneImpl::VggBackboneImpl(bool batch_norm, double width) {
  namespace nn = torch::nn;
  nn::Sequential seq;
  int64_t in = 3;
  for (int64_t c : kPlan) {
    if (c == kPool) {
      seq->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2)));
      continue;
    }
    const int64_t out = scaledChannels(c, width);
    nn::Conv2d conv(nn::Conv2dOptions(in, out, 3).padding(1));
    // torchvision's VGG initialisation.
    nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
    nn::init::zeros_(conv->bias);
    seq->push_back(conv);
    if (batch_norm) seq->push_back(nn::BatchNorm2d(out));
    seq->push_back(nn::ReLU(nn::ReLUOptions(true)));
    in = out;
  }
  out_channels_ = in;
  features_ = register_module("features", seq);
}

torch::Tensor VggBackboneImpl::lastConvBlock(const torch::Tensor& x) {
  torch::Tensor y = x;
  // Every layer but the last: the plan ends with a max-pool.
  for (auto it = features_->begin(); it + 1 != features_->end(); ++it) {
    auto* batch_norm = dynamic_cast<torch::nn::BatchNorm2dImpl*>(it->ptr().get());
    if (batch_norm && batch_norm->is_training() && batch_norm_forward_) {
      y = batch_norm_forward_(*batch_norm, y);
    } else if (batch_norm && canFuseBatchNormRelu(*batch_norm, y)) {
      y = batchNormRelu(*batch_norm, y);  // and the ReLU that follows every BatchNorm in the plan
      ++it;
    } else {
      y = it->forward(y);
    }
  }
  return y;
}

torch::Tensor VggBackboneImpl::pool(const torch::Tensor& activations) {
  return (features_->end() - 1)->forward(activations).mean({2, 3});
}

torch::Tensor VggBackboneImpl::forward(const torch::Tensor& x) { return pool(lastConvBlock(x)); }

}  // namespace ichnet::model

#include "model/vgg.h"

#include <cmath>

#include "model/batch_norm_relu.h"

namespace ichnet::model {

namespace {
constexpr int64_t kPool = 0;  // marks a max-pool in the layer plan
// torchvision "D": 13 convolutions in 5 stages, each stage closed by a 2x2 max-pool.
constexpr int64_t kPlan[] = {64, 64, kPool, 128, 128, kPool, 256, 256, 256, kPool,
                             512, 512, 512, kPool, 512, 512, 512, kPool};

/// A max-pool of kernel 2, stride 2, no padding or dilation, rounding down: the plan's, the one the fused layer computes.
bool isHalvingMaxPool(torch::nn::Module* module) {
  auto* pool = dynamic_cast<torch::nn::MaxPool2dImpl*>(module);
  if (pool == nullptr) return false;
  const auto& o = pool->options;
  const auto all = [](const torch::ExpandingArray<2>& a, int64_t v) { return (*a)[0] == v && (*a)[1] == v; };
  return all(o.kernel_size(), 2) && all(o.stride(), 2) && all(o.padding(), 0) && all(o.dilation(), 1) && !o.ceil_mode();
}
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
  const auto last = features_->end() - 1;
  for (auto it = features_->begin(); it != last; ++it) {
    auto* batch_norm = dynamic_cast<torch::nn::BatchNorm2dImpl*>(it->ptr().get());
    // The plan puts a ReLU after every BatchNorm, and a block's last ReLU before a max-pool (the
    // final one is pool()'s).
    const bool relu_next = batch_norm && it + 1 != last && dynamic_cast<torch::nn::ReLUImpl*>((it + 1)->ptr().get());
    const bool pool_after = relu_next && it + 2 != last && isHalvingMaxPool((it + 2)->ptr().get());
    if (batch_norm && batch_norm->is_training() && batch_norm_forward_) {
      y = batch_norm_forward_(*batch_norm, y);
    } else if (pool_after && canFuseBatchNormReluMaxPool(*batch_norm, y)) {
      y = batchNormReluMaxPool(*batch_norm, y);
      it += 2;
    } else if (relu_next && canFuseBatchNormRelu(*batch_norm, y)) {
      y = batchNormRelu(*batch_norm, y);
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

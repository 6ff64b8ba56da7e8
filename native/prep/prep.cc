#include "prep/prep.h"

#include <stdexcept>

namespace ichnet::prep {

namespace {

torch::Tensor windowed(const torch::Tensor& hu, const std::vector<Window>& windows) {
  const auto x = hu.to(torch::kFloat32);
  std::vector<torch::Tensor> channels;
  for (const auto& w : windows) {
    channels.push_back(((x - (w.center - w.width / 2)) / w.width).clamp(0.0, 1.0));
  }
  return torch::cat(channels, 1);
}

}  // namespace

torch::Tensor preprocess(const torch::Tensor& raw, const PrepConfig& config) {
  if (raw.scalar_type() == torch::kFloat32) return raw;
  torch::Tensor x;
  if (raw.scalar_type() == torch::kInt16) {
    x = windowed(raw, config.windows);
  } else if (raw.scalar_type() == torch::kUInt8) {
    x = raw.to(torch::kFloat32).div_(255.0);
  } else {
    throw std::invalid_argument("images: unsupported element type");
  }
  if (x.size(1) == 1) x = x.expand({-1, 3, -1, -1});
  if (x.size(2) != config.input_size || x.size(3) != config.input_size) {
    namespace F = torch::nn::functional;
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{config.input_size, config.input_size})
                              .mode(torch::kBilinear)
                              .align_corners(false));
  } else {
    x = x.contiguous();
  }
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(x.device());
  const auto mean = torch::tensor({config.mean[0], config.mean[1], config.mean[2]}, opts).view({1, 3, 1, 1});
  const auto std = torch::tensor({config.std[0], config.std[1], config.std[2]}, opts).view({1, 3, 1, 1});
  return (x - mean) / std;
}

}  // namespace ichnet::prep

#include "prep/augment.h"

namespace ichnet::prep {

const char* const kAugParamNames[kAugParamCount] = {
    "flip", "rotation", "scale", "translate_x", "translate_y", "brightness", "contrast", "gamma",
};

torch::Tensor affineResample(const torch::Tensor& x, const torch::Tensor& params, int64_t size) {
  namespace F = torch::nn::functional;
  const auto p = params.to(x.device(), torch::kFloat32);
  const double h = static_cast<double>(x.size(2)), w = static_cast<double>(x.size(3));
  // grid_sample maps each output location (normalised to [-1, 1]) to an input location. Work in
  // input pixels so rotation stays a rotation on non-square slices:
  //   input_norm = D^-1 * (R(angle) / scale) * M * D * out_norm - translation,  D = diag(w/2, h/2),
  // M mirrors x when flipping.
  const auto flip = 1 - 2 * p.select(1, kFlip);  // -1 or +1
  const auto cos = torch::cos(p.select(1, kRotation)) / p.select(1, kScale);
  const auto sin = torch::sin(p.select(1, kRotation)) / p.select(1, kScale);
  const auto row0 = torch::stack({cos * flip, -sin * (h / w), -2 * p.select(1, kTranslateX)}, 1);
  const auto row1 = torch::stack({sin * flip * (w / h), cos, -2 * p.select(1, kTranslateY)}, 1);
  const auto theta = torch::stack({row0, row1}, 1);  // [N, 2, 3]
  const auto grid = F::affine_grid(theta, {x.size(0), x.size(1), size, size}, /*align_corners=*/false);
  return F::grid_sample(x, grid.to(x.dtype()),
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false));
}

torch::Tensor colourJitter(const torch::Tensor& x, const torch::Tensor& params) {
  const auto p = params.to(x.device(), x.scalar_type()).view({x.size(0), kAugParamCount, 1, 1, 1});
  const auto brightness = p.select(1, kBrightness);
  const auto contrast = p.select(1, kContrast);
  const auto gamma = p.select(1, kGamma);
  const auto mean = x.mean({1, 2, 3}, /*keepdim=*/true);
  auto y = ((x - mean) * contrast + mean + brightness).clamp(0.0, 1.0);
  return y.pow(gamma);
}

}  // namespace ichnet::prep

#include "prep/augment.h"

#include <algorithm>
#include <cmath>

namespace ichnet::prep {

const char* const kAugParamNames[kAugParamCount] = {
    "flip", "rotation", "scale", "translate_x", "translate_y", "brightness", "contrast", "gamma",
};

std::array<double, 6> affineTheta(const float* params, double h, double w) {
  // grid_sample maps each output location (normalised to [-1, 1]) to an input location. Work in
  // input pixels so rotation stays a rotation on non-square slices:
  //   input_norm = D^-1 * (R(angle) / scale) * M * D * out_norm - translation,  D = diag(w/2, h/2),
  // M mirrors x when flipping.
  const double flip = 1.0 - 2.0 * params[kFlip];  // -1 or +1
  const double cos = std::cos(double{params[kRotation]}) / params[kScale];
  const double sin = std::sin(double{params[kRotation]}) / params[kScale];
  return {cos * flip, -sin * (h / w), -2.0 * params[kTranslateX], sin * flip * (w / h), cos, -2.0 * params[kTranslateY]};
}

torch::Tensor affineResample(const torch::Tensor& x, const torch::Tensor& params, int64_t size) {
  namespace F = torch::nn::functional;
  // theta is computed on the CPU by the same function as the host pipeline's (resample.h), then
  // moved to x's device.
  const auto p = params.to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t n = p.size(0);
  auto theta = torch::empty({n, 2, 3}, torch::kFloat64);
  const float* rows = p.data_ptr<float>();
  double* t = theta.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) {
    const auto th = affineTheta(rows + i * kAugParamCount, static_cast<double>(x.size(2)), static_cast<double>(x.size(3)));
    std::copy(th.begin(), th.end(), t + i * 6);
  }
  const auto grid = F::affine_grid(theta.to(x.device(), x.scalar_type()), {x.size(0), x.size(1), size, size},
                                   /*align_corners=*/false);
  return F::grid_sample(x, grid,
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

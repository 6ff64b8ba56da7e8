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

torch::Tensor sliceThetas(const SliceIndex& idx, const std::vector<Box>& boxes, const torch::Tensor& aug, int64_t h, int64_t w) {
  const torch::Tensor params = aug.defined() ? aug.to(torch::kCPU, torch::kFloat32).contiguous() : torch::Tensor();
  const float* rows = params.defined() ? params.data_ptr<float>() : nullptr;
  // The identity row: no flip, rotation or move, scale 1 (jitter is not part of the geometry).
  std::array<float, kAugParamCount> identity{};
  identity[kScale] = 1.0f;
  auto thetas = torch::empty({idx.size(), 2, 3}, torch::kFloat64);
  double* t = thetas.data_ptr<double>();
  const double hi = static_cast<double>(h), wi = static_cast<double>(w);
  for (int64_t i = 0; i < idx.size(); ++i) {
    const int64_t b = idx.patient[i];
    const Box& box = boxes[b];
    const double bw = static_cast<double>(box.x1 - box.x0), bh = static_cast<double>(box.y1 - box.y0);
    // The augmentation moves the box's own normalised coordinates (so a rotation stays a rotation
    // of the box's pixels); the box's coordinates then map to the slice's (align_corners = false:
    // -1 and +1 are the outer edges): slice = box half-size / half-size * boxed + box centre.
    const auto a = affineTheta(rows ? rows + b * kAugParamCount : identity.data(), bh, bw);
    const double sx = bw / wi, sy = bh / hi;
    const double cx = static_cast<double>(box.x0 + box.x1) / wi - 1.0, cy = static_cast<double>(box.y0 + box.y1) / hi - 1.0;
    const std::array<double, 6> theta = {sx * a[0], sx * a[1], sx * a[2] + cx, sy * a[3], sy * a[4], sy * a[5] + cy};
    std::copy(theta.begin(), theta.end(), t + i * 6);
  }
  return thetas;
}

torch::Tensor affineResample(const torch::Tensor& x, const torch::Tensor& thetas, int64_t size) {
  namespace F = torch::nn::functional;
  const auto grid = F::affine_grid(thetas.to(x.device(), x.scalar_type()), {x.size(0), x.size(1), size, size},
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

#pragma once
// Training-time augmentation on the device (docs/ARCHITECTURE.md §3 steps 3-4): flip, rotation, scale
// and translation in one affine resampling straight to the model's input size, then brightness /
// contrast / gamma jitter. Parameters are sampled per patient in TypeScript (src/data/augment.ts),
// so every slice of a series moves together.
#include <torch/torch.h>

#include <array>
#include <vector>

#include "prep/crop.h"
#include "prep/slice_index.h"

namespace ichnet::prep {

/// Column order of the per-patient augmentation parameters [B, kAugParamCount].
enum AugParam : int64_t {
  kFlip = 0,        // 1 = mirror left-right
  kRotation,        // radians, counter-clockwise in image coordinates
  kScale,           // > 1 zooms in
  kTranslateX,      // fraction of the width (+ moves content right)
  kTranslateY,      // fraction of the height (+ moves content down)
  kBrightness,      // added in [0, 1] space
  kContrast,        // factor around each slice's mean
  kGamma,           // exponent, 1 = identity
  kAugParamCount
};

/// Names in column order: the single source the TypeScript sampler reads (via the binding).
extern const char* const kAugParamNames[kAugParamCount];

/// affine_grid's 2x3 theta (row-major) for one slice's parameter row, input height h, width w.
std::array<double, 6> affineTheta(const float* params, double h, double w);

/// The theta of each valid slice's one resampling from an h x w slice: its series' box (crop.h)
/// scaled to the input, moved by the series' augmentation row of `aug` (float32 [B, K] on any
/// device, or undefined for none). float64 [n, 2, 3] on the CPU; the host and device paths both
/// resample through these.
torch::Tensor sliceThetas(const SliceIndex& idx, const std::vector<Box>& boxes, const torch::Tensor& aug, int64_t h, int64_t w);

/// x float [N, C, H, W], thetas [N, 2, 3] (sliceThetas) -> [N, C, size, size], bilinear, zero padding.
torch::Tensor affineResample(const torch::Tensor& x, const torch::Tensor& thetas, int64_t size);

/// Brightness, contrast, gamma in [0, 1] space, clamped. x [N, C, H, W], params [N, K].
torch::Tensor colourJitter(const torch::Tensor& x, const torch::Tensor& params);

}  // namespace ichnet::prep

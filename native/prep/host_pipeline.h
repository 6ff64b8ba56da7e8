#pragma once
// The preprocessing pipeline (docs/ARCHITECTURE.md §3) on the CPU, one slice at a time: each task takes
// a slice through windowing, CLAHE, resampling, jitter and normalisation while it is in cache,
// reading the raw int16/uint8 pixels through lookup tables (window_lut.h) and writing float only
// at the model's input size. Whole-batch tensor ops at 512 x 512 x 3 in float cost several times
// more, most of it in page faults on fresh full-size intermediates.
#include <torch/torch.h>

#include "prep/config.h"
#include "prep/slice_index.h"

namespace ichnet::prep {

/// Steps 1-5 for the valid slices of `flat` (uint8 or int16 [B*S, C, H, W] on the CPU):
/// float32 [n, 3, size, size]. thetas: float64 [n, 2, 3] (augment.h's sliceThetas: affine
/// resampling) or undefined (plain resize); aug: float32 [B, kAugParamCount] (colour jitter) or
/// undefined.
torch::Tensor preprocessOnHost(const torch::Tensor& flat, const SliceIndex& idx, const PrepConfig& config,
                               const torch::Tensor& thetas, const torch::Tensor& aug);

/// Steps 1-2 with CLAHE, for a device that does the rest: uint8 [n, P, H, W] grey levels, where
/// P = 3, or 1 for a single plane that becomes all three channels.
torch::Tensor claheLevelsOnHost(const torch::Tensor& flat, const SliceIndex& idx, const PrepConfig& config);

}  // namespace ichnet::prep

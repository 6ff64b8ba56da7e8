#pragma once
// The region of each series that the one affine resampling brings to the model's input size
// (docs/ARCHITECTURE.md §3 step 3): the whole slice, or with `prep.crop: head` a square around the
// head, so the head fills the input instead of the air around it.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "prep/slice_index.h"

namespace ichnet::prep {

/// `prep.crop`: none — every slice whole; head — the square box around the head of each series.
enum class CropMode { None, Head };

/// A region of a slice in pixel edges: columns x0 <= x < x1, rows y0 <= y < y1. A head box may
/// reach past the slice; the resampling reads zeros (air) there.
struct Box {
  int64_t x0, y0, x1, y1;
};

/// A pixel belongs to the head above this value (HU): far above air (-1000) and the noise around
/// it, below fat (about -100), so skin, fat and bone all count.
constexpr int16_t kHeadThresholdHu = -500;

/// The box of each of the `patients` series of `flat` (int16 HU [B*S, C, H, W] on the CPU for
/// CropMode::Head; any dtype for None): for Head, the bounding box of the pixels above
/// kHeadThresholdHu over all the series' valid slices (channel 0), widened by a margin of 1/16 of
/// its longer side on each side and made square around its centre (so the head keeps its aspect);
/// a series without such pixels, and every series for None, gets the whole slice.
/// One box per series rather than per slice: the slice RNN compares neighbouring slices, which only
/// works when a pixel of the input is the same place in all of them (as the augmentation, also
/// sampled per series, keeps it); a per-slice box would also zoom the small top slices of the head.
std::vector<Box> inputBoxes(const torch::Tensor& flat, const SliceIndex& idx, int64_t patients, CropMode mode);

/// The boxes as int64 [patients, 4] rows (x0, y0, x1, y1).
torch::Tensor boxTensor(const std::vector<Box>& boxes);

}  // namespace ichnet::prep

#pragma once
// Preprocessing (docs/ARCHITECTURE.md §3), in order: window / scale -> CLAHE -> one resampling to the
// input size (of the whole slice or the box around the head, moved by the affine augmentation in
// training; a plain bilinear resize of the whole slice otherwise) -> colour jitter (training) ->
// normalisation.
#include <torch/torch.h>

#include <vector>

#include "prep/config.h"
#include "prep/crop.h"

namespace ichnet::prep {

/// images: raw [B, S, C, H, W] on the CPU — uint8 (x / 255; 1 channel repeated to 3), int16 HU
/// (C = 1; windows or neighbours make 3 channels) or float32 (already preprocessed, used as is);
/// lengths: int64 [B] on the CPU; aug: float32 [B, kAugParamCount] per-patient augmentation
/// parameters, or undefined for evaluation. Returns the model input of the valid slices only,
/// [sum(lengths), 3, size, size] float32 on `device`, patient-major in slice order.
/// config.where chooses between the host pipeline and batched tensor operations on `device`; only
/// the raw 8-bit/int16 pixels (or CLAHE's 8-bit levels) are copied to a GPU. `boxes`, when given,
/// receives the region of each patient's slices that the input shows (crop.h).
torch::Tensor preprocessBatch(const torch::Tensor& images, const torch::Tensor& lengths, const PrepConfig& config,
                              const torch::Tensor& aug, torch::Device device, std::vector<Box>* boxes = nullptr);

}  // namespace ichnet::prep

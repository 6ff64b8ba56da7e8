#pragma once
// CT windowing (docs/ARCHITECTURE.md §3 step 1) as lookup tables over the whole int16 range. A slice
// then costs one table load per pixel and channel instead of float arithmetic over the full
// 512 x 512 image, and the CLAHE path reads its 256 grey levels straight from the table.
#include <torch/torch.h>

#include "prep/config.h"

namespace ichnet::prep {

/// clamp((hu - (c - w/2)) / w, 0, 1) in float32 on any tensor (the device path and the tables
/// share this one expression, so both give the same values).
torch::Tensor windowUnit(const torch::Tensor& hu, const Window& w);

/// round(windowUnit * 255) as uint8 (round half to even, as torch.round): the grey levels CLAHE
/// equalises, on any tensor.
torch::Tensor windowLevels(const torch::Tensor& hu, const Window& w);

/// Offset of HU 0 in the tables below: entry i holds the value for HU i - kHuOffset.
constexpr int64_t kHuOffset = 32768;

/// float32 [65536]: windowUnit() of every int16 value.
torch::Tensor windowUnitTable(const Window& w);

/// uint8 [65536]: windowLevels() of every int16 value.
torch::Tensor windowLevelTable(const Window& w);

}  // namespace ichnet::prep

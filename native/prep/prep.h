#pragma once
// Device-side preprocessing (ARCHITECTURE.md §3): window / scale -> resize -> normalise.
#include <torch/torch.h>

#include <array>
#include <vector>

namespace ichnet::prep {

struct Window {
  double center;
  double width;
};

struct PrepConfig {
  std::vector<Window> windows;  // 1 (repeated to 3 channels) or 3, for Hounsfield-unit input
  std::array<double, 3> mean{};
  std::array<double, 3> std{};
  int64_t input_size{};
};

/// raw: [N, C, H, W] on the target device. uint8 -> x/255 (1 channel repeated to 3);
/// int16 HU (C = 1) -> one channel per window; then bilinear resize to input_size
/// (align_corners = false) and normalisation. float32 input is taken as already preprocessed.
torch::Tensor preprocess(const torch::Tensor& raw, const PrepConfig& config);

}  // namespace ichnet::prep

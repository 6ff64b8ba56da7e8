#pragma once
// Preprocessing (docs/ARCHITECTURE.md §3), in order: window / scale -> CLAHE -> one resampling to the
// input size (affine augmentation in training, plain bilinear resize otherwise) -> colour jitter
// (training) -> normalisation.
#include <torch/torch.h>

#include <array>
#include <vector>

namespace ichnet::prep {

struct Window {
  double center;
  double width;
};

struct ClaheConfig {
  bool enabled{};
  double clip_limit{};
  int64_t tiles_x{};
  int64_t tiles_y{};
};

/// What the three model channels hold for single-channel input: one CT window each, or the
/// neighbouring slices (s-1, s, s+1) under the first window (RSNA's winning solutions' input).
enum class ChannelMode { Windows, Neighbors };

struct PrepConfig {
  std::vector<Window> windows;  // 1 (repeated to 3 channels) or 3, for Hounsfield-unit input
  std::array<double, 3> mean{};
  std::array<double, 3> std{};
  int64_t input_size{};
  ClaheConfig clahe;
  ChannelMode channels{};
};

/// images: raw [B, S, C, H, W] on the CPU — uint8 (x / 255; 1 channel repeated to 3), int16 HU
/// (C = 1; windows or neighbours make 3 channels) or float32 (already preprocessed, used as is);
/// lengths: int64 [B] on the CPU; aug: float32 [B, kAugParamCount] per-patient augmentation
/// parameters, or undefined for evaluation. Returns the model input of the valid slices only,
/// [sum(lengths), 3, size, size] float32 on `device`, patient-major in slice order.
/// On the CPU the whole pipeline runs slice by slice (host_pipeline.h); on a GPU the geometry,
/// jitter and normalisation run there as tensor operations (augment.h).
torch::Tensor preprocessBatch(const torch::Tensor& images, const torch::Tensor& lengths, const PrepConfig& config,
                              const torch::Tensor& aug, torch::Device device);

}  // namespace ichnet::prep

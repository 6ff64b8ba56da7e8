#pragma once
// Preprocessing (docs/ARCHITECTURE.md §3), in order: window / scale -> CLAHE -> one resampling to the
// input size (of the whole slice or the box around the head, moved by the affine augmentation in
// training; a plain bilinear resize of the whole slice otherwise) -> colour jitter (training) ->
// normalisation.
#include <torch/torch.h>

#include <array>
#include <vector>

#include "prep/crop.h"

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

/// Where steps 1-5 run: `Host` — on the CPU, slice by slice (host_pipeline.h; on a GPU the CLAHE
/// levels are made there and the rest runs on the GPU); `Device` — as batched tensor operations on
/// the session's device, CLAHE included (clahe_tensor.h), from the raw 8-bit/int16 pixels;
/// `Auto` — Device on CUDA, Host on the CPU (the faster one there, see docs/BENCHMARKS.md).
enum class PrepWhere { Auto, Host, Device };

struct PrepConfig {
  std::vector<Window> windows;  // 1 (repeated to 3 channels) or 3, for Hounsfield-unit input
  std::array<double, 3> mean{};
  std::array<double, 3> std{};
  int64_t input_size{};
  ClaheConfig clahe;
  ChannelMode channels{};
  PrepWhere where{};
  CropMode crop{};
};

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

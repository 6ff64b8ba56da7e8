#pragma once
// What preprocessing (docs/ARCHITECTURE.md §3) is asked to do: the windows, CLAHE, channels, where it
// runs, crop, input size and normalisation. Plain data, shared by the batch entry point (prep.h), the
// host pipeline and the window tables, which must not depend on the entry point that dispatches to them.
#include <array>
#include <cstdint>
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

}  // namespace ichnet::prep

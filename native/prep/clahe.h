#pragma once
// CLAHE (contrast-limited adaptive histogram equalisation) with OpenCV's exact 8-bit semantics
// (docs/ARCHITECTURE.md §3 step 2). Hand-written because neither existing option fits: sharp's clahe()
// is libvips hist_local, a sliding-window algorithm with different output and 20-100x slower, and
// OpenCV is not a dependency of this project.
#include <torch/torch.h>

#include <cstdint>
#include <memory>

namespace ichnet::prep {

/// CLAHE for images of one size and one setting: the per-size tables are computed once, then
/// `apply` equalises one image at a time on the calling thread, for callers that parallelise over
/// images themselves (the preprocessing pipeline runs it per slice and channel). Same semantics
/// as `clahe` below. Cheap to share between threads: `apply` is const and keeps its scratch local.
class ClaheOp {
 public:
  /// Throws std::invalid_argument on a bad size, grid or clip limit.
  ClaheOp(int64_t height, int64_t width, double clip_limit, int64_t tiles_x, int64_t tiles_y);
  ~ClaheOp();
  ClaheOp(ClaheOp&&) noexcept;
  ClaheOp& operator=(ClaheOp&&) noexcept;

  /// in, out: height x width pixels, row-major; they must not overlap.
  void apply(const uint8_t* in, uint8_t* out) const;

  struct Plan;  // defined in clahe.cc

 private:
  // clahe() below splits a lone image over tiles and rows, so it works on the plan directly.
  friend torch::Tensor clahe(const torch::Tensor& images, double clip_limit, int64_t tiles_x, int64_t tiles_y);
  std::unique_ptr<const Plan> plan_;
};

/// images: uint8 [N, H, W]. Returns uint8 [N, H, W], equal pixel for pixel to
/// `cv2.createCLAHE(clip_limit, (tiles_x, tiles_y)).apply(image)` on each image, including
/// OpenCV's BORDER_REFLECT_101 padding when H or W does not divide by the grid. clip_limit <= 0
/// means no clipping (plain tiled histogram equalisation), as in OpenCV.
/// A tensor on another device is processed on the CPU and returned on its own device.
/// Throws std::invalid_argument on a bad shape, dtype, grid or clip limit.
torch::Tensor clahe(const torch::Tensor& images, double clip_limit, int64_t tiles_x, int64_t tiles_y);

}  // namespace ichnet::prep

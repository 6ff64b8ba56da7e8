#pragma once
// What CLAHE needs to know about one image size and one setting, computed once and shared by the
// host kernel (clahe.cc) and the tensor version (clahe_tensor.cc), so both follow OpenCV's grid,
// clip limit, LUT scale and blend weights from the same numbers.
#include <cstdint>
#include <vector>

namespace ichnet::prep {

struct ClahePlan {
  static constexpr int kBins = 256;
  /// Tiles per axis at most: a memory bound on the lookup tables (tiles_x · tiles_y · 256 bytes),
  /// far beyond any useful grid; the config schema keeps the policy. The clahe binding checks it too.
  static constexpr int64_t kMaxTiles = 1024;

  /// Validates and builds the plan; throws std::invalid_argument on a bad size, grid or clip limit.
  static ClahePlan make(int64_t height, int64_t width, double clip_limit, int64_t tiles_x, int64_t tiles_y);

  int64_t height = 0, width = 0, tiles_x = 0, tiles_y = 0;
  int64_t tile_w = 0, tile_h = 0;  // after OpenCV's padding
  int clip = 0;                    // per-bin limit; 0 = no clipping
  float lut_scale = 0;
  std::vector<int64_t> pad_rows;   // source row of padded row `height + i`
  std::vector<int64_t> pad_cols;   // source column of padded column `width + i`
  // Per output column: the tile column left of it (tx1, in [-1, tiles_x - 1]; clamp to the grid
  // for the LUT) and the weights of the tiles left and right of it.
  std::vector<int64_t> tile_left;
  std::vector<float> w_left, w_right;
  // Per output row: the tile row above it (ty1, in [-1, tiles_y - 1]) and the weights of the
  // tiles above and below it.
  std::vector<int64_t> tile_top;
  std::vector<float> w_top, w_bottom;

  int64_t paddedHeight() const { return tile_h * tiles_y; }
  int64_t paddedWidth() const { return tile_w * tiles_x; }
};

}  // namespace ichnet::prep

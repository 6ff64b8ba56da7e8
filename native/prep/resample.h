#pragma once
// Bilinear resampling of one slice's channel planes straight to the model's input size
// (docs/ARCHITECTURE.md §3 step 3) on the CPU, reading the raw pixels through a value table, so the
// full-resolution image is never converted to float: the table maps an int16 HU value to its
// window value, an 8-bit value (raw, or CLAHE's output) to value / 255.
//
// Two geometries, each with the semantics of the LibTorch call it stands in for (the CUDA path
// still makes those calls, see prep.cc):
//  - affine: affine_grid + grid_sample (bilinear, zero padding, align_corners = false) with the
//    augmentation's theta (augment.h's affineTheta);
//  - resize: F::interpolate (bilinear, align_corners = false; the border pixel is repeated).
// Results agree with those calls to float rounding, not bit for bit (LibTorch's kernels may fuse
// multiply-adds and sum in another order).
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace ichnet::prep {

class Resampler {
 public:
  /// Plain resize of in_h x in_w to size x size.
  static Resampler resize(int64_t in_h, int64_t in_w, int64_t size);
  /// The 2x3 theta of affine_grid, row-major, for a size x size output.
  static Resampler affine(int64_t in_h, int64_t in_w, int64_t size, const std::array<double, 6>& theta);

  /// out + p * size * size receives plane p (p < count) sampled through tables[p]: the value of
  /// a raw pixel v is tables[p][v] (for int16, pass the table's entry for 0, e.g. lut + kHuOffset).
  /// Each plane is in_h x in_w, row-major. T is uint8_t or int16_t.
  template <typename T>
  void run(const T* const* planes, const float* const* tables, int64_t count, float* out) const;

 private:
  /// Throws std::invalid_argument for sizes the int32 tap offsets cannot address.
  Resampler(int64_t in_h, int64_t in_w, int64_t size);

  /// One output pixel's four taps: input offsets and weights (0 for a tap outside the image,
  /// whose offset is then clamped to a valid one).
  struct Taps {
    int32_t i00, i01, i10, i11;
    float w00, w01, w10, w11;
  };
  /// Taps of an affine sample at input position (ix, iy), wherever it falls.
  Taps borderTaps(double ix, double iy) const;
  /// The output columns [begin, end) of the row whose positions start at (bx, by) and whose four
  /// taps all lie inside the image, where the cheap path applies.
  std::pair<int64_t, int64_t> interior(double bx, double by) const;

  int64_t in_h_, in_w_, size_;
  bool affine_ = false;
  // affine: input position (ix, iy) of output pixel (x, y) is (ax x + bx y + cx, ay x + by y + cy)
  double ax_ = 0, bx_ = 0, cx_ = 0, ay_ = 0, by_ = 0, cy_ = 0;
  // resize: per output column / row, the two source indices and their weights (separable)
  std::vector<int32_t> col0_, col1_, row0_, row1_;
  std::vector<float> colw0_, colw1_, roww0_, roww1_;
};

}  // namespace ichnet::prep

#include "prep/resample.h"

#include <algorithm>
#include <cmath>

namespace ichnet::prep {

Resampler Resampler::resize(int64_t in_h, int64_t in_w, int64_t size) {
  Resampler r(in_h, in_w, size);
  // upsample_bilinear2d's CPU arithmetic (align_corners = false): scale in float, source index
  // scale * (dst + 0.5) - 0.5 in double then float, clamped at 0; the second tap repeats the
  // last pixel at the border.
  const auto axis = [size](int64_t in, std::vector<int32_t>& i0, std::vector<int32_t>& i1, std::vector<float>& w0,
                           std::vector<float>& w1) {
    const float scale = static_cast<float>(in) / static_cast<float>(size);
    for (int64_t d = 0; d < size; ++d) {
      float src = static_cast<float>(scale * (static_cast<double>(d) + 0.5) - 0.5);
      if (src < 0) src = 0;
      const auto lo = static_cast<int64_t>(src);
      const float lambda = std::min(std::max(src - static_cast<float>(lo), 0.0f), 1.0f);
      i0.push_back(static_cast<int32_t>(lo));
      i1.push_back(static_cast<int32_t>(lo + (lo < in - 1 ? 1 : 0)));
      w0.push_back(1.0f - lambda);
      w1.push_back(lambda);
    }
  };
  axis(in_w, r.col0_, r.col1_, r.colw0_, r.colw1_);
  axis(in_h, r.row0_, r.row1_, r.roww0_, r.roww1_);
  return r;
}

Resampler Resampler::affine(int64_t in_h, int64_t in_w, int64_t size, const std::array<double, 6>& theta) {
  Resampler r(in_h, in_w, size);
  r.affine_ = true;
  // affine_grid (align_corners = false) puts output pixel x at xn = (2x + 1) / size - 1; theta
  // maps (xn, yn, 1) to the normalised input position g, and grid_sample reads input pixel
  // ((g + 1) * in - 1) / 2. Composed, the input position is affine in (x, y):
  const double s = static_cast<double>(size), wi = static_cast<double>(in_w), hi = static_cast<double>(in_h);
  const double k = 1.0 / s - 1.0;  // xn at x = 0
  r.ax_ = wi * theta[0] / s;
  r.bx_ = wi * theta[1] / s;
  r.cx_ = wi / 2 * ((theta[0] + theta[1]) * k + theta[2]) + (wi - 1) / 2;
  r.ay_ = hi * theta[3] / s;
  r.by_ = hi * theta[4] / s;
  r.cy_ = hi / 2 * ((theta[3] + theta[4]) * k + theta[5]) + (hi - 1) / 2;
  return r;
}

void Resampler::tapsForRow(int64_t y, RowTaps& t) const {
  const auto w = static_cast<int32_t>(in_w_);
  if (!affine_) {
    const int32_t r0 = row0_[y] * w, r1 = row1_[y] * w;
    const float h0 = roww0_[y], h1 = roww1_[y];
    for (int64_t x = 0; x < size_; ++x) {
      t.i00[x] = r0 + col0_[x];
      t.i01[x] = r0 + col1_[x];
      t.i10[x] = r1 + col0_[x];
      t.i11[x] = r1 + col1_[x];
      t.w00[x] = h0 * colw0_[x];
      t.w01[x] = h0 * colw1_[x];
      t.w10[x] = h1 * colw0_[x];
      t.w11[x] = h1 * colw1_[x];
    }
    return;
  }
  const double bx = bx_ * static_cast<double>(y) + cx_, by = by_ * static_cast<double>(y) + cy_;
  const auto h = static_cast<int32_t>(in_h_);
  for (int64_t x = 0; x < size_; ++x) {
    double ix = ax_ * static_cast<double>(x) + bx, iy = ay_ * static_cast<double>(x) + by;
    if (!std::isfinite(ix) || !std::isfinite(iy)) ix = iy = -2;  // NaN parameters: sample nothing
    const double fx0 = std::floor(ix), fy0 = std::floor(iy);
    const float fx = static_cast<float>(ix - fx0), fy = static_cast<float>(iy - fy0);
    // Far outside the image the int conversion could overflow: clamp first (weights are 0 there).
    const auto x0 = static_cast<int32_t>(std::clamp(fx0, -2.0, static_cast<double>(w)));
    const auto y0 = static_cast<int32_t>(std::clamp(fy0, -2.0, static_cast<double>(h)));
    const int32_t x1 = x0 + 1, y1 = y0 + 1;
    const bool vx0 = x0 >= 0 && x0 < w, vx1 = x1 >= 0 && x1 < w;
    const bool vy0 = y0 >= 0 && y0 < h, vy1 = y1 >= 0 && y1 < h;
    const int32_t cx0 = std::clamp(x0, 0, w - 1), cx1 = std::clamp(x1, 0, w - 1);
    const int32_t cy0 = std::clamp(y0, 0, h - 1) * w, cy1 = std::clamp(y1, 0, h - 1) * w;
    // grid_sample's weights: nw = (1 - fx)(1 - fy), ne = fx (1 - fy), sw = (1 - fx) fy, se = fx fy.
    t.i00[x] = cy0 + cx0;
    t.i01[x] = cy0 + cx1;
    t.i10[x] = cy1 + cx0;
    t.i11[x] = cy1 + cx1;
    t.w00[x] = vx0 && vy0 ? (1.0f - fx) * (1.0f - fy) : 0.0f;
    t.w01[x] = vx1 && vy0 ? fx * (1.0f - fy) : 0.0f;
    t.w10[x] = vx0 && vy1 ? (1.0f - fx) * fy : 0.0f;
    t.w11[x] = vx1 && vy1 ? fx * fy : 0.0f;
  }
}

template <typename T>
void Resampler::run(const T* const* planes, const float* const* tables, int64_t count, float* out) const {
  RowTaps taps;
  for (auto* v : {&taps.i00, &taps.i01, &taps.i10, &taps.i11}) v->resize(size_);
  for (auto* v : {&taps.w00, &taps.w01, &taps.w10, &taps.w11}) v->resize(size_);
  const int64_t plane_out = size_ * size_;
  for (int64_t y = 0; y < size_; ++y) {
    tapsForRow(y, taps);  // shared by all planes: they have the same geometry
    for (int64_t p = 0; p < count; ++p) {
      const T* src = planes[p];
      const float* table = tables[p];
      float* dst = out + p * plane_out + y * size_;
      for (int64_t x = 0; x < size_; ++x) {
        dst[x] = taps.w00[x] * table[src[taps.i00[x]]] + taps.w01[x] * table[src[taps.i01[x]]] +
                 taps.w10[x] * table[src[taps.i10[x]]] + taps.w11[x] * table[src[taps.i11[x]]];
      }
    }
  }
}

template void Resampler::run<uint8_t>(const uint8_t* const*, const float* const*, int64_t, float*) const;
template void Resampler::run<int16_t>(const int16_t* const*, const float* const*, int64_t, float*) const;

}  // namespace ichnet::prep

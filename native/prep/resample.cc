#include "prep/resample.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ichnet::prep {

Resampler::Resampler(int64_t in_h, int64_t in_w, int64_t size) : in_h_(in_h), in_w_(in_w), size_(size) {
  // Tap offsets are int32 (half the memory traffic of int64 in the sampling loop).
  if (in_h < 1 || in_w < 1 || size < 1 || in_h * in_w > INT32_MAX) {
    throw std::invalid_argument("resample: " + std::to_string(in_h) + "x" + std::to_string(in_w) + " -> " +
                                std::to_string(size) + " is outside the supported sizes");
  }
}

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

namespace {

// A position at most this close to the last row or column counts as a border pixel: the cheap
// path reads the tap one further, so the margin keeps it inside the image whatever the rounding.
constexpr double kMargin = 1e-6;

/// The integers x in [0, size) with lo <= a x + b <= hi, or a superset of them (trimmed by the
/// caller, which checks the ends): the solutions of a linear inequality form an interval.
std::pair<int64_t, int64_t> solve(double a, double b, double lo, double hi, int64_t size) {
  if (!std::isfinite(a) || !std::isfinite(b)) return {0, 0};
  if (std::abs(a) < 1e-12) return b >= lo && b <= hi ? std::pair<int64_t, int64_t>{0, size} : std::pair<int64_t, int64_t>{0, 0};
  const double x1 = (lo - b) / a, x2 = (hi - b) / a;
  const double first = std::floor(std::min(x1, x2)), last = std::floor(std::max(x1, x2)) + 1;
  const auto clampTo = [size](double v) { return static_cast<int64_t>(std::min(std::max(v, 0.0), static_cast<double>(size))); };
  return {clampTo(first), clampTo(last)};
}

}  // namespace

std::pair<int64_t, int64_t> Resampler::interior(double bx, double by) const {
  const double max_x = static_cast<double>(in_w_ - 1) - kMargin, max_y = static_cast<double>(in_h_ - 1) - kMargin;
  const auto inside = [&](int64_t x) {
    const double ix = ax_ * static_cast<double>(x) + bx, iy = ay_ * static_cast<double>(x) + by;
    return ix >= 0 && ix <= max_x && iy >= 0 && iy <= max_y;
  };
  const auto [bx0, bx1] = solve(ax_, bx, 0, max_x, size_);
  const auto [by0, by1] = solve(ay_, by, 0, max_y, size_);
  int64_t begin = std::max(bx0, by0), end = std::min(bx1, by1);
  while (begin < end && !inside(begin)) ++begin;
  while (end > begin && !inside(end - 1)) --end;
  return {begin, end};
}

Resampler::Taps Resampler::borderTaps(double ix, double iy) const {
  const auto w = static_cast<int32_t>(in_w_), h = static_cast<int32_t>(in_h_);
  // Clamped to just outside the image first (NaN goes to the low side): every tap there is out
  // of bounds, so the weights come out 0 and the int conversion stays defined.
  ix = std::min(std::max(-2.0, ix), static_cast<double>(w) + 1.0);
  iy = std::min(std::max(-2.0, iy), static_cast<double>(h) + 1.0);
  const auto x0 = static_cast<int32_t>(std::floor(ix)), y0 = static_cast<int32_t>(std::floor(iy));
  const float fx = static_cast<float>(ix - x0), fy = static_cast<float>(iy - y0);
  const int32_t x1 = x0 + 1, y1 = y0 + 1;
  const bool vx0 = x0 >= 0 && x0 < w, vx1 = x1 >= 0 && x1 < w;
  const bool vy0 = y0 >= 0 && y0 < h, vy1 = y1 >= 0 && y1 < h;
  const int32_t cx0 = std::clamp(x0, 0, w - 1), cx1 = std::clamp(x1, 0, w - 1);
  const int32_t cy0 = std::clamp(y0, 0, h - 1) * w, cy1 = std::clamp(y1, 0, h - 1) * w;
  // grid_sample's weights: nw = (1 - fx)(1 - fy), ne = fx (1 - fy), sw = (1 - fx) fy, se = fx fy.
  return {cy0 + cx0,
          cy0 + cx1,
          cy1 + cx0,
          cy1 + cx1,
          vx0 && vy0 ? (1.0f - fx) * (1.0f - fy) : 0.0f,
          vx1 && vy0 ? fx * (1.0f - fy) : 0.0f,
          vx0 && vy1 ? (1.0f - fx) * fy : 0.0f,
          vx1 && vy1 ? fx * fy : 0.0f};
}

template <typename T>
void Resampler::run(const T* const* planes, const float* const* tables, int64_t count, float* out) const {
  const int64_t plane_out = size_ * size_;
  const auto w = static_cast<int32_t>(in_w_);
  for (int64_t y = 0; y < size_; ++y) {
    float* row = out + y * size_;
    // All planes share the geometry: each pixel's taps are computed once and read every plane.
    const auto emit = [&](int64_t x, const Taps& t) {
      for (int64_t p = 0; p < count; ++p) {
        const T* src = planes[p];
        const float* table = tables[p];
        row[p * plane_out + x] = t.w00 * table[src[t.i00]] + t.w01 * table[src[t.i01]] + t.w10 * table[src[t.i10]] +
                                 t.w11 * table[src[t.i11]];
      }
    };
    if (!affine_) {
      const int32_t r0 = row0_[y] * w, r1 = row1_[y] * w;
      const float h0 = roww0_[y], h1 = roww1_[y];
      for (int64_t x = 0; x < size_; ++x) {
        const int32_t c0 = col0_[x], c1 = col1_[x];
        const float w0 = colw0_[x], w1 = colw1_[x];
        emit(x, {r0 + c0, r0 + c1, r1 + c0, r1 + c1, h0 * w0, h0 * w1, h1 * w0, h1 * w1});
      }
      continue;
    }
    const double bx = bx_ * static_cast<double>(y) + cx_, by = by_ * static_cast<double>(y) + cy_;
    const auto [begin, end] = interior(bx, by);
    const auto border = [&](int64_t x) { emit(x, borderTaps(ax_ * static_cast<double>(x) + bx, ay_ * static_cast<double>(x) + by)); };
    for (int64_t x = 0; x < begin; ++x) border(x);
    for (int64_t x = begin; x < end; ++x) {
      // Inside the image: positions are >= 0, so truncation is floor, and no tap needs a check.
      const double ix = ax_ * static_cast<double>(x) + bx, iy = ay_ * static_cast<double>(x) + by;
      const auto x0 = static_cast<int32_t>(ix), y0 = static_cast<int32_t>(iy);
      const float fx = static_cast<float>(ix - x0), fy = static_cast<float>(iy - y0);
      const int32_t i = y0 * w + x0;
      emit(x, {i, i + 1, i + w, i + w + 1, (1.0f - fx) * (1.0f - fy), fx * (1.0f - fy), (1.0f - fx) * fy, fx * fy});
    }
    for (int64_t x = std::max(begin, end); x < size_; ++x) border(x);
  }
}

template void Resampler::run<uint8_t>(const uint8_t* const*, const float* const*, int64_t, float*) const;
template void Resampler::run<int16_t>(const int16_t* const*, const float* const*, int64_t, float*) const;

}  // namespace ichnet::prep

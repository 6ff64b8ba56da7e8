// CLAHE with OpenCV's 8-bit semantics; see clahe.h for why it is hand-written. The arithmetic
// follows OpenCV's CLAHE_Impl (modules/imgproc/src/clahe.cpp) step by step, so the output matches
// cv2.createCLAHE(...).apply bit for bit:
//  - Grid. When W % tiles_x or H % tiles_y is non-zero, OpenCV pads the image on the right and
//    bottom with BORDER_REFLECT_101 by `tiles - size % tiles` on EACH axis (a whole extra tile's
//    worth of pixels on an axis that already divides), and tile = padded size / tiles. The padding
//    feeds only the histograms; it is never materialised here (rows and columns are reflected on
//    the fly) and the output has the input's size.
//  - Clip. limit = max(1, (int)(clip_limit * area / 256)) in double; clip_limit <= 0: no clipping.
//    The excess is added evenly to all bins, the remainder one count per bin from bin 0 at a
//    stride of max(256 / remainder, 1).
//  - LUT[i] = saturate(round_half_even(float(cdf[i]) * (255.f / float(area)))).
//  - Output: float32 bilinear blend of the four neighbouring tiles' LUT values, horizontal first,
//    with tile coordinate t = x * (1.f / tile) - 0.5f (tile centres at (i + 0.5) * tile, clamped
//    at the borders), rounded half to even. Every step is a separately rounded float operation, as
//    in OpenCV's x86-64 build; a build flag that fuses multiply-adds (-mfma, or -ffp-contract on
//    targets with FMA) could move rare pixels by one grey level.
// Speed (2x-2.5x OpenCV's scalar code on one core): the four LUT values a pixel blends are packed
// into one 32-bit word per grey level (packBand), and the blend runs four pixels per SSE2 step.
// Batches run one image per task with at::parallel_for; a single image is split over tiles, then rows.
#include "prep/clahe.h"

#include "prep/clahe_plan.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ichnet::prep {

/// The shared plan plus the host kernel's own column table.
struct ClaheOp::Plan : ClahePlan {
  // Per output column: its segment's offset in the packed band tables (see packBand).
  std::vector<int32_t> segment;
};

namespace {

constexpr int kBins = ClahePlan::kBins;

/// OpenCV's saturate_cast<uchar>(float): round half to even (cvRound), then clamp to [0, 255].
inline uint8_t roundToByte(float v) {
#if defined(__SSE2__)
  const int i = _mm_cvtss_si32(_mm_set_ss(v));  // MXCSR default: nearest, ties to even
#else
  const int i = static_cast<int>(std::nearbyint(v));
#endif
  return static_cast<uint8_t>(std::clamp(i, 0, 255));
}

/// BORDER_REFLECT_101 (... 2 1 | 0 1 2 ... n-1 | n-2 ...), folding as often as needed (OpenCV's
/// borderInterpolate: padding can exceed the image, e.g. a 3-pixel row padded to 8).
int64_t reflect101(int64_t p, int64_t n) {
  if (n == 1) return 0;
  while (p < 0 || p >= n) p = p < 0 ? -p : 2 * (n - 1) - p;
  return p;
}

using Plan = ClaheOp::Plan;

/// Histogram, clipping and LUT of tile (tx, ty) of one image.
void tileLut(const uint8_t* img, const Plan& p, int64_t tx, int64_t ty, uint8_t* lut) {
  // Two interleaved histograms: runs of one grey level (the black around a head) would otherwise
  // make every increment wait for the previous store to the same bin.
  std::array<int32_t, 2 * kBins> counts{};
  int32_t* h0 = counts.data();
  int32_t* h1 = counts.data() + kBins;
  const int64_t x0 = tx * p.tile_w, x1 = x0 + p.tile_w;
  const int64_t real_end = std::min(x1, p.width);  // columns [x0, real_end) exist in the image
  const int64_t pad_begin = std::max(x0, p.width);  // columns [pad_begin, x1) are reflected
  for (int64_t y = ty * p.tile_h; y < (ty + 1) * p.tile_h; ++y) {
    const uint8_t* row = img + (y < p.height ? y : p.pad_rows[y - p.height]) * p.width;
    int64_t x = x0;
    for (; x + 4 <= real_end; x += 4) {
      ++h0[row[x]];
      ++h1[row[x + 1]];
      ++h0[row[x + 2]];
      ++h1[row[x + 3]];
    }
    for (; x < real_end; ++x) ++h0[row[x]];
    for (x = pad_begin; x < x1; ++x) ++h1[row[p.pad_cols[x - p.width]]];
  }
  std::array<int32_t, kBins> hist;
  for (int i = 0; i < kBins; ++i) hist[i] = h0[i] + h1[i];

  if (p.clip > 0) {
    int clipped = 0;
    for (auto& h : hist) {
      if (h > p.clip) {
        clipped += h - p.clip;
        h = p.clip;
      }
    }
    const int batch = clipped / kBins;
    int residual = clipped - batch * kBins;
    for (auto& h : hist) h += batch;
    if (residual > 0) {
      const int step = std::max(kBins / residual, 1);
      for (int i = 0; i < kBins && residual > 0; i += step, --residual) ++hist[i];
    }
  }

  int sum = 0;
  for (int i = 0; i < kBins; ++i) {
    sum += hist[i];
    lut[i] = roundToByte(static_cast<float>(sum) * p.lut_scale);
  }
}

/// The four LUT values a pixel blends, packed per grey level as bytes (top-left, top-right,
/// bottom-left, bottom-right), for every column segment of one band of rows. A band (rows between
/// two tile-centre rows) and a segment (columns between two tile-centre columns) share the same
/// four tiles, so one 32-bit load per pixel replaces OpenCV's four byte loads.
void packBand(const uint8_t* luts, const Plan& p, int64_t band, uint32_t* packed) {
  const uint8_t* top = luts + std::max<int64_t>(band - 1, 0) * p.tiles_x * kBins;
  const uint8_t* bottom = luts + std::min<int64_t>(band, p.tiles_y - 1) * p.tiles_x * kBins;
  for (int64_t s = 0; s <= p.tiles_x; ++s, packed += kBins) {
    const int64_t l = std::max<int64_t>(s - 1, 0) * kBins, r = std::min<int64_t>(s, p.tiles_x - 1) * kBins;
    for (int v = 0; v < kBins; ++v) {
      packed[v] = uint32_t{top[l + v]} | uint32_t{top[r + v]} << 8 | uint32_t{bottom[l + v]} << 16 |
                  uint32_t{bottom[r + v]} << 24;
    }
  }
}

/// OpenCV's blend, in its order: (tl * wl + tr * wr) * wt + (bl * wl + br * wr) * wb.
inline uint8_t blend(uint32_t q, float wl, float wr, float wt, float wb) {
  const float tl = static_cast<float>(q & 0xFF), tr = static_cast<float>(q >> 8 & 0xFF);
  const float bl = static_cast<float>(q >> 16 & 0xFF), br = static_cast<float>(q >> 24);
  return roundToByte((tl * wl + tr * wr) * wt + (bl * wl + br * wr) * wb);
}

/// Rows [r0, r1) of one image's output from its tile LUTs ([tiles_y][tiles_x][256]).
/// `packed` holds (tiles_x + 1) * 256 values of scratch.
void interpolateRows(const uint8_t* img, const uint8_t* luts, const Plan& p, int64_t r0, int64_t r1, uint8_t* out,
                     uint32_t* packed) {
  const int32_t* seg = p.segment.data();
  const float* w_left = p.w_left.data();
  const float* w_right = p.w_right.data();
  int64_t packed_band = -1;
  for (int64_t y = r0; y < r1; ++y) {
    const int64_t ty1 = p.tile_top[y];
    const float wb = p.w_bottom[y], wt = p.w_top[y];
    if (ty1 + 1 != packed_band) {
      packed_band = ty1 + 1;
      packBand(luts, p, packed_band, packed);
    }
    const uint8_t* src = img + y * p.width;
    uint8_t* dst = out + y * p.width;
    int64_t x = 0;
#if defined(__SSE2__)
    // Four pixels per step; the same float operations as the scalar path, lane by lane.
    const __m128 vt = _mm_set1_ps(wt), vb = _mm_set1_ps(wb);
    const __m128i byte = _mm_set1_epi32(0xFF);
    for (; x + 4 <= p.width; x += 4) {
      const __m128i q = _mm_setr_epi32(static_cast<int>(packed[seg[x] + src[x]]), static_cast<int>(packed[seg[x + 1] + src[x + 1]]),
                                       static_cast<int>(packed[seg[x + 2] + src[x + 2]]), static_cast<int>(packed[seg[x + 3] + src[x + 3]]));
      const __m128 tl = _mm_cvtepi32_ps(_mm_and_si128(q, byte));
      const __m128 tr = _mm_cvtepi32_ps(_mm_and_si128(_mm_srli_epi32(q, 8), byte));
      const __m128 bl = _mm_cvtepi32_ps(_mm_and_si128(_mm_srli_epi32(q, 16), byte));
      const __m128 br = _mm_cvtepi32_ps(_mm_srli_epi32(q, 24));
      const __m128 wl = _mm_loadu_ps(w_left + x), wr = _mm_loadu_ps(w_right + x);
      const __m128 res = _mm_add_ps(_mm_mul_ps(_mm_add_ps(_mm_mul_ps(tl, wl), _mm_mul_ps(tr, wr)), vt),
                                    _mm_mul_ps(_mm_add_ps(_mm_mul_ps(bl, wl), _mm_mul_ps(br, wr)), vb));
      __m128i r = _mm_cvtps_epi32(res);  // nearest, ties to even, like cvRound
      r = _mm_packs_epi32(r, r);
      r = _mm_packus_epi16(r, r);
      const int four = _mm_cvtsi128_si32(r);
      std::memcpy(dst + x, &four, 4);
    }
#endif
    for (; x < p.width; ++x) dst[x] = blend(packed[seg[x] + src[x]], w_left[x], w_right[x], wt, wb);
  }
}

/// One image, start to finish, on the calling thread.
void claheImage(const uint8_t* img, const Plan& p, uint8_t* luts, uint32_t* packed, uint8_t* out) {
  for (int64_t ty = 0; ty < p.tiles_y; ++ty)
    for (int64_t tx = 0; tx < p.tiles_x; ++tx) tileLut(img, p, tx, ty, luts + (ty * p.tiles_x + tx) * kBins);
  interpolateRows(img, luts, p, 0, p.height, out, packed);
}

}  // namespace

ClaheOp::ClaheOp(int64_t height, int64_t width, double clip_limit, int64_t tiles_x, int64_t tiles_y) {
  Plan p;
  static_cast<ClahePlan&>(p) = ClahePlan::make(height, width, clip_limit, tiles_x, tiles_y);
  p.segment.resize(width);
  for (int64_t x = 0; x < width; ++x) p.segment[x] = static_cast<int32_t>((p.tile_left[x] + 1) * kBins);
  plan_ = std::make_unique<const Plan>(std::move(p));
}

ClahePlan ClahePlan::make(int64_t height, int64_t width, double clip_limit, int64_t tiles_x, int64_t tiles_y) {
  if (tiles_x < 1 || tiles_y < 1 || tiles_x > kMaxTiles || tiles_y > kMaxTiles) {
    throw std::invalid_argument("clahe: tile grid " + std::to_string(tiles_x) + "x" + std::to_string(tiles_y) +
                                " is outside 1.." + std::to_string(kMaxTiles) + " per axis");
  }
  if (!std::isfinite(clip_limit)) throw std::invalid_argument("clahe: clip limit must be a finite number");
  if (height < 1 || width < 1) throw std::invalid_argument("clahe: images must be at least 1x1");
  ClahePlan p;
  p.height = height;
  p.width = width;
  p.tiles_x = tiles_x;
  p.tiles_y = tiles_y;
  const bool divisible = width % tiles_x == 0 && height % tiles_y == 0;
  const int64_t padded_w = divisible ? width : width + tiles_x - width % tiles_x;
  const int64_t padded_h = divisible ? height : height + tiles_y - height % tiles_y;
  p.tile_w = padded_w / tiles_x;
  p.tile_h = padded_h / tiles_y;
  const int64_t area = p.tile_w * p.tile_h;
  if (area > INT_MAX) throw std::invalid_argument("clahe: tiles of " + std::to_string(area) + " pixels are too large");
  p.lut_scale = static_cast<float>(kBins - 1) / static_cast<float>(area);
  if (clip_limit > 0.0) {
    const double limit = clip_limit * static_cast<double>(area) / kBins;
    // A limit at or above the tile area clips nothing; capping it keeps the int cast defined.
    p.clip = std::max(1, static_cast<int>(std::min(limit, static_cast<double>(area))));
  }
  for (int64_t x = width; x < padded_w; ++x) p.pad_cols.push_back(reflect101(x, width));
  for (int64_t y = height; y < padded_h; ++y) p.pad_rows.push_back(reflect101(y, height));

  // Tile coordinate t = i * (1 / tile) - 0.5 in float, as OpenCV computes it.
  const auto axis = [](int64_t n, int64_t tile, std::vector<int64_t>& first, std::vector<float>& w_first,
                       std::vector<float>& w_second) {
    first.resize(n);
    w_first.resize(n);
    w_second.resize(n);
    const float inv = 1.0f / static_cast<float>(tile);
    for (int64_t i = 0; i < n; ++i) {
      const float t = static_cast<float>(i) * inv - 0.5f;
      first[i] = static_cast<int64_t>(std::floor(t));
      w_second[i] = t - static_cast<float>(first[i]);
      w_first[i] = 1.0f - w_second[i];
    }
  };
  axis(width, p.tile_w, p.tile_left, p.w_left, p.w_right);
  axis(height, p.tile_h, p.tile_top, p.w_top, p.w_bottom);
  return p;
}

ClaheOp::~ClaheOp() = default;
ClaheOp::ClaheOp(ClaheOp&&) noexcept = default;
ClaheOp& ClaheOp::operator=(ClaheOp&&) noexcept = default;

void ClaheOp::apply(const uint8_t* in, uint8_t* out) const {
  // Scratch is small (tiles * 256 bytes + (tiles_x + 1) * 1 KiB): allocating it per image costs
  // nothing next to the image and keeps apply() safe to call from any number of threads.
  std::vector<uint8_t> luts(plan_->tiles_x * plan_->tiles_y * kBins);
  std::vector<uint32_t> packed((plan_->tiles_x + 1) * kBins);
  claheImage(in, *plan_, luts.data(), packed.data(), out);
}

torch::Tensor clahe(const torch::Tensor& images, double clip_limit, int64_t tiles_x, int64_t tiles_y) {
  if (images.dim() != 3 || images.scalar_type() != torch::kUInt8) {
    throw std::invalid_argument("clahe: expected a uint8 tensor [N, H, W], got a " + std::string(c10::toString(images.scalar_type())) +
                                " tensor with " + std::to_string(images.dim()) + " dimensions");
  }
  if (!images.device().is_cpu()) {
    // The training pipeline calls this on the batch before upload; a device tensor still works.
    return clahe(images.to(torch::kCPU), clip_limit, tiles_x, tiles_y).to(images.device());
  }
  const int64_t n = images.size(0), height = images.size(1), width = images.size(2);
  const ClaheOp op(height, width, clip_limit, tiles_x, tiles_y);
  const Plan& plan = *op.plan_;
  const torch::Tensor src = images.contiguous();
  torch::Tensor out = torch::empty({n, height, width}, torch::kUInt8);
  if (n == 0) return out;

  const uint8_t* in_data = src.data_ptr<uint8_t>();
  uint8_t* out_data = out.data_ptr<uint8_t>();
  const int64_t pixels = height * width;

  if (n >= at::get_num_threads()) {
    // Enough images to keep every thread busy: one image per task, each read while cache-hot.
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) op.apply(in_data + i * pixels, out_data + i * pixels);
    });
  } else {
    // Few images (a single one from JS): split each image over tiles, then over rows.
    std::vector<uint8_t> luts(tiles_x * tiles_y * kBins);
    const int64_t packed_size = (tiles_x + 1) * kBins;
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* img = in_data + i * pixels;
      at::parallel_for(0, tiles_x * tiles_y, 1, [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k) tileLut(img, plan, k % tiles_x, k / tiles_x, luts.data() + k * kBins);
      });
      const int64_t grain = std::max<int64_t>(1, 16384 / width);  // ~16k pixels per task
      at::parallel_for(0, height, grain, [&](int64_t begin, int64_t end) {
        std::vector<uint32_t> packed(packed_size);
        interpolateRows(img, luts.data(), plan, begin, end, out_data + i * pixels, packed.data());
      });
    }
  }
  return out;
}

}  // namespace ichnet::prep

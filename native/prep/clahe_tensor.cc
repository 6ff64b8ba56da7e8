// CLAHE as tensor operations; see clahe_tensor.h. The grid, clip limit, LUT scale and blend
// weights come from the plan the host kernel uses (clahe_plan.h); every float step is a separate
// elementwise tensor operation in the host kernel's order, so each one rounds as it does there.
#include "prep/clahe_tensor.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "prep/clahe_plan.h"

namespace ichnet::prep {

namespace {

constexpr int64_t kBins = ClahePlan::kBins;
// Images per chunk are chosen so a chunk's int64 index tensors stay near this many elements
// (128 MiB each): a batch of 512 x 512 slices then needs a few hundred MiB of scratch at most.
constexpr int64_t kChunkElements = int64_t{1} << 24;

torch::Tensor longs(const std::vector<int64_t>& v, const torch::Device& device) {
  return torch::tensor(v, torch::kInt64).to(device);
}

torch::Tensor floats(const std::vector<float>& v, const torch::Device& device) {
  return torch::tensor(v, torch::kFloat32).to(device);
}

/// Index of every padded row (or column) into the image: i itself, then the reflected ones.
std::vector<int64_t> paddedIndex(int64_t n, const std::vector<int64_t>& pad) {
  std::vector<int64_t> index(n);
  for (int64_t i = 0; i < n; ++i) index[i] = i;
  index.insert(index.end(), pad.begin(), pad.end());
  return index;
}

/// Offsets of the LUT of the first and second tile along one axis, per pixel: the tile left of (or
/// above) it and the one right of (below) it, clamped to the grid, times `stride`.
std::pair<std::vector<int64_t>, std::vector<int64_t>> tileOffsets(const std::vector<int64_t>& first, int64_t tiles,
                                                                  int64_t stride) {
  std::vector<int64_t> a(first.size()), b(first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    a[i] = std::max<int64_t>(first[i], 0) * stride;
    b[i] = std::min<int64_t>(first[i] + 1, tiles - 1) * stride;
  }
  return {a, b};
}

/// OpenCV's clip and redistribution on int64 histograms [M, 256]: every bin capped at `clip`, the
/// excess spread evenly over all bins, the remainder one count per bin from bin 0 at a stride of
/// max(256 / remainder, 1).
torch::Tensor clipHistograms(torch::Tensor hist, int64_t clip) {
  const auto excess = (hist - clip).clamp_min(0).sum(1, /*keepdim=*/true);
  hist = hist.clamp_max(clip);
  const auto even = torch::div(excess, kBins, "floor");
  const auto residual = excess - even * kBins;
  const auto bins = torch::arange(kBins, hist.options()).view({1, kBins});
  const auto step = torch::div(torch::full_like(residual, kBins), residual.clamp_min(1), "floor").clamp_min(1);
  const auto extra = torch::remainder(bins, step).eq(0).logical_and(torch::div(bins, step, "floor").lt(residual));
  return hist + even + extra.to(torch::kInt64);
}

}  // namespace

torch::Tensor claheTensor(const torch::Tensor& images, double clip_limit, int64_t tiles_x, int64_t tiles_y) {
  if (images.dim() != 3 || images.scalar_type() != torch::kUInt8) {
    throw std::invalid_argument("clahe: expected a uint8 tensor [N, H, W], got a " + std::string(c10::toString(images.scalar_type())) +
                                " tensor with " + std::to_string(images.dim()) + " dimensions");
  }
  const int64_t n_all = images.size(0), height = images.size(1), width = images.size(2);
  const ClahePlan p = ClahePlan::make(height, width, clip_limit, tiles_x, tiles_y);
  const auto device = images.device();
  auto out = torch::empty_like(images, torch::MemoryFormat::Contiguous);
  if (n_all == 0) return out;

  const int64_t tiles = p.tiles_x * p.tiles_y, area = p.tile_w * p.tile_h;
  const auto rows = longs(paddedIndex(height, p.pad_rows), device);
  const auto cols = longs(paddedIndex(width, p.pad_cols), device);
  const auto [left, right] = tileOffsets(p.tile_left, p.tiles_x, kBins);
  const auto [top, bottom] = tileOffsets(p.tile_top, p.tiles_y, p.tiles_x * kBins);
  const auto col_l = longs(left, device).view({1, 1, width}), col_r = longs(right, device).view({1, 1, width});
  const auto row_t = longs(top, device).view({1, height, 1}), row_b = longs(bottom, device).view({1, height, 1});
  const auto wl = floats(p.w_left, device).view({1, 1, width}), wr = floats(p.w_right, device).view({1, 1, width});
  const auto wt = floats(p.w_top, device).view({1, height, 1}), wb = floats(p.w_bottom, device).view({1, height, 1});
  const bool padded = !p.pad_rows.empty() || !p.pad_cols.empty();

  const int64_t per_chunk = std::max<int64_t>(1, kChunkElements / (p.paddedHeight() * p.paddedWidth()));
  for (int64_t start = 0; start < n_all; start += per_chunk) {
    const int64_t n = std::min(per_chunk, n_all - start);
    const auto x = images.narrow(0, start, n);
    const auto full = padded ? x.index_select(1, rows).index_select(2, cols) : x;

    // Histograms: one bincount over (tile, grey level) keys of the whole chunk.
    const auto by_tile = full.reshape({n, p.tiles_y, p.tile_h, p.tiles_x, p.tile_w})
                             .permute({0, 1, 3, 2, 4})
                             .reshape({n * tiles, area})
                             .to(torch::kInt64);
    const auto keys = by_tile + torch::arange(n * tiles, by_tile.options()).mul_(kBins).view({n * tiles, 1});
    auto hist = torch::bincount(keys.view({-1}), {}, n * tiles * kBins).view({n * tiles, kBins});
    if (p.clip > 0) hist = clipHistograms(hist, p.clip);
    // LUT[i] = round_half_even(float(cdf[i]) * (255 / area)) in float32, kept as float for the blend.
    const auto lut = hist.cumsum(1).to(torch::kFloat32).mul(p.lut_scale).round().clamp(0, 255).view({-1});

    // Blend: (tl * wl + tr * wr) * wt + (bl * wl + br * wr) * wb, rounded half to even.
    const auto v = x.to(torch::kInt64) + torch::arange(n, by_tile.options()).mul_(tiles * kBins).view({n, 1, 1});
    const auto top_row = v + row_t, bottom_row = v + row_b;
    const auto upper = lut.take(top_row + col_l).mul(wl).add(lut.take(top_row + col_r).mul(wr)).mul(wt);
    const auto lower = lut.take(bottom_row + col_l).mul(wl).add(lut.take(bottom_row + col_r).mul(wr)).mul(wb);
    out.narrow(0, start, n).copy_(upper.add(lower).round().clamp(0, 255).to(torch::kUInt8));
  }
  return out;
}

}  // namespace ichnet::prep

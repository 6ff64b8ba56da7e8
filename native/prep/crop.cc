#include "prep/crop.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace ichnet::prep {

namespace {

/// The extent of no pixels (x0 > x1): merging it with an extent leaves that extent.
constexpr Box kNoHead{std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max(), -1, -1};

/// The bounding box of the head pixels of one plane, inclusive bounds; kNoHead when there are none.
Box headExtent(const int16_t* px, int64_t height, int64_t width) {
  Box b = kNoHead;
  for (int64_t y = 0; y < height; ++y) {
    const int16_t* row = px + y * width;
    int64_t first = -1, last = -1;
    for (int64_t x = 0; x < width; ++x) {
      if (row[x] > kHeadThresholdHu) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    b.x0 = std::min(b.x0, first);
    b.x1 = std::max(b.x1, last);
    b.y0 = std::min(b.y0, y);
    b.y1 = y;
  }
  return b;
}

}  // namespace

std::vector<Box> inputBoxes(const torch::Tensor& flat, const SliceIndex& idx, int64_t patients, CropMode mode) {
  const int64_t height = flat.size(2), width = flat.size(3);
  std::vector<Box> boxes(static_cast<size_t>(patients), Box{0, 0, width, height});
  if (mode == CropMode::None) return boxes;
  if (flat.scalar_type() != torch::kInt16) {
    throw std::invalid_argument("prep.crop: head finds the head in Hounsfield units and needs int16 HU input; use prep.crop: none for 8-bit images");
  }
  const auto data = flat.contiguous();
  const int16_t* base = data.data_ptr<int16_t>();
  const int64_t plane_stride = flat.size(1) * height * width;
  std::vector<Box> extents(static_cast<size_t>(idx.size()));
  at::parallel_for(0, idx.size(), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) extents[i] = headExtent(base + idx.self[i] * plane_stride, height, width);
  });
  std::vector<Box> found(static_cast<size_t>(patients), kNoHead);
  for (int64_t i = 0; i < idx.size(); ++i) {
    Box& f = found[idx.patient[i]];
    const Box& e = extents[i];
    if (e.x0 > e.x1) continue;
    f = {std::min(f.x0, e.x0), std::min(f.y0, e.y0), std::max(f.x1, e.x1), std::max(f.y1, e.y1)};
  }
  for (int64_t b = 0; b < patients; ++b) {
    const Box& f = found[b];
    if (f.x0 > f.x1) continue;  // no head: the whole slice
    const int64_t w = f.x1 - f.x0 + 1, h = f.y1 - f.y0 + 1;
    const int64_t longer = std::max(w, h);
    const int64_t side = longer + 2 * ((longer + 15) / 16);
    const int64_t x0 = f.x0 - (side - w) / 2, y0 = f.y0 - (side - h) / 2;
    boxes[b] = {x0, y0, x0 + side, y0 + side};
  }
  return boxes;
}

torch::Tensor boxTensor(const std::vector<Box>& boxes) {
  auto t = torch::empty({static_cast<int64_t>(boxes.size()), 4}, torch::kInt64);
  int64_t* out = t.data_ptr<int64_t>();
  for (const auto& b : boxes) {
    *out++ = b.x0;
    *out++ = b.y0;
    *out++ = b.x1;
    *out++ = b.y1;
  }
  return t;
}

}  // namespace ichnet::prep

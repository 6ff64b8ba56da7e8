#include "prep/window_lut.h"

namespace ichnet::prep {

torch::Tensor windowUnit(const torch::Tensor& hu, const Window& w) {
  return ((hu.to(torch::kFloat32) - (w.center - w.width / 2)) / w.width).clamp(0.0, 1.0);
}

torch::Tensor windowLevels(const torch::Tensor& hu, const Window& w) {
  return windowUnit(hu, w).mul(255.0).round_().to(torch::kUInt8);
}

namespace {

// Every int16 value in order, so entry i is HU i - kHuOffset. Built with the same tensor
// operations as windowing a batch: elementwise float32 ops give the same bits whatever the
// tensor's shape, so a table lookup equals the arithmetic it replaces exactly.
torch::Tensor allHu() { return torch::arange(-kHuOffset, kHuOffset, torch::kInt32).to(torch::kInt16); }

}  // namespace

torch::Tensor windowUnitTable(const Window& w) { return windowUnit(allHu(), w).contiguous(); }

torch::Tensor windowLevelTable(const Window& w) {
  return windowLevels(allHu(), w).contiguous();
}

}  // namespace ichnet::prep

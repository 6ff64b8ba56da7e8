#include "prep/host_pipeline.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <vector>

#include "prep/augment.h"
#include "prep/clahe.h"
#include "prep/resample.h"
#include "prep/window_lut.h"

namespace ichnet::prep {

namespace {

/// value / 255 for every 8-bit value, in float32 as `x.to(kFloat32).div_(255.0)` computes it.
const float* byteUnitTable() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int v = 0; v < 256; ++v) t[v] = static_cast<float>(v) / 255.0f;
    return t;
  }();
  return table.data();
}

/// outs[p * n + k] = luts[p][src[k]] for p < count (1..3): the windows of one slice in one pass.
void windowPlanes(const int16_t* src, const uint8_t* const* luts, int64_t count, uint8_t* outs, int64_t n) {
  switch (count) {
    case 1:
      for (int64_t k = 0; k < n; ++k) outs[k] = luts[0][src[k]];
      break;
    case 2:
      for (int64_t k = 0; k < n; ++k) {
        const int16_t v = src[k];
        outs[k] = luts[0][v];
        outs[n + k] = luts[1][v];
      }
      break;
    default:
      for (int64_t k = 0; k < n; ++k) {
        const int16_t v = src[k];
        outs[k] = luts[0][v];
        outs[n + k] = luts[1][v];
        outs[2 * n + k] = luts[2][v];
      }
  }
}

/// The distinct planes behind a slice's three model channels (3, or 1 repeated) and how to read
/// them: which slice (a neighbour in `neighbors` mode), which source channel, which window.
class SlicePlanes {
 public:
  SlicePlanes(const torch::Tensor& flat, const SliceIndex& idx, const PrepConfig& config)
      : flat_(flat.contiguous()), idx_(idx), height_(flat.size(2)), width_(flat.size(3)) {
    hu_ = flat_.scalar_type() == torch::kInt16;
    if (!hu_ && flat_.scalar_type() != torch::kUInt8) throw std::invalid_argument("images: expected uint8 or int16");
    const int64_t channels = flat_.size(1);
    if (config.channels == ChannelMode::Neighbors && channels == 1) {
      specs_ = {{Which::Prev, 0, 0}, {Which::Self, 0, 0}, {Which::Next, 0, 0}};
    } else if (hu_) {
      for (int w = 0; w < static_cast<int>(config.windows.size()); ++w) specs_.push_back({Which::Self, 0, w});
    } else {
      for (int64_t c = 0; c < channels; ++c) specs_.push_back({Which::Self, c, 0});
    }
    if (hu_) {
      for (const auto& w : config.windows) {
        if (config.clahe.enabled) {
          level_tables_.push_back(windowLevelTable(w));
        } else {
          unit_tables_.push_back(windowUnitTable(w));
        }
      }
    }
    if (config.clahe.enabled) {
      clahe_.emplace(height_, width_, config.clahe.clip_limit, config.clahe.tiles_x, config.clahe.tiles_y);
    }
  }

  int64_t count() const { return static_cast<int64_t>(specs_.size()); }
  int64_t pixels() const { return height_ * width_; }
  bool hu() const { return hu_; }

  /// Raw pixels of plane p of valid slice i.
  template <typename T>
  const T* raw(int64_t i, int64_t p) const {
    const auto& s = specs_[p];
    const auto& which = s.slice == Which::Prev ? idx_.prev : s.slice == Which::Next ? idx_.next : idx_.self;
    return flat_.data_ptr<T>() + (which[i] * flat_.size(1) + s.channel) * pixels();
  }

  /// The level table of plane p (entry for HU 0).
  const uint8_t* levelTable(int64_t p) const { return level_tables_[specs_[p].window].data_ptr<uint8_t>() + kHuOffset; }

  /// The table raw(i, p) is read through when there is no CLAHE (entry for 0).
  const float* rawTable(int64_t p) const {
    if (!hu_) return byteUnitTable();
    return unit_tables_[specs_[p].window].data_ptr<float>() + kHuOffset;
  }

  /// Step 1 for CLAHE: the 8-bit levels of slice i's planes. 8-bit input is used in place; int16
  /// input is windowed into `scratch` (count() x H x W), one pass per source slice.
  std::array<const uint8_t*, 3> levels(int64_t i, uint8_t* scratch) const {
    std::array<const uint8_t*, 3> out{};
    for (int64_t p = 0; p < count(); ++p) {
      out[p] = hu_ ? scratch + p * pixels() : raw<uint8_t>(i, p);
    }
    if (!hu_) return out;
    if (specs_.front().slice == specs_.back().slice) {
      // Windows of one slice: read each HU value once for all of them.
      std::array<const uint8_t*, 3> luts{};
      for (int64_t p = 0; p < count(); ++p) luts[p] = levelTable(p);
      windowPlanes(raw<int16_t>(i, 0), luts.data(), count(), scratch, pixels());
    } else {
      for (int64_t p = 0; p < count(); ++p) {
        const uint8_t* lut = levelTable(p);
        windowPlanes(raw<int16_t>(i, p), &lut, 1, scratch + p * pixels(), pixels());
      }
    }
    return out;
  }

  /// Step 2 on one plane of levels.
  void equalise(const uint8_t* levels, uint8_t* out) const { clahe_->apply(levels, out); }

 private:
  enum class Which { Prev, Self, Next };
  struct Spec {
    Which slice;
    int64_t channel;  // source channel
    int window;       // int16 input: index into config.windows
  };

  torch::Tensor flat_;
  const SliceIndex& idx_;
  int64_t height_, width_;
  bool hu_ = false;
  std::vector<Spec> specs_;
  std::vector<torch::Tensor> unit_tables_, level_tables_;  // per window, int16 input only
  std::optional<ClaheOp> clahe_;
};

/// Brightness, contrast and gamma in [0, 1] space, clamped (augment.h's colourJitter, same float
/// operations in the same order) on one slice's planes, `n` values in all.
void jitter(float* x, int64_t n, const float* params) {
  // Four partial sums: one running sum is a chain of dependent adds the CPU cannot overlap.
  std::array<double, 4> sums{};
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    for (int j = 0; j < 4; ++j) sums[j] += x[k + j];
  }
  for (; k < n; ++k) sums[0] += x[k];
  const auto mean = static_cast<float>((sums[0] + sums[1] + sums[2] + sums[3]) / static_cast<double>(n));
  const float contrast = params[kContrast], brightness = params[kBrightness], gamma = params[kGamma];
  for (k = 0; k < n; ++k) x[k] = std::clamp((x[k] - mean) * contrast + mean + brightness, 0.0f, 1.0f);
  if (gamma != 1.0f) {
    for (k = 0; k < n; ++k) x[k] = std::pow(x[k], gamma);
  }
}

}  // namespace

torch::Tensor preprocessOnHost(const torch::Tensor& flat, const SliceIndex& idx, const PrepConfig& config,
                               const torch::Tensor& thetas, const torch::Tensor& aug) {
  const SlicePlanes planes(flat, idx, config);
  const int64_t n = idx.size(), size = config.input_size, height = flat.size(2), width = flat.size(3);
  const int64_t count = planes.count(), plane_out = size * size;
  auto out = torch::empty({n, 3, size, size}, torch::kFloat32);
  if (n == 0) return out;
  const torch::Tensor params = aug.defined() ? aug.to(torch::kCPU, torch::kFloat32).contiguous() : torch::Tensor();
  const Resampler resize = Resampler::resize(height, width, size);
  std::array<float, 3> mean{}, std{};
  for (int c = 0; c < 3; ++c) {
    mean[c] = static_cast<float>(config.mean[c]);
    std[c] = static_cast<float>(config.std[c]);
  }
  float* out_data = out.data_ptr<float>();

  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    // Scratch per task, reused for each of its slices (a few hundred KiB at 512 x 512).
    std::vector<uint8_t> levels(config.clahe.enabled && planes.hu() ? count * planes.pixels() : 0);
    std::vector<uint8_t> equalised(config.clahe.enabled ? count * planes.pixels() : 0);
    for (int64_t i = begin; i < end; ++i) {
      float* dst = out_data + i * 3 * plane_out;
      const float* row = params.defined() ? params.data_ptr<float>() + idx.patient[i] * kAugParamCount : nullptr;
      std::optional<Resampler> affine;
      if (thetas.defined()) {
        std::array<double, 6> theta{};
        std::copy_n(thetas.data_ptr<double>() + i * 6, 6, theta.begin());
        affine.emplace(Resampler::affine(height, width, size, theta));
      }
      const Resampler& geometry = affine ? *affine : resize;

      std::array<const float*, 3> tables{};
      if (config.clahe.enabled) {
        const auto grey = planes.levels(i, levels.data());
        std::array<const uint8_t*, 3> src{};
        for (int64_t p = 0; p < count; ++p) {
          uint8_t* eq = equalised.data() + p * planes.pixels();
          planes.equalise(grey[p], eq);
          src[p] = eq;
          tables[p] = byteUnitTable();
        }
        geometry.run(src.data(), tables.data(), count, dst);
      } else if (planes.hu()) {
        std::array<const int16_t*, 3> src{};
        for (int64_t p = 0; p < count; ++p) {
          src[p] = planes.raw<int16_t>(i, p);
          tables[p] = planes.rawTable(p);
        }
        geometry.run(src.data(), tables.data(), count, dst);
      } else {
        std::array<const uint8_t*, 3> src{};
        for (int64_t p = 0; p < count; ++p) {
          src[p] = planes.raw<uint8_t>(i, p);
          tables[p] = planes.rawTable(p);
        }
        geometry.run(src.data(), tables.data(), count, dst);
      }
      for (int64_t c = count; c < 3; ++c) std::copy(dst, dst + plane_out, dst + c * plane_out);

      if (row) jitter(dst, 3 * plane_out, row);
      for (int c = 0; c < 3; ++c) {
        float* x = dst + c * plane_out;
        for (int64_t k = 0; k < plane_out; ++k) x[k] = (x[k] - mean[c]) / std[c];
      }
    }
  });
  return out;
}

torch::Tensor claheLevelsOnHost(const torch::Tensor& flat, const SliceIndex& idx, const PrepConfig& config) {
  const SlicePlanes planes(flat, idx, config);
  const int64_t n = idx.size(), count = planes.count();
  auto out = torch::empty({n, count, flat.size(2), flat.size(3)}, torch::kUInt8);
  uint8_t* out_data = out.data_ptr<uint8_t>();
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    std::vector<uint8_t> levels(planes.hu() ? count * planes.pixels() : 0);
    for (int64_t i = begin; i < end; ++i) {
      const auto grey = planes.levels(i, levels.data());
      for (int64_t p = 0; p < count; ++p) planes.equalise(grey[p], out_data + (i * count + p) * planes.pixels());
    }
  });
  return out;
}

}  // namespace ichnet::prep

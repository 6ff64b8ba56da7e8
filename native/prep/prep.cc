#include "prep/prep.h"

#include <stdexcept>

#include "prep/augment.h"
#include "prep/clahe.h"

namespace ichnet::prep {

namespace {

/// For each valid slice (patient-major), the flat index b*S + s of itself and of its neighbours
/// (clamped to the patient's own slices), and the patient it belongs to.
struct SliceIndex {
  torch::Tensor self, prev, next, patient;  // int64 [n] on the CPU
};

SliceIndex validSlices(const torch::Tensor& lengths, int64_t slices) {
  std::vector<int64_t> self, prev, next, patient;
  const auto* len = lengths.data_ptr<int64_t>();
  for (int64_t b = 0; b < lengths.size(0); ++b) {
    for (int64_t s = 0; s < len[b]; ++s) {
      self.push_back(b * slices + s);
      prev.push_back(b * slices + std::max<int64_t>(s - 1, 0));
      next.push_back(b * slices + std::min<int64_t>(s + 1, len[b] - 1));
      patient.push_back(b);
    }
  }
  const auto t = [](const std::vector<int64_t>& v) { return torch::tensor(v, torch::kInt64); };
  return {t(self), t(prev), t(next), t(patient)};
}

torch::Tensor window(const torch::Tensor& hu, const Window& w) {
  return ((hu.to(torch::kFloat32) - (w.center - w.width / 2)) / w.width).clamp(0.0, 1.0);
}

/// Raw valid slices -> [n, 3, H, W] float in [0, 1] (steps 1-2).
torch::Tensor toUnitRange(const torch::Tensor& flat, const SliceIndex& idx, const PrepConfig& config) {
  const bool neighbors = config.channels == ChannelMode::Neighbors && flat.size(1) == 1;
  torch::Tensor raw;  // [n, C', H, W] with C' = 3 for neighbours
  if (neighbors) {
    raw = torch::cat({flat.index_select(0, idx.prev), flat.index_select(0, idx.self), flat.index_select(0, idx.next)}, 1);
  } else {
    raw = flat.index_select(0, idx.self);
  }
  torch::Tensor x;
  if (raw.scalar_type() == torch::kInt16) {
    if (neighbors) {
      x = window(raw, config.windows.front());
    } else {
      std::vector<torch::Tensor> channels;
      for (const auto& w : config.windows) channels.push_back(window(raw, w));
      x = torch::cat(channels, 1);
    }
  } else {
    x = raw.to(torch::kFloat32).div_(255.0);
  }
  if (config.clahe.enabled) {
    // CLAHE works on 256 grey levels per channel, like OpenCV's (uint8 input is already there).
    const auto levels = raw.scalar_type() == torch::kUInt8 ? raw : x.mul(255.0).round_().to(torch::kUInt8);
    const auto shape = levels.sizes().vec();
    const auto eq = clahe(levels.reshape({-1, shape[2], shape[3]}).contiguous(), config.clahe.clip_limit,
                          config.clahe.tiles_x, config.clahe.tiles_y);
    x = eq.view(shape).to(torch::kFloat32).div_(255.0);
  }
  if (x.size(1) == 1) x = x.expand({-1, 3, -1, -1});
  return x;
}

}  // namespace

torch::Tensor preprocessBatch(const torch::Tensor& images, const torch::Tensor& lengths, const PrepConfig& config,
                              const torch::Tensor& aug, torch::Device device) {
  const int64_t B = images.size(0), S = images.size(1);
  const auto flat = images.view({B * S, images.size(2), images.size(3), images.size(4)});
  const auto idx = validSlices(lengths, S);
  const auto upload = [&](const torch::Tensor& t) {
    return device.is_cuda() ? t.pin_memory().to(device, /*non_blocking=*/true) : t;
  };
  if (images.scalar_type() == torch::kFloat32) {
    if (!device.is_cuda()) return flat.index_select(0, idx.self);
    // One copy into pinned memory, then the valid slices are selected on the device.
    auto on_device = upload(flat.contiguous());
    return idx.self.size(0) == flat.size(0) ? on_device : on_device.index_select(0, idx.self.to(device));
  }
  if (images.scalar_type() != torch::kUInt8 && images.scalar_type() != torch::kInt16) {
    throw std::invalid_argument("images: expected uint8, int16 or float32");
  }

  // CLAHE is a CPU kernel: with it (or on a CPU device) steps 1-2 run here; otherwise the raw
  // batch (int16/uint8, half the bytes of float) travels to the device and is windowed there.
  const bool on_host = config.clahe.enabled || !device.is_cuda();
  const auto source = on_host ? flat : upload(flat.contiguous());
  const auto where = [&](const torch::Tensor& t) { return t.to(source.device()); };
  auto x = toUnitRange(source, {where(idx.self), where(idx.prev), where(idx.next), idx.patient}, config);
  if (on_host) x = upload(x);

  const int64_t size = config.input_size;
  if (aug.defined()) {
    const auto per_slice = aug.index_select(0, idx.patient).to(x.device());
    x = colourJitter(affineResample(x, per_slice, size), per_slice);
  } else if (x.size(2) != size || x.size(3) != size) {
    namespace F = torch::nn::functional;
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{size, size})
                              .mode(torch::kBilinear)
                              .align_corners(false));
  }
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(x.device());
  const auto mean = torch::tensor({config.mean[0], config.mean[1], config.mean[2]}, opts).view({1, 3, 1, 1});
  const auto std = torch::tensor({config.std[0], config.std[1], config.std[2]}, opts).view({1, 3, 1, 1});
  return ((x - mean) / std).contiguous();
}

}  // namespace ichnet::prep

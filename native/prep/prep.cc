#include "prep/prep.h"

#include <stdexcept>

#include "prep/augment.h"
#include "prep/host_pipeline.h"
#include "prep/slice_index.h"
#include "prep/window_lut.h"

namespace ichnet::prep {

namespace {

/// Raw valid slices on the device -> [n, 3, H, W] float in [0, 1] (step 1, without CLAHE).
torch::Tensor unitRange(const torch::Tensor& flat, const SliceIndex& idx, const PrepConfig& config) {
  const auto select = [&](const std::vector<int64_t>& v) { return flat.index_select(0, SliceIndex::tensor(v).to(flat.device())); };
  const bool neighbors = config.channels == ChannelMode::Neighbors && flat.size(1) == 1;
  const auto raw = neighbors ? torch::cat({select(idx.prev), select(idx.self), select(idx.next)}, 1) : select(idx.self);
  torch::Tensor x;
  if (raw.scalar_type() == torch::kInt16) {
    if (neighbors) {
      x = windowUnit(raw, config.windows.front());
    } else {
      std::vector<torch::Tensor> channels;
      for (const auto& w : config.windows) channels.push_back(windowUnit(raw, w));
      x = torch::cat(channels, 1);
    }
  } else {
    x = raw.to(torch::kFloat32).div_(255.0);
  }
  return x.size(1) == 1 ? x.expand({-1, 3, -1, -1}) : x;
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
    const auto self = SliceIndex::tensor(idx.self);
    if (!device.is_cuda()) return flat.index_select(0, self);
    // One copy into pinned memory, then the valid slices are selected on the device.
    auto on_device = upload(flat.contiguous());
    return idx.size() == flat.size(0) ? on_device : on_device.index_select(0, self.to(device));
  }
  if (images.scalar_type() != torch::kUInt8 && images.scalar_type() != torch::kInt16) {
    throw std::invalid_argument("images: expected uint8, int16 or float32");
  }
  if (!device.is_cuda()) return preprocessOnHost(flat, idx, config, aug);

  // On a GPU: CLAHE is a CPU kernel, so with it steps 1-2 run here and the 8-bit levels (a quarter
  // of float's bytes) travel; without it the raw batch travels and is windowed there.
  torch::Tensor x;
  if (config.clahe.enabled) {
    x = upload(claheLevelsOnHost(flat, idx, config)).to(torch::kFloat32).div_(255.0);
    if (x.size(1) == 1) x = x.expand({-1, 3, -1, -1});
  } else {
    x = unitRange(upload(flat.contiguous()), idx, config);
  }

  const int64_t size = config.input_size;
  if (aug.defined()) {
    const auto per_slice = aug.index_select(0, SliceIndex::tensor(idx.patient)).to(x.device());
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

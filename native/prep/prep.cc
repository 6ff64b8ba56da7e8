#include "prep/prep.h"

#include <functional>
#include <stdexcept>

#include "prep/augment.h"
#include "prep/clahe_tensor.h"
#include "prep/host_pipeline.h"
#include "prep/slice_index.h"
#include "prep/upload.h"
#include "prep/window_lut.h"

namespace ichnet::prep {

namespace {

/// The planes behind the three model channels of the valid slices, from the raw batch on the
/// device: int16 planes through `window` (one per CT window, or the neighbours under the first),
/// 8-bit planes through `bytes`. [n, P, H, W] with P = 3, or 1 for a plane that fills all three.
torch::Tensor channelPlanes(const torch::Tensor& flat, const SliceIndex& idx, const PrepConfig& config,
                            const std::function<torch::Tensor(const torch::Tensor&, const Window&)>& window,
                            const std::function<torch::Tensor(const torch::Tensor&)>& bytes) {
  const auto select = [&](const std::vector<int64_t>& v) { return flat.index_select(0, SliceIndex::tensor(v).to(flat.device())); };
  const bool neighbors = config.channels == ChannelMode::Neighbors && flat.size(1) == 1;
  const auto raw = neighbors ? torch::cat({select(idx.prev), select(idx.self), select(idx.next)}, 1) : select(idx.self);
  if (raw.scalar_type() != torch::kInt16) return bytes(raw);
  if (neighbors) return window(raw, config.windows.front());
  std::vector<torch::Tensor> channels;
  for (const auto& w : config.windows) channels.push_back(window(raw, w));
  return torch::cat(channels, 1);
}

/// Steps 1-2 as tensor operations on the raw batch's device: window to 8-bit levels, CLAHE.
torch::Tensor claheLevelsOnDevice(const torch::Tensor& flat, const SliceIndex& idx, const PrepConfig& config) {
  const auto levels = channelPlanes(flat, idx, config, windowLevels, [](const torch::Tensor& t) { return t; });
  const auto& c = config.clahe;
  const auto eq = claheTensor(levels.reshape({-1, levels.size(2), levels.size(3)}), c.clip_limit, c.tiles_x, c.tiles_y);
  return eq.view(levels.sizes());
}

/// Steps 3-5 on [n, 3, H, W] floats in [0, 1]: affine resampling (thetas defined: a crop box or
/// augmentation) and jitter (aug defined), or a plain resize; then normalisation.
torch::Tensor geometryAndNormalise(torch::Tensor x, const SliceIndex& idx, const PrepConfig& config, const torch::Tensor& thetas,
                                   const torch::Tensor& aug) {
  const int64_t size = config.input_size;
  if (thetas.defined()) {
    x = affineResample(x, thetas, size);
    if (aug.defined()) x = colourJitter(x, aug.index_select(0, SliceIndex::tensor(idx.patient).to(aug.device())).to(x.device()));
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

}  // namespace

torch::Tensor preprocessBatch(const torch::Tensor& images, const torch::Tensor& lengths, const PrepConfig& config,
                              const torch::Tensor& aug, torch::Device device, std::vector<Box>* boxes) {
  const int64_t B = images.size(0), S = images.size(1);
  const auto flat = images.view({B * S, images.size(2), images.size(3), images.size(4)});
  const auto idx = validSlices(lengths, S);
  if (images.scalar_type() == torch::kFloat32) {
    if (boxes) *boxes = inputBoxes(flat, idx, B, CropMode::None);
    const auto self = SliceIndex::tensor(idx.self);
    if (!device.is_cuda()) return flat.index_select(0, self);
    // One copy into pinned memory, then the valid slices are selected on the device.
    auto on_device = upload(flat, device);
    return idx.size() == flat.size(0) ? on_device : on_device.index_select(0, self.to(device));
  }
  if (images.scalar_type() != torch::kUInt8 && images.scalar_type() != torch::kInt16) {
    throw std::invalid_argument("images: expected uint8, int16 or float32");
  }
  // The geometry of each slice's one resampling, shared by both paths: a plain resize, or an
  // affine map when there is a crop box or an augmentation.
  const auto regions = inputBoxes(flat, idx, B, config.crop);
  if (boxes) *boxes = regions;
  const torch::Tensor thetas = config.crop != CropMode::None || aug.defined() ? sliceThetas(idx, regions, aug, flat.size(2), flat.size(3)) : torch::Tensor();
  const bool on_device = config.where == PrepWhere::Device || (config.where == PrepWhere::Auto && device.is_cuda());
  if (!on_device && !device.is_cuda()) return preprocessOnHost(flat, idx, config, thetas, aug);

  // Only the raw 8-bit/int16 pixels, or the host's 8-bit CLAHE levels, travel to a GPU.
  torch::Tensor x;
  if (config.clahe.enabled) {
    const auto levels = on_device ? claheLevelsOnDevice(upload(flat, device), idx, config)
                                  : upload(claheLevelsOnHost(flat, idx, config), device);
    x = levels.to(torch::kFloat32).div_(255.0);
  } else {
    x = channelPlanes(upload(flat, device), idx, config, windowUnit,
                      [](const torch::Tensor& t) { return t.to(torch::kFloat32).div_(255.0); });
  }
  if (x.size(1) == 1) x = x.expand({-1, 3, -1, -1});
  return geometryAndNormalise(x, idx, config, thetas, aug);
}

}  // namespace ichnet::prep

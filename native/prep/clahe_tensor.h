#pragma once
// CLAHE as batched tensor operations on any device (docs/ARCHITECTURE.md §3 step 2), for the
// preprocessing pipeline when it runs where the batch is consumed (prep.where: device). Same
// semantics and the same float arithmetic as the host kernel (clahe.h), hence OpenCV's output:
// tile histograms over the BORDER_REFLECT_101-padded image, clipping with OpenCV's redistribution
// of the excess, CDF lookup tables, and the bilinear blend of the four neighbouring tiles' LUTs.
#include <torch/torch.h>

namespace ichnet::prep {

/// images: uint8 [N, H, W] on any device. Returns uint8 [N, H, W] on the same device, equal to
/// `clahe()` of clahe.h. Throws std::invalid_argument on a bad shape, dtype, grid or clip limit.
torch::Tensor claheTensor(const torch::Tensor& images, double clip_limit, int64_t tiles_x, int64_t tiles_y);

}  // namespace ichnet::prep

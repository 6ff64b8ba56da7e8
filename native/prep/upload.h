#pragma once
// Host-to-device copies of a batch's raw pixels (docs/ARCHITECTURE.md §3): on a GPU through pinned
// memory on a side stream, so the copy can run while kernels queued earlier on the compute stream
// (the previous step's) still run; the compute stream waits for the copy before it reads the data.
#include <torch/torch.h>

namespace ichnet::prep {

/// `host` (a CPU tensor) on `device`: on CUDA copied asynchronously as described above; on the
/// CPU returned as is. Written with LibTorch's device-generic stream and event API, so it builds
/// against CPU-only LibTorch too.
torch::Tensor upload(const torch::Tensor& host, torch::Device device);

}  // namespace ichnet::prep

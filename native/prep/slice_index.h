#pragma once
// Which slices of a zero-padded [B, S, ...] batch are valid, and their neighbours.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace ichnet::prep {

/// For each valid slice (patient-major, in slice order): the flat index b*S + s of itself and of
/// its neighbours (clamped to the patient's own slices), and the patient it belongs to.
struct SliceIndex {
  std::vector<int64_t> self, prev, next, patient;

  int64_t size() const { return static_cast<int64_t>(self.size()); }
  /// One of the members as an int64 tensor on the CPU.
  static torch::Tensor tensor(const std::vector<int64_t>& v) { return torch::tensor(v, torch::kInt64); }
};

/// lengths: int64 [B] on the CPU; slices: S.
SliceIndex validSlices(const torch::Tensor& lengths, int64_t slices);

}  // namespace ichnet::prep

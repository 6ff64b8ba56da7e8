#pragma once
// Asymmetric Loss (Ridnik et al., ICCV 2021), docs/ARCHITECTURE.md §5. BCE is the case
// gamma_neg = gamma_pos = clip = 0.
#include <torch/torch.h>

namespace ichnet::loss {

struct AslConfig {
  double gamma_neg{};
  double gamma_pos{};
  double clip{};
  double eps{};
  double aux_weight{};  // weight of the label RNN's own logits when both RNNs are on
};

/// logits, targets [B, S, L]; valid bool [B, S]. Returns the summed loss over valid slices and
/// labels divided by the number of valid slices (a scalar, float32, in the autograd graph).
torch::Tensor asymmetricLoss(const torch::Tensor& logits, const torch::Tensor& targets,
                             const torch::Tensor& valid, const AslConfig& config);

}  // namespace ichnet::loss

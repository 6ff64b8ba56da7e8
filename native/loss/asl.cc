#include "loss/asl.h"

namespace ichnet::loss {

torch::Tensor asymmetricLoss(const torch::Tensor& logits, const torch::Tensor& targets,
                             const torch::Tensor& valid, const AslConfig& config) {
  const auto x = logits.to(torch::kFloat32);
  const auto y = targets.to(torch::kFloat32);
  const auto p = torch::sigmoid(x);
  auto p_neg = 1 - p;
  if (config.clip > 0) p_neg = (p_neg + config.clip).clamp_max(1.0);
  auto ll = y * torch::log(p.clamp_min(config.eps)) + (1 - y) * torch::log(p_neg.clamp_min(config.eps));
  if (config.gamma_neg > 0 || config.gamma_pos > 0) {
    // The focusing weight stays in the graph, as in the reference implementation.
    const auto pt = p * y + p_neg * (1 - y);
    const auto gamma = config.gamma_pos * y + config.gamma_neg * (1 - y);
    ll = ll * torch::pow(1 - pt, gamma);
  }
  const auto mask = valid.to(torch::kFloat32);
  return -(ll * mask.unsqueeze(-1)).sum() / mask.sum();
}

}  // namespace ichnet::loss

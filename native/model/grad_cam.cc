#include "model/grad_cam.h"

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace ichnet::model {

namespace {

/// Every (patient, slice, label) of the valid slices, patient-major.
torch::Tensor allTargets(const torch::Tensor& lengths, int64_t labels) {
  std::vector<int64_t> rows;
  const auto len = lengths.accessor<int64_t, 1>();
  for (int64_t b = 0; b < len.size(0); ++b) {
    for (int64_t s = 0; s < len[b]; ++s) {
      for (int64_t l = 0; l < labels; ++l) rows.insert(rows.end(), {b, s, l});
    }
  }
  return torch::tensor(rows, torch::kInt64).view({-1, 3});
}

}  // namespace

GradCamResult gradCam(IchNetImpl& model, const torch::Tensor& images, const torch::Tensor& lengths, int64_t slices,
                      torch::Tensor targets) {
  const int64_t labels = model.config().num_labels;
  if (!targets.defined()) targets = allTargets(lengths, labels);
  targets = targets.to(torch::kInt64).contiguous();
  // Row of each valid slice in `images`: (patient, slice) -> row.
  std::map<std::pair<int64_t, int64_t>, int64_t> row_of;
  const auto len = lengths.accessor<int64_t, 1>();
  for (int64_t b = 0, row = 0; b < len.size(0); ++b) {
    for (int64_t s = 0; s < len[b]; ++s) row_of[{b, s}] = row++;
  }
  const auto t = targets.accessor<int64_t, 2>();
  std::vector<int64_t> target_rows(t.size(0));
  for (int64_t i = 0; i < t.size(0); ++i) {
    const auto found = row_of.find({t[i][0], t[i][1]});
    if (found == row_of.end() || t[i][2] < 0 || t[i][2] >= labels) {
      throw std::invalid_argument("gradCam: target " + std::to_string(i) + " (patient " + std::to_string(t[i][0]) +
                                  ", slice " + std::to_string(t[i][1]) + ", label " + std::to_string(t[i][2]) +
                                  ") is not a valid slice and label of the batch");
    }
    target_rows[i] = found->second;
  }

  torch::AutoGradMode grad_mode(true);
  torch::Tensor activations;
  {
    torch::NoGradGuard no_grad;
    activations = model.backbone()->lastConvBlock(images);
  }
  activations.requires_grad_(true);                 // [n, C, h, w]
  const auto pooled = model.backbone()->pool(activations);  // [n, C]
  // The head sees the pooled features as a leaf, so each logit's gradient with respect to them costs
  // one pass through the (small) RNNs only; the pass through the pooling follows once per round.
  const auto features = pooled.detach().requires_grad_(true);
  const auto logits = model.head(features, lengths, slices).slice_logits;  // [B, S, L]

  const int64_t count = t.size(0);
  const int64_t h = activations.size(2), w = activations.size(3);
  auto maps = torch::empty({count, h, w}, activations.options().dtype(torch::kFloat32));
  // A round takes at most one target per slice: the pooling's backward for a [n, C] gradient then
  // gives each of those slices its own dlogit/dA at once (slice r's pooled features depend on its
  // activations only).
  std::vector<bool> done(count, false);
  for (int64_t finished = 0; finished < count;) {
    auto upstream = torch::zeros_like(pooled);
    std::map<int64_t, int64_t> round;  // row -> target
    for (int64_t i = 0; i < count; ++i) {
      if (done[i] || round.count(target_rows[i])) continue;
      round[target_rows[i]] = i;
      const auto grad = torch::autograd::grad({logits[t[i][0]][t[i][1]][t[i][2]]}, {features}, {}, /*retain_graph=*/true)[0];
      upstream[target_rows[i]] = grad[target_rows[i]];
    }
    const auto grad_a = torch::autograd::grad({pooled}, {activations}, {upstream}, /*retain_graph=*/true)[0];
    torch::NoGradGuard no_grad;
    for (const auto& [row, i] : round) {
      const auto weights = grad_a[row].mean({1, 2}, /*keepdim=*/true);  // [C, 1, 1]
      maps[i] = torch::relu((weights * activations[row]).sum(0)).to(torch::kFloat32);
      done[i] = true;
      ++finished;
    }
  }
  return {logits.detach().to(torch::kFloat32).cpu().contiguous(), maps.cpu().contiguous(), targets.cpu()};
}

}  // namespace ichnet::model

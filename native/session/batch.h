#pragma once
// One batch as the binding hands it over (docs/ARCHITECTURE.md §2), already validated.
#include <torch/torch.h>

#include <cmath>
#include <future>

namespace ichnet::session {

struct Batch {
  int64_t patients{}, slices{};
  torch::Tensor images;   // [B, S, C, H, W] on CPU; uint8, int16 (HU) or float32 (preprocessed); may borrow JS memory
  torch::Tensor lengths;  // int64 [B] on CPU, 1..S
  torch::Tensor labels;   // uint8 [B, S, L] on CPU, or undefined
  torch::Tensor aug;      // float32 [B, kAugParamCount] per-patient augmentation (training only), or undefined
};

/// A batch's model input made ahead of its step on another thread (Session::prepareInput: the
/// preprocessing, and on a GPU the upload), or none (`valid()` false): the step then makes it.
/// Waiting on it rethrows what preparing threw.
using PreparedInput = std::shared_future<torch::Tensor>;

struct StepResult {
  double loss{};                // NaN when no labels were given
  double global_loss = std::nan("");  // data-parallel training: the mean of every rank's loss
  torch::Tensor slice_logits;   // float32 [B, S, L] on CPU, zero past each length
  torch::Tensor patient_probs;  // float32 [B, L]: max over valid slices of sigmoid(logit)
};

}  // namespace ichnet::session

#pragma once
// Grad-CAM (Selvaraju et al.) of the whole classifier: for a slice s and a label l, the activations
// A of the last VGG16 convolution block on that slice, weighted per channel by the spatial mean of
// d logit[s, l] / dA, summed over channels and clipped at zero. The gradient flows back from the
// slice's logit through the slice RNN and the label RNN, so the map explains the decision the
// model actually makes, with its context from the other labels and slices.
#include <torch/torch.h>

#include "model/ichnet_model.h"

namespace ichnet::model {

struct GradCamResult {
  torch::Tensor slice_logits;  // float32 [B, S, L] on CPU, zero past each length
  torch::Tensor maps;          // float32 [T, h, w] on CPU, one map per target, >= 0, not normalised
  torch::Tensor targets;       // int64 [T, 3] on CPU: (patient, slice, label) of each map
  torch::Tensor input_boxes;   // int64 [B, 4] on CPU: the region (x0, y0, x1, y1) of each patient's
                               // slices the maps cover; set by the caller that preprocessed the images
};

/// `images`: preprocessed valid slices [sum(lengths), 3, H, W] (as for IchNetImpl::forward);
/// `targets`: int64 [T, 3] rows (patient, slice, label), each naming a valid slice, or undefined for
/// every valid slice and label. Runs in the model's current mode (the caller puts BatchNorm in
/// evaluation mode) with autograd enabled; parameters receive no gradients.
GradCamResult gradCam(IchNetImpl& model, const torch::Tensor& images, const torch::Tensor& lengths, int64_t slices,
                      torch::Tensor targets);

}  // namespace ichnet::model

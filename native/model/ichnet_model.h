#pragma once
// The whole classifier of docs/ARCHITECTURE.md §4: VGG16 per slice -> label RNN -> slice RNN.
// Submodule names (backbone, label_rnn, slice_rnn, head) are the state-dict prefixes.
#include <torch/torch.h>

#include "model/config.h"
#include "model/label_rnn.h"
#include "model/slice_rnn.h"
#include "model/vgg.h"

namespace ichnet::model {

struct ModelOutput {
  torch::Tensor slice_logits;  // [B, S, L], zero past each patient's length
  torch::Tensor aux_logits;    // [B, S, L] label_rnn.linear_final logits when both RNNs are on, else undefined
};

class IchNetImpl : public torch::nn::Module {
 public:
  explicit IchNetImpl(const ModelConfig& config);

  /// images: the valid slices only, [sum(lengths), 3, H, W], patient-major in slice order;
  /// lengths: int64 [B] on CPU; slices: S, the padded series length of the batch.
  ModelOutput forward(const torch::Tensor& images, const torch::Tensor& lengths, int64_t slices);
  /// Everything after the backbone: pooled features of the valid slices [sum(lengths), C] -> logits.
  ModelOutput head(const torch::Tensor& features, const torch::Tensor& lengths, int64_t slices);

  VggBackbone& backbone() { return backbone_; }
  /// Puts the label and slice RNNs (not the backbone) in training or evaluation mode. They have no
  /// dropout, so both modes compute the same; cuDNN differentiates RNNs only in training mode.
  void setRnnTraining(bool on);

  /// Parameters of the VGG16 backbone (for its learning-rate multiplier).
  std::vector<torch::Tensor> backboneParameters() const { return backbone_->parameters(); }
  /// Every other parameter.
  std::vector<torch::Tensor> headParameters() const;

  const ModelConfig& config() const { return config_; }

 private:
  ModelConfig config_;
  VggBackbone backbone_{nullptr};
  LabelRnn label_rnn_{nullptr};
  SliceRnn slice_rnn_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(IchNet);

/// Positions b*S + s of the valid slices (s < lengths[b]), int64 on CPU.
torch::Tensor validSliceIndex(const torch::Tensor& lengths, int64_t slices);

/// Bool [B, S] mask of the valid slices, on `device`.
torch::Tensor validSliceMask(const torch::Tensor& lengths, int64_t slices, torch::Device device);

}  // namespace ichnet::model

#pragma once
// The seed's SliceRNN: a bidirectional GRU/LSTM over a patient's slices in anatomical order, run on
// sequences packed by length so padding never reaches a valid slice.
#include <torch/torch.h>

#include "model/config.h"

namespace ichnet::model {

class SliceRnnImpl : public torch::nn::Module {
 public:
  SliceRnnImpl(RnnKind kind, int64_t in_features, int64_t hidden, int64_t num_labels);
  /// x [B, S, D], lengths int64 [B] on CPU -> slice logits [B, S, L] (zeros past each length).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lengths);

 private:
  RnnKind kind_;
  torch::nn::GRU gru_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(SliceRnn);

}  // namespace ichnet::model

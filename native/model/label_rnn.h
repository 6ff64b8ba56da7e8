#pragma once
// The seed's DecoderBinaryRNN: the slice's CNN feature becomes the initial hidden state of a
// bidirectional LSTM/GRU that runs one step per label on zero input, so labels can inform each other.
#include <torch/torch.h>

#include "model/config.h"

namespace ichnet::model {

struct LabelRnnOutput {
  torch::Tensor features;  // [N, L, 2*H]
  torch::Tensor logits;    // [N, L] from linear_final
};

class LabelRnnImpl : public torch::nn::Module {
 public:
  LabelRnnImpl(RnnKind kind, int64_t in_features, int64_t hidden, int64_t num_labels);
  LabelRnnOutput forward(const torch::Tensor& features);

 private:
  RnnKind kind_;
  int64_t num_labels_;
  torch::nn::Linear linear_img_to_lstm_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::nn::Linear linear_final_{nullptr};
};
TORCH_MODULE(LabelRnn);

}  // namespace ichnet::model

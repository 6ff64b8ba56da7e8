#include "model/label_rnn.h"

namespace ichnet::model {

LabelRnnImpl::LabelRnnImpl(RnnKind kind, int64_t in_features, int64_t hidden, int64_t num_labels)
    : kind_(kind), num_labels_(num_labels) {
  namespace nn = torch::nn;
  linear_img_to_lstm_ = register_module("linear_img_to_lstm", nn::Linear(in_features, hidden));
  if (kind == RnnKind::Lstm) {
    lstm_ = register_module("lstm", nn::LSTM(nn::LSTMOptions(1, hidden).batch_first(true).bidirectional(true)));
  } else {
    gru_ = register_module("gru", nn::GRU(nn::GRUOptions(1, hidden).batch_first(true).bidirectional(true)));
  }
  linear_final_ = register_module("linear_final", nn::Linear(2 * hidden, 1));
}

LabelRnnOutput LabelRnnImpl::forward(const torch::Tensor& features) {
  const auto h0 = linear_img_to_lstm_->forward(features).unsqueeze(0).repeat({2, 1, 1});
  const auto zero_input = torch::zeros({features.size(0), num_labels_, 1}, h0.options());
  torch::Tensor hiddens;
  if (kind_ == RnnKind::Lstm) {
    hiddens = std::get<0>(lstm_->forward(zero_input, std::make_tuple(h0, torch::zeros_like(h0))));
  } else {
    hiddens = std::get<0>(gru_->forward(zero_input, h0));
  }
  return {hiddens, linear_final_->forward(hiddens).squeeze(-1)};
}

}  // namespace ichnet::model

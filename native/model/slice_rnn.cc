#include "model/slice_rnn.h"

namespace ichnet::model {

SliceRnnImpl::SliceRnnImpl(RnnKind kind, int64_t in_features, int64_t hidden, int64_t num_labels)
    : kind_(kind) {
  namespace nn = torch::nn;
  if (kind == RnnKind::Gru) {
    gru_ = register_module("gru", nn::GRU(nn::GRUOptions(in_features, hidden).batch_first(true).bidirectional(true)));
  } else {
    lstm_ = register_module("lstm", nn::LSTM(nn::LSTMOptions(in_features, hidden).batch_first(true).bidirectional(true)));
  }
  fc_ = register_module("fc", nn::Linear(2 * hidden, num_labels));
}

torch::Tensor SliceRnnImpl::forward(const torch::Tensor& x, const torch::Tensor& lengths) {
  namespace rnn = torch::nn::utils::rnn;
  const auto packed = rnn::pack_padded_sequence(x, lengths, /*batch_first=*/true, /*enforce_sorted=*/false);
  rnn::PackedSequence out = kind_ == RnnKind::Gru ? std::get<0>(gru_->forward_with_packed_input(packed))
                                                  : std::get<0>(lstm_->forward_with_packed_input(packed));
  const auto padded = std::get<0>(rnn::pad_packed_sequence(out, /*batch_first=*/true, 0.0, x.size(1)));
  const auto logits = fc_->forward(padded);
  // fc maps the zero padding to its bias: zero those positions so they are inert downstream.
  const auto steps = torch::arange(x.size(1), lengths.options()).unsqueeze(0);
  const auto valid = (steps < lengths.unsqueeze(1)).to(logits.device()).unsqueeze(-1);
  return logits * valid.to(logits.dtype());
}

}  // namespace ichnet::model

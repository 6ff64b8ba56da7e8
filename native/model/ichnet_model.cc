#include "model/ichnet_model.h"

namespace ichnet::model {

torch::Tensor validSliceMask(const torch::Tensor& lengths, int64_t slices, torch::Device device) {
  const auto steps = torch::arange(slices, lengths.options()).unsqueeze(0);
  return (steps < lengths.unsqueeze(1)).to(device);
}

torch::Tensor validSliceIndex(const torch::Tensor& lengths, int64_t slices) {
  return validSliceMask(lengths, slices, torch::kCPU).flatten().nonzero().flatten();
}

IchNetImpl::IchNetImpl(const ModelConfig& config) : config_(config) {
  backbone_ = register_module("backbone", VggBackbone(config.batch_norm, config.width));
  const int64_t channels = backbone_->outChannels();
  int64_t slice_in = channels;
  if (config.label_rnn != RnnKind::None) {
    label_rnn_ = register_module("label_rnn", LabelRnn(config.label_rnn, channels, config.label_hidden, config.num_labels));
    slice_in = config.num_labels * 2 * config.label_hidden;
  }
  if (config.slice_rnn != RnnKind::None) {
    slice_rnn_ = register_module("slice_rnn", SliceRnn(config.slice_rnn, slice_in, config.slice_hidden, config.num_labels));
  }
  if (config.label_rnn == RnnKind::None && config.slice_rnn == RnnKind::None) {
    head_ = register_module("head", torch::nn::Linear(channels, config.num_labels));
  }
}

std::vector<torch::Tensor> IchNetImpl::headParameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& child : named_children()) {
    if (child.key() == "backbone") continue;
    for (const auto& p : child.value()->parameters()) out.push_back(p);
  }
  return out;
}

void IchNetImpl::setRnnTraining(bool on) {
  if (label_rnn_) label_rnn_->train(on);
  if (slice_rnn_) slice_rnn_->train(on);
}

ModelOutput IchNetImpl::forward(const torch::Tensor& images, const torch::Tensor& lengths, int64_t slices) {
  return head(backbone_->forward(images), lengths, slices);
}

ModelOutput IchNetImpl::head(const torch::Tensor& features, const torch::Tensor& lengths, int64_t slices) {
  const int64_t batch = lengths.size(0);
  const int64_t labels = config_.num_labels;
  const auto index = validSliceIndex(lengths, slices).to(features.device());
  // Scatter per-valid-slice rows [n, ...] into a zero-padded [B*S, ...] tensor (differentiable).
  const auto scatter = [&](const torch::Tensor& rows) {
    auto shape = rows.sizes().vec();
    shape[0] = batch * slices;
    return torch::zeros(shape, rows.options()).index_copy(0, index, rows);
  };

  ModelOutput out;
  if (!label_rnn_ && !slice_rnn_) {
    out.slice_logits = scatter(head_->forward(features)).view({batch, slices, labels});
    return out;
  }
  torch::Tensor sequence_input = features;
  if (label_rnn_) {
    auto decoded = label_rnn_->forward(features);
    const auto label_logits = scatter(decoded.logits).view({batch, slices, labels});
    if (!slice_rnn_) {
      out.slice_logits = label_logits;
      return out;
    }
    out.aux_logits = label_logits;
    sequence_input = decoded.features.flatten(1);
  }
  const auto padded = scatter(sequence_input).view({batch, slices, -1});
  out.slice_logits = slice_rnn_->forward(padded, lengths);
  return out;
}

}  // namespace ichnet::model

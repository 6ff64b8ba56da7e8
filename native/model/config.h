#pragma once
// Model hyper-parameters (docs/ARCHITECTURE.md §4). Their defaults live in the TypeScript config schema
// (src/config/session-schema.ts) and the binding requires every field: one source of truth.
#include <cstdint>

namespace ichnet::model {

enum class RnnKind { None, Lstm, Gru };

struct ModelConfig {
  bool batch_norm{};     // vgg16_bn
  double width{};        // channel multiplier for every VGG16 stage
  int64_t num_labels{};
  RnnKind label_rnn{};
  int64_t label_hidden{};
  RnnKind slice_rnn{};
  int64_t slice_hidden{};
};

}  // namespace ichnet::model

#pragma once
// Optimizer construction with two parameter groups (backbone at lr * backbone_lr_mult, the rest at lr).
#include <torch/torch.h>

#include <memory>

#include "model/ichnet_model.h"
#include "session/config.h"

namespace ichnet::session {

/// foreach: Adam/AdamW as multi-tensor kernels (for CUDA, where the per-parameter loop is launch-bound).
std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const model::IchNet& model, const OptimConfig& config,
                                                       bool foreach);

/// Sets the base learning rate (group 0, the backbone, gets lr * backbone_lr_mult).
void setLearningRate(torch::optim::Optimizer& optimizer, double lr, double backbone_lr_mult);

}  // namespace ichnet::session

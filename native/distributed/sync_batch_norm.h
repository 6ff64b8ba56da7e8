#pragma once
// Synchronised BatchNorm (PyTorch's SyncBatchNorm) on c10d's process group: in training mode a
// BatchNorm layer normalises with the mean and variance of the batch of every rank together.
//  * forward: each rank all-reduces its per-channel count, sum and sum of squares (float64, one
//    message), normalises with the global statistics and updates the layer's running statistics
//    with them, so the running statistics are equal on every rank without a broadcast;
//  * backward (an autograd function): each rank all-reduces its per-channel sums of the output
//    gradient and of the gradient times (x - mean), from which the input gradient follows as in one
//    process over the concatenated batch. The weight and bias gradients stay per rank: the gradient
//    all-reduce of DataParallel averages them as it does every other parameter's.
// Ranks may hold different numbers of slices: the counts are all-reduced with the sums.
#include <torch/torch.h>

#include <memory>

#include "distributed/process_group.h"

namespace ichnet::distributed {

/// `layer`'s training-mode forward over every rank's batch of `x` ([N, C, ...]); a collective,
/// called by every rank for the same layers in the same order. Updates `layer`'s running statistics.
torch::Tensor syncBatchNorm(const std::shared_ptr<ProcessGroup>& group, torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x);

}  // namespace ichnet::distributed

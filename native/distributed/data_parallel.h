#pragma once
// PyTorch DDP's semantics for one model replica per rank, on c10d's process group:
//  * at construction, parameter names and shapes are checked equal across ranks, then parameters
//    and buffers are broadcast from rank 0 and checked equal everywhere;
//  * gradients are averaged by bucketed all-reduce overlapping backward (GradientBuckets);
//  * with `sync_bn`, BatchNorm layers in training mode normalise with the statistics of every
//    rank's batch (sync_batch_norm.h), which keeps their running statistics equal everywhere;
//  * with `broadcast_buffers`, the other buffers (without `sync_bn`: the BatchNorm statistics) are
//    broadcast from rank 0 before every training forward.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "distributed/gradient_buckets.h"
#include "distributed/process_group.h"
#include "model/vgg.h"

namespace ichnet::distributed {

class DataParallel {
 public:
  /// `find_unused`: some parameters get no gradient from the loss (DDP's find_unused_parameters).
  DataParallel(std::shared_ptr<ProcessGroup> group, torch::nn::Module& model, bool find_unused);
  ~DataParallel();

  /// With `sync_bn`, the synchronised BatchNorm forward for the backbone's BatchNorm layers in
  /// training mode; empty without.
  model::VggBackboneImpl::BatchNormForward batchNormForward() const;

  /// Call before each training forward (a collective): with broadcast_buffers, the buffers from
  /// rank 0 (with sync_bn, those of the layers other than BatchNorm).
  void beforeForward(int64_t step);
  /// Runs `backward` (of `loss`) with the gradient all-reduce overlapping it; on return every rank
  /// holds the averaged gradients. Returns the mean of `loss` over ranks, all-reduced while
  /// backward runs.
  double backward(const torch::Tensor& loss, const std::function<void()>& backward, int64_t step);
  /// Parameters and buffers from rank 0 (a collective): after weights were loaded on rank 0 only,
  /// and before evaluation or a checkpoint, so that every rank holds rank 0's model.
  void sync();

  ProcessGroup& group() const { return *group_; }

 private:
  void broadcastState(const std::string& what);
  void checkSameShapes();

  std::shared_ptr<ProcessGroup> group_;
  torch::nn::Module& model_;
  std::unique_ptr<GradientBuckets> buckets_;
  std::vector<torch::Tensor> step_buffers_;  // what broadcast_buffers sends before each step
};

}  // namespace ichnet::distributed

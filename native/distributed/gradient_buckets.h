#pragma once
// Gradient averaging for data-parallel training as PyTorch DDP does it: parameters grouped into
// buckets much as DDP groups them (a 64 KiB bucket for the first layers, a 1 MiB one, then
// `bucket_cap_mb` each; the constructor says why), each bucket all-reduced as soon as its last
// gradient is ready, so that communication overlaps the rest of the backward pass. Buckets are
// started strictly in order, so every rank issues the same collectives in the same order.
//
// Each parameter's .grad is an alias of its slot in a bucket (DDP's gradient_as_bucket_view):
// autograd accumulates the gradient straight into the bucket, a hook after that accumulation
// divides it by the world size in place (DDP's averaging: divide, then sum over ranks) and the
// all-reduce leaves the average where the optimizer reads it. No gradient is copied into a bucket
// or back out of one.
//
// Why hooks and not c10d's Reducer: reducer.hpp cannot be compiled against Debian's LibTorch 1.13
// headers (it includes torch/csrc/distributed/autograd/context/context.h, which libtorch-dev does
// not ship), and the Reducer's constructor changed three times across LibTorch 2.x. The hooks use
// only what is stable in both: a post hook on each parameter's AccumulateGrad node (where DDP's
// Reducer hooks in too) and ProcessGroup::allreduce. The buckets are not reassigned in the order
// observed in the first step (DDP does that once, without find_unused); the reverse registration
// order already matches this model's backward order.
//
// With find_unused, which parameters got a gradient on each rank travels in the bucket all-reduced
// last, after its gradients (DDP all-reduces that map on its own, one more collective per step):
// by the time that bucket starts, every parameter is either ready or known not to be reached.
#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "distributed/process_group.h"

namespace ichnet::distributed {

class GradientBuckets {
 public:
  /// `find_unused`: some parameters may get no gradient on some ranks (DDP's
  /// find_unused_parameters): their use is all-reduced too, and a parameter no rank used keeps no
  /// gradient, as in one process.
  GradientBuckets(const ProcessGroup& group, std::vector<torch::Tensor> params, int64_t bucket_cap_bytes, bool find_unused);
  ~GradientBuckets();
  GradientBuckets(const GradientBuckets&) = delete;
  GradientBuckets& operator=(const GradientBuckets&) = delete;

  /// Before backward of `loss`, after the optimizer's zero_grad (which zeroes the slots that are
  /// .grad): the hooks start filling buckets. A parameter whose .grad is not its bucket slot (none
  /// yet, or none since) gets its slot back, zeroed. With `find_unused`, parameters that `loss`'s
  /// autograd graph does not reach count as ready at once, with zeros (as DDP marks them after
  /// forward): a bucket holding one would otherwise start only after backward, and the buckets
  /// after it, which start in order, with it.
  void arm(const torch::Tensor& loss);
  /// After backward (inside ProcessGroup::guard): starts the buckets not yet started and waits for
  /// every all-reduce; the parameters' .grad then hold the averaged gradients (a parameter no rank
  /// used: none).
  void finish();
  size_t bucketCount() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<size_t> params;
    std::vector<torch::Tensor> views;  // aliases of flat, one per parameter, in its shape and strides: its .grad
    torch::Tensor flat;    // the gradients, then (the last bucket, with find_unused) one use flag per parameter
    int64_t grad_numel = 0;
    size_t pending = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };
  void ready(size_t param);
  void markUnreached(const torch::Tensor& loss);
  void launchReady();
  void launch(Bucket& bucket);
  /// One flag per parameter, 1 where its gradient came from this rank's backward (float32, CPU).
  torch::Tensor seenFlags() const;

  const ProcessGroup& group_;
  std::vector<torch::Tensor> params_;
  bool find_unused_;
  bool mask_in_last_ = false;  // the use flags ride in the last bucket (its dtype counts exactly)
  torch::Tensor scale_;  // 1 / world size: each gradient is divided in its bucket before the all-reduce
  std::vector<Bucket> buckets_;
  std::vector<std::pair<size_t, size_t>> where_;  // parameter -> (bucket, slot)
  // Held, as DDP holds them: a parameter keeps only a weak reference to its accumulator, which a
  // later forward would otherwise recreate without the hook.
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<uintptr_t> hooks_;
  std::vector<bool> seen_;
  size_t next_ = 0;
  bool armed_ = false;
  std::mutex mutex_;  // hooks run on autograd's thread for the device
};

}  // namespace ichnet::distributed

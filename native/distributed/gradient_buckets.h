#pragma once
// Gradient averaging for data-parallel training as PyTorch DDP does it: parameters grouped into
// buckets as DDP groups them (a 1 MiB bucket, then `bucket_cap_mb` each; see the constructor for
// which parameters go first), each bucket all-reduced as soon as its last gradient is ready, so
// that communication overlaps the rest of the backward pass. Buckets are started strictly in
// order, so every rank issues the same collectives in the same order.
//
// Why hooks and not c10d's Reducer: reducer.hpp cannot be compiled against Debian's LibTorch 1.13
// headers (it includes torch/csrc/distributed/autograd/context/context.h, which libtorch-dev does
// not ship), and the Reducer's constructor changed three times across LibTorch 2.x. The hooks use
// only what is stable in both: Tensor::register_hook and ProcessGroup::allreduce. Without
// find_unused, the buckets are not reassigned in the order observed in the first step (DDP does
// that once); the reverse registration order already matches this model's backward order.
#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

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

  /// Before backward of `loss`: the hooks start filling buckets. With `find_unused`, parameters
  /// that `loss`'s autograd graph does not reach count as ready at once, with zeros (as DDP marks
  /// them after forward): a bucket holding one would otherwise start only after backward, and the
  /// buckets after it, which start in order, with it.
  void arm(const torch::Tensor& loss);
  /// After backward (inside ProcessGroup::guard): starts the buckets not yet started, waits for
  /// every all-reduce and writes the averaged gradients into the parameters' .grad.
  void finish();
  size_t bucketCount() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<size_t> params;
    std::vector<torch::Tensor> views;  // into flat, one per parameter, in its shape and strides
    torch::Tensor flat;
    size_t pending = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };
  void ready(size_t param, const torch::Tensor& grad);
  void markUnreached(const torch::Tensor& loss);
  void launchReady();
  void launch(Bucket& bucket);

  const ProcessGroup& group_;
  std::vector<torch::Tensor> params_;
  bool find_unused_;
  torch::Tensor scale_;  // 1 / world size: each gradient is divided while copied into its bucket
  std::vector<Bucket> buckets_;
  std::vector<std::pair<size_t, size_t>> where_;  // parameter -> (bucket, slot)
  std::vector<unsigned> hooks_;
  std::vector<bool> seen_;
  size_t next_ = 0;
  bool armed_ = false;
  std::mutex mutex_;  // hooks run on autograd's thread for the device
};

}  // namespace ichnet::distributed

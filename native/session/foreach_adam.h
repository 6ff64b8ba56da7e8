#pragma once
// Adam and AdamW whose step runs as a handful of multi-tensor (_foreach_*) kernels per parameter
// group instead of ~8 kernels per parameter: on CUDA, LibTorch's per-parameter loop is bound by
// kernel-launch time (a VGG16-BN with its RNNs has ~70 parameters, i.e. ~600 launches per step);
// PyTorch's Python optimizers use the same foreach form by default on CUDA. The arithmetic, the
// state (AdamParamState) and therefore checkpoints are those of torch::optim::Adam/AdamW.
#include <torch/torch.h>

namespace ichnet::session {

class ForeachAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

class ForeachAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace ichnet::session

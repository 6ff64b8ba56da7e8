#include "session/optimizer.h"

#include "session/foreach_adam.h"

namespace ichnet::session {

namespace {

template <typename Options>
std::vector<torch::optim::OptimizerParamGroup> groups(const model::IchNet& model, const Options& base, double mult) {
  std::vector<torch::optim::OptimizerParamGroup> out;
  auto backbone = std::make_unique<Options>(base);
  backbone->lr(base.lr() * mult);
  out.emplace_back(model->backboneParameters(), std::move(backbone));
  out.emplace_back(model->headParameters(), std::make_unique<Options>(base));
  return out;
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const model::IchNet& model, const OptimConfig& c,
                                                       bool foreach) {
  namespace optim = torch::optim;
  switch (c.kind) {
    case OptimizerKind::Adam: {
      const auto o = optim::AdamOptions(c.lr).betas({c.beta1, c.beta2}).weight_decay(c.weight_decay);
      if (foreach) return std::make_unique<ForeachAdam>(groups(model, o, c.backbone_lr_mult), o);
      return std::make_unique<optim::Adam>(groups(model, o, c.backbone_lr_mult), o);
    }
    case OptimizerKind::AdamW: {
      const auto o = optim::AdamWOptions(c.lr).betas({c.beta1, c.beta2}).weight_decay(c.weight_decay);
      if (foreach) return std::make_unique<ForeachAdamW>(groups(model, o, c.backbone_lr_mult), o);
      return std::make_unique<optim::AdamW>(groups(model, o, c.backbone_lr_mult), o);
    }
    case OptimizerKind::Sgd: {
      const auto o = optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weight_decay);
      return std::make_unique<optim::SGD>(groups(model, o, c.backbone_lr_mult), o);
    }
  }
  throw std::logic_error("unknown optimizer");
}

void setLearningRate(torch::optim::Optimizer& optimizer, double lr, double backbone_lr_mult) {
  auto& groups = optimizer.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(i == 0 ? lr * backbone_lr_mult : lr);
}

}  // namespace ichnet::session

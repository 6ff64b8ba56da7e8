#include "session/foreach_adam.h"

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace ichnet::session {

namespace {

/// The optimizer state's key for a parameter: the TensorImpl address printed by an ostream in
/// LibTorch 1.x (as its optimizers key their state), the address itself in later versions (whatever
/// the installed header declares). Printed here rather than by c10::guts::to_string, which 2.x lacks.
template <typename Map>
typename Map::key_type stateKey(const torch::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;
    key << p.unsafeGetTensorImpl();
    return key.str();
  } else {
    return p.unsafeGetTensorImpl();
  }
}

/// Parameters of one group that share a step count (all of them, unless some had no gradient).
struct Bucket {
  std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
};

/// Adam's update on one group; `decoupled` = AdamW's weight decay (on the weights, before the update).
template <typename Map>
void groupStep(Map& state, torch::optim::OptimizerParamGroup& group, double lr, double beta1, double beta2,
               double eps, double weight_decay, bool decoupled) {
  std::map<int64_t, Bucket> buckets;  // by step count after this step
  for (auto& p : group.params()) {
    if (!p.grad().defined()) continue;
    TORCH_CHECK(!p.grad().is_sparse(), "Adam does not support sparse gradients");
    auto it = state.find(stateKey<Map>(p));
    if (it == state.end()) {
      auto s = std::make_unique<torch::optim::AdamParamState>();
      s->step(0);
      s->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      s->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      it = state.insert_or_assign(stateKey<Map>(p), std::move(s)).first;
    }
    auto& s = static_cast<torch::optim::AdamParamState&>(*it->second);
    s.step(s.step() + 1);
    auto& b = buckets[s.step()];
    b.params.push_back(p);
    b.grads.push_back(p.grad());
    b.exp_avgs.push_back(s.exp_avg());
    b.exp_avg_sqs.push_back(s.exp_avg_sq());
  }
  for (auto& [step, b] : buckets) {
    const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(step));
    const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(step));
    auto grads = b.grads;
    if (weight_decay != 0) {
      if (decoupled) {
        at::_foreach_mul_(b.params, 1 - lr * weight_decay);
      } else {
        grads = at::_foreach_add(b.grads, b.params, weight_decay);
      }
    }
    at::_foreach_mul_(b.exp_avgs, beta1);
    at::_foreach_add_(b.exp_avgs, grads, 1 - beta1);
    at::_foreach_mul_(b.exp_avg_sqs, beta2);
    at::_foreach_addcmul_(b.exp_avg_sqs, grads, grads, 1 - beta2);
    auto denom = at::_foreach_sqrt(b.exp_avg_sqs);
    at::_foreach_div_(denom, std::sqrt(bias_correction2));
    at::_foreach_add_(denom, eps);
    at::_foreach_addcdiv_(b.params, b.exp_avgs, denom, -lr / bias_correction1);
  }
}

template <typename Options, typename Map>
torch::Tensor foreachStep(std::vector<torch::optim::OptimizerParamGroup>& groups, Map& state,
                          const torch::optim::Optimizer::LossClosure& closure, bool decoupled) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : groups) {
    const auto& o = static_cast<const Options&>(group.options());
    TORCH_CHECK(!o.amsgrad(), "the foreach Adam has no amsgrad");
    groupStep(state, group, o.lr(), std::get<0>(o.betas()), std::get<1>(o.betas()), o.eps(), o.weight_decay(),
              decoupled);
  }
  return loss;
}

}  // namespace

torch::Tensor ForeachAdam::step(LossClosure closure) {
  return foreachStep<torch::optim::AdamOptions>(param_groups_, state_, closure, /*decoupled=*/false);
}

torch::Tensor ForeachAdamW::step(LossClosure closure) {
  return foreachStep<torch::optim::AdamWOptions>(param_groups_, state_, closure, /*decoupled=*/true);
}

}  // namespace ichnet::session

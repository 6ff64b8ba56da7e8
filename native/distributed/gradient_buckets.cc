#include "distributed/gradient_buckets.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

namespace ichnet::distributed {

namespace {

// The bucket all-reduced last holds the first layers' parameters, whose gradients come last: its
// all-reduce is the only one backward cannot hide, so it holds no more than this. (The network's
// first few convolutions: 66 KB in the quickstart model.)
constexpr int64_t kLastBucketBytes = 64 * 1024;
// DDP's first bucket (c10d::kDefaultFirstBucketBytes); here the second from last.
constexpr int64_t kFirstBucketBytes = 1024 * 1024;

/// Runs after a parameter's AccumulateGrad node, i.e. once its gradient is in its .grad.
class AccumulatedHook : public torch::autograd::FunctionPostHook {
 public:
  explicit AccumulatedHook(std::function<void()> fn) : fn_(std::move(fn)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    fn_();
    return outputs;
  }

 private:
  std::function<void()> fn_;
};

}  // namespace

GradientBuckets::GradientBuckets(const ProcessGroup& group, std::vector<torch::Tensor> params, int64_t bucket_cap_bytes,
                                 bool find_unused)
    : group_(group),
      params_(std::move(params)),
      find_unused_(find_unused),
      scale_(torch::scalar_tensor(1.0 / group.size(), torch::kFloat64)),
      where_(params_.size()),
      seen_(params_.size()) {
  // DDP's assignment with find_unused, plus one small bucket: parameters taken in registration
  // order, one open bucket per dtype and device, closed once it reaches its limit (per dtype and
  // device: the first closed at kLastBucketBytes, the second at 1 MiB, then `bucket_cap_bytes`);
  // buckets start in reverse order of their first parameter, which is the order their gradients
  // complete in (registration order is the forward order; backward runs it in reverse). DDP
  // assigns so with find_unused, its small 1 MiB bucket then holding the first layers, all that is
  // left to all-reduce once backward ends (1.3 MB in the quickstart model); here that remainder is
  // split so that backward still hides most of it. Without find_unused, DDP reassigns after the
  // first step in the order gradients became ready, its 1 MiB bucket first and the largest last.
  struct Open {
    c10::ScalarType dtype;
    torch::Device device;
    std::vector<size_t> params;
    int64_t bytes = 0;
    int closed = 0;
  };
  std::vector<Open> open;
  std::vector<std::vector<size_t>> groups;
  for (size_t k = 0; k < params_.size(); ++k) {
    const auto& p = params_[k];
    auto it = std::find_if(open.begin(), open.end(), [&](const Open& o) { return o.dtype == p.scalar_type() && o.device == p.device(); });
    if (it == open.end()) it = open.insert(open.end(), Open{p.scalar_type(), p.device(), {}, 0, 0});
    it->params.push_back(k);
    it->bytes += p.numel() * static_cast<int64_t>(p.element_size());
    if (it->bytes >= (it->closed == 0 ? kLastBucketBytes : it->closed == 1 ? kFirstBucketBytes : bucket_cap_bytes)) {
      groups.push_back(std::move(it->params));
      it->params.clear();
      it->bytes = 0;
      ++it->closed;
    }
  }
  for (auto& o : open) {
    if (!o.params.empty()) groups.push_back(std::move(o.params));
  }
  std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a.front() > b.front(); });
  for (auto& params : groups) {
    Bucket bucket;
    bucket.params = std::move(params);
    buckets_.push_back(std::move(bucket));
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    auto& bucket = buckets_[b];
    int64_t numel = 0;
    for (size_t k : bucket.params) numel += params_[k].numel();
    const auto& first = params_[bucket.params.front()];
    bucket.grad_numel = numel;
    // Counts up to the world size are exact in float32 (2^24) and float64, not in 16-bit floats.
    const bool last = b + 1 == buckets_.size();
    if (last && find_unused_ && (first.scalar_type() == torch::kFloat || first.scalar_type() == torch::kDouble)) {
      mask_in_last_ = true;
      numel += static_cast<int64_t>(params_.size());
    }
    bucket.flat = torch::empty({numel}, first.options().requires_grad(false));
    int64_t offset = 0;
    for (size_t slot = 0; slot < bucket.params.size(); ++slot) {
      const auto& p = params_[bucket.params[slot]];
      // In the parameter's own layout (channels_last for convolutions), as DDP lays out its bucket
      // views, so that autograd accumulates into it without transposing. An alias made with set_,
      // not an autograd view: the optimizer's zero_grad detaches .grad in place, which a view
      // refuses.
      torch::NoGradGuard no_grad;
      const auto strides = p.is_non_overlapping_and_dense() ? p.strides().vec() : torch::empty(p.sizes(), torch::kByte).strides().vec();
      auto view = torch::empty({0}, bucket.flat.options());
      view.set_(bucket.flat.storage(), offset, p.sizes(), strides);
      bucket.views.push_back(std::move(view));
      offset += p.numel();
      where_[bucket.params[slot]] = {b, slot};
    }
  }
  for (size_t k = 0; k < params_.size(); ++k) {
    accumulators_.push_back(torch::autograd::impl::grad_accumulator(params_[k]));
    if (!accumulators_.back()) throw std::invalid_argument("GradientBuckets: parameter " + std::to_string(k) + " does not require a gradient");
    hooks_.push_back(accumulators_.back()->add_post_hook(std::make_unique<AccumulatedHook>([this, k] { ready(k); })));
  }
}

GradientBuckets::~GradientBuckets() {
  // The parameters keep their .grad: each holds a reference to its bucket's storage.
  for (size_t k = 0; k < hooks_.size(); ++k) accumulators_[k]->del_post_hook(hooks_[k]);
}

void GradientBuckets::arm(const torch::Tensor& loss) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& bucket : buckets_) {
    bucket.pending = bucket.params.size();
    bucket.work.reset();
  }
  std::fill(seen_.begin(), seen_.end(), false);
  {
    torch::NoGradGuard no_grad;
    for (size_t k = 0; k < params_.size(); ++k) {
      auto& grad = params_[k].mutable_grad();
      const auto& view = buckets_[where_[k].first].views[where_[k].second];
      if (grad.defined() && grad.is_same(view)) continue;
      view.zero_();
      grad = view;
    }
  }
  next_ = 0;
  armed_ = true;
  if (find_unused_) markUnreached(loss);
}

void GradientBuckets::markUnreached(const torch::Tensor& loss) {
  // Every node of the graph backward will run; a parameter's gradient arrives through its
  // AccumulateGrad node, so one that is not among them gets no gradient on this rank.
  std::unordered_set<const torch::autograd::Node*> reached;
  std::vector<torch::autograd::Node*> stack{loss.grad_fn().get()};
  while (!stack.empty()) {
    auto* node = stack.back();
    stack.pop_back();
    if (node == nullptr || !reached.insert(node).second) continue;
    for (const auto& edge : node->next_edges()) stack.push_back(edge.function.get());
  }
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < params_.size(); ++k) {
    const auto accumulator = torch::autograd::impl::try_get_grad_accumulator(params_[k]);
    if (accumulator && reached.count(accumulator.get()) > 0) continue;
    // Left unseen, so the use mask of finish() still says no gradient came from this rank.
    const auto [b, slot] = where_[k];
    buckets_[b].views[slot].zero_();
    --buckets_[b].pending;
  }
  launchReady();
}

void GradientBuckets::ready(size_t param) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_ || seen_[param]) return;
  seen_[param] = true;
  const auto [b, slot] = where_[param];
  auto& bucket = buckets_[b];
  // DDP's averaging: divide, then sum over ranks. In place, on the gradient autograd just wrote.
  torch::NoGradGuard no_grad;
  bucket.views[slot].mul_(scale_);
  --bucket.pending;
  launchReady();
}

void GradientBuckets::launchReady() {
  while (next_ < buckets_.size() && buckets_[next_].pending == 0) launch(buckets_[next_++]);
}

void GradientBuckets::launch(Bucket& bucket) {
  if (mask_in_last_ && &bucket == &buckets_.back()) {
    // Buckets start in order, so every parameter is settled: seen, or not reached on this rank.
    torch::NoGradGuard no_grad;
    bucket.flat.narrow(0, bucket.grad_numel, static_cast<int64_t>(params_.size())).copy_(seenFlags());
  }
  std::vector<torch::Tensor> tensors{bucket.flat};
  bucket.work = group_.group()->allreduce(tensors);
}

torch::Tensor GradientBuckets::seenFlags() const {
  return torch::tensor(std::vector<float>(seen_.begin(), seen_.end()), torch::kFloat32);
}

void GradientBuckets::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_) throw std::logic_error("GradientBuckets::finish without arm");
  armed_ = false;
  // Parameters that got no gradient here contribute zeros; the buckets left start in order.
  for (size_t b = next_; b < buckets_.size(); ++b) {
    auto& bucket = buckets_[b];
    for (size_t slot = 0; slot < bucket.params.size(); ++slot) {
      if (!seen_[bucket.params[slot]]) bucket.views[slot].zero_();
    }
    bucket.pending = 0;
  }
  launchReady();
  // A parameter that no rank used keeps no gradient, as in one process.
  std::vector<bool> used(params_.size(), true);
  torch::Tensor counts;
  if (find_unused_ && !mask_in_last_) {
    std::vector<torch::Tensor> mask{seenFlags().to(group_.device())};
    group_.group()->allreduce(mask)->wait();
    counts = mask[0];
  }
  for (auto& bucket : buckets_) {
    bucket.work->wait();
  }
  if (mask_in_last_) counts = buckets_.back().flat.narrow(0, buckets_.back().grad_numel, static_cast<int64_t>(params_.size()));
  if (counts.defined()) {
    const auto host = counts.to(torch::kCPU, torch::kFloat32).contiguous();
    const auto* count = host.data_ptr<float>();
    for (size_t k = 0; k < params_.size(); ++k) used[k] = count[k] != 0;
  }
  // The gradients are already in place (each .grad is its bucket slot); only the ones no rank used go.
  for (size_t k = 0; k < params_.size(); ++k) {
    if (!used[k]) params_[k].mutable_grad() = torch::Tensor();
  }
}

}  // namespace ichnet::distributed

#include "distributed/sync_batch_norm.h"

#include "model/batch_norm_stats.h"

#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace ichnet::distributed {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// The process group, kept in the autograd context for the backward pass.
struct GroupHolder : torch::CustomClassHolder {
  explicit GroupHolder(std::shared_ptr<ProcessGroup> g) : group(std::move(g)) {}
  std::shared_ptr<ProcessGroup> group;
};

/// Every dimension of `x` but the channels (1).
std::vector<int64_t> reducedDims(const torch::Tensor& x) {
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d != 1) dims.push_back(d);
  }
  return dims;
}

/// [1, C, 1, ...]: a per-channel vector broadcast over `x`.
std::vector<int64_t> channelShape(const torch::Tensor& x) {
  std::vector<int64_t> shape(x.dim(), 1);
  shape[1] = x.size(1);
  return shape;
}

/// The sum over ranks of a fresh vector `values` (all-reduced in place on the group's device);
/// returned on `values`' device.
torch::Tensor sumOverRanks(const ProcessGroup& group, const torch::Tensor& values) {
  std::vector<torch::Tensor> t{values.to(group.device()).contiguous()};
  group.group()->allreduce(t)->wait();
  return t[0].to(values.device());
}

/// y = (x - mean) * invstd * weight + bias with the global statistics; the backward pass
/// all-reduces the two per-channel gradient sums that the input gradient needs.
struct SyncBatchNormFunction : torch::autograd::Function<SyncBatchNormFunction> {
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor x, torch::Tensor weight, torch::Tensor bias, torch::Tensor mean,
                               torch::Tensor invstd, torch::Tensor count, c10::intrusive_ptr<GroupHolder> group) {
    ctx->save_for_backward({x, weight, mean, invstd, count});
    ctx->saved_data["group"] = c10::IValue::make_capsule(std::move(group));
    const auto shape = channelShape(x);
    const auto scale = invstd * weight;
    return (x * scale.view(shape) + (bias - mean * scale).view(shape)).to(x.scalar_type());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const auto& mean = saved[2];
    const auto& invstd = saved[3];
    const auto& count = saved[4];
    const auto capsule = ctx->saved_data["group"].toCapsule();
    const auto& group = *static_cast<GroupHolder*>(capsule.get())->group;
    const auto shape = channelShape(x);
    const auto dims = reducedDims(x);
    const auto dy = grads[0].to(mean.scalar_type());
    const auto xmu = x.to(mean.scalar_type()) - mean.view(shape);
    const auto sum_dy = dy.sum(dims);
    const auto sum_dy_xmu = (dy * xmu).sum(dims);
    torch::Tensor global;
    try {
      global = sumOverRanks(group, torch::cat({sum_dy, sum_dy_xmu}));
    } catch (const c10::Error& e) {
      throw std::runtime_error(std::string("all-reducing the synchronised BatchNorm gradients: ") + e.what_without_backtrace());
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("all-reducing the synchronised BatchNorm gradients: ") + e.what());
    }
    const int64_t channels = mean.numel();
    const auto mean_dy = global.narrow(0, 0, channels) / count;
    const auto mean_dy_xmu = global.narrow(0, channels, channels) / count;
    const auto grad_x = (dy - mean_dy.view(shape) - xmu * (invstd * invstd * mean_dy_xmu).view(shape)) * (invstd * weight).view(shape);
    // Weight and bias: this rank's share, averaged over ranks with the other gradients.
    return {grad_x.to(x.scalar_type()), sum_dy_xmu * invstd, sum_dy, {}, {}, {}, {}};
  }
};

}  // namespace

torch::Tensor syncBatchNorm(const std::shared_ptr<ProcessGroup>& group, torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x) {
  const int64_t channels = x.size(1);
  const int64_t local = channels > 0 ? x.numel() / channels : 0;
  // Statistics in float32 at least (bf16/fp16 activations under autocast), reduced in float64.
  const auto stat_type = x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  torch::Tensor stats;  // [count, sum (C), sum of squares (C)]
  {
    torch::NoGradGuard no_grad;
    const auto xs = x.detach().to(stat_type);
    auto mean = torch::zeros({channels}, xs.options());
    auto var = torch::zeros({channels}, xs.options());
    // This rank's mean and variance (accurate: no sum of squares in float32), as sums in float64.
    if (local > 0) std::tie(var, mean) = torch::var_mean(xs, reducedDims(x), /*unbiased=*/false);
    const auto m = mean.to(torch::kFloat64);
    const auto n = static_cast<double>(local);
    stats = torch::cat({torch::full({1}, n, m.options()), m * n, (var.to(torch::kFloat64) + m * m) * n});
  }
  group->guard("all-reducing the synchronised BatchNorm statistics", [&] { stats = sumOverRanks(*group, stats); });
  const auto count = stats.narrow(0, 0, 1);
  // A host read only where the global count could be too small (a tiny batch on this rank).
  if (local <= 1 && count.item<double>() <= 1) {
    throw std::invalid_argument("BatchNorm (sync_bn): expected more than 1 value per channel over all ranks in training mode, got input of size " +
                                c10::str(x.sizes()) + " and no slices on the other ranks");
  }
  const auto mean = stats.narrow(0, 1, channels) / count;
  const auto var = (stats.narrow(0, 1 + channels, channels) / count - mean * mean).clamp_min(0);
  const auto& options = layer.options;
  if (options.track_running_stats()) model::updateRunningStatistics(layer, mean, var * (count / (count - 1)));
  const auto weight = layer.weight.defined() ? layer.weight : torch::ones({channels}, x.options().dtype(stat_type));
  const auto bias = layer.bias.defined() ? layer.bias : torch::zeros({channels}, x.options().dtype(stat_type));
  return SyncBatchNormFunction::apply(x, weight, bias, mean.to(stat_type), (var + options.eps()).rsqrt().to(stat_type),
                                      count.to(stat_type), c10::make_intrusive<GroupHolder>(group));
}

}  // namespace ichnet::distributed

#include "model/batch_norm_relu.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "model/batch_norm_relu_kernels.h"
#include "model/batch_norm_stats.h"

namespace ichnet::model {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using fused::normalised;

/// Rows summed in float before their sums are added to the float64 totals.
constexpr int64_t kChunkRows = 64;

// Every kernel sees `rows` rows of `C` channels (channels_last memory is [N·H·W, C] row-major).

/// Per channel, sum and sum of squares of (x - shift) over the rows, added to `sum` and `sumsq`.
ICHNET_ROW_KERNEL void sumRows(const float* __restrict x, int64_t rows, int64_t C, const float* __restrict shift, double* __restrict sum,
                               double* __restrict sumsq, float* __restrict fs, float* __restrict fq) {
  for (int64_t r0 = 0; r0 < rows; r0 += kChunkRows) {
    const int64_t r1 = std::min(rows, r0 + kChunkRows);
    std::fill(fs, fs + C, 0.f);
    std::fill(fq, fq + C, 0.f);
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict row = x + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const float d = row[c] - shift[c];
        fs[c] += d;
        fq[c] += d * d;
      }
    }
    for (int64_t c = 0; c < C; ++c) {
      sum[c] += fs[c];
      sumsq[c] += fq[c];
    }
  }
}

/// y = relu(x * scale + shift); NaN stays NaN (as LibTorch's ReLU).
ICHNET_ROW_KERNEL void normaliseRelu(const float* __restrict x, float* __restrict y, int64_t rows, int64_t C, const float* __restrict scale,
                                     const float* __restrict shift) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict in = x + r * C;
    float* __restrict out = y + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const float z = normalised(in[c], scale[c], shift[c]);
      out[c] = z <= 0.f ? 0.f : z;
    }
  }
}

/// Per channel, with g = dy where forward's output was not cut by the ReLU (else 0): the sums of g
/// and of g * (x - mean), added to `sum_g` and `sum_gx`.
ICHNET_ROW_KERNEL void gradientSums(const float* __restrict dy, const float* __restrict x, int64_t rows, int64_t C, const float* __restrict scale,
                                    const float* __restrict shift, const float* __restrict mean, double* __restrict sum_g,
                                    double* __restrict sum_gx, float* __restrict fs, float* __restrict fq) {
  for (int64_t r0 = 0; r0 < rows; r0 += kChunkRows) {
    const int64_t r1 = std::min(rows, r0 + kChunkRows);
    std::fill(fs, fs + C, 0.f);
    std::fill(fq, fq + C, 0.f);
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict in = x + r * C;
      const float* __restrict d = dy + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const float z = normalised(in[c], scale[c], shift[c]);
        const float g = z <= 0.f ? 0.f : d[c];
        fs[c] += g;
        fq[c] += g * (in[c] - mean[c]);
      }
    }
    for (int64_t c = 0; c < C; ++c) {
      sum_g[c] += fs[c];
      sum_gx[c] += fq[c];
    }
  }
}

/// dx = k * (g - a - (x - mean) * b), g as in gradientSums.
ICHNET_ROW_KERNEL void gradientInput(const float* __restrict dy, const float* __restrict x, float* __restrict dx, int64_t rows, int64_t C,
                                     const float* __restrict scale, const float* __restrict shift, const float* __restrict mean,
                                     const float* __restrict k, const float* __restrict a, const float* __restrict b) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict in = x + r * C;
    const float* __restrict d = dy + r * C;
    float* __restrict out = dx + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const float z = normalised(in[c], scale[c], shift[c]);
      const float g = z <= 0.f ? 0.f : d[c];
      out[c] = k[c] * (g - a[c] - (in[c] - mean[c]) * b[c]);
    }
  }
}

using fused::grainRows;

/// fused::reduce over rows.
template <typename Kernel>
std::vector<double> reduceRows(int64_t rows, int64_t C, const Kernel& kernel) {
  return fused::reduce(rows, grainRows(C), C, kernel);
}

/// relu(x * scale + shift) per channel of a channels_last x, in one pass on the intra-op threads.
torch::Tensor applyNormaliseRelu(const torch::Tensor& x, const torch::Tensor& scale, const torch::Tensor& shift) {
  const int64_t C = x.size(1);
  const int64_t rows = x.numel() / C;
  auto y = torch::empty_like(x, x.options(), at::MemoryFormat::ChannelsLast);
  const float* in = x.data_ptr<float>();
  float* out = y.data_ptr<float>();
  const float* sc = scale.data_ptr<float>();
  const float* sh = shift.data_ptr<float>();
  at::parallel_for(0, rows, grainRows(C), [&](int64_t begin, int64_t end) { normaliseRelu(in + begin * C, out + begin * C, end - begin, C, sc, sh); });
  return y;
}

/// relu(x * scale + shift) per channel, with scale = weight * invstd and shift = bias - mean * scale;
/// backward as BatchNorm's (batch statistics) through the ReLU.
struct BatchNormReluFunction : torch::autograd::Function<BatchNormReluFunction> {
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor x, torch::Tensor weight, torch::Tensor bias, torch::Tensor mean,
                               torch::Tensor invstd) {
    const auto [scale, shift] = fused::scaleShift(weight, bias, mean, invstd);
    auto y = applyNormaliseRelu(x, scale, shift);
    fused::Saved{x, weight, mean, invstd, scale, shift}.save(ctx);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto [x, weight, mean, invstd, scale, shift] = fused::Saved::of(ctx);
    const auto dy = grads[0].to(torch::kFloat).contiguous(at::MemoryFormat::ChannelsLast);
    const int64_t C = x.size(1);
    const int64_t rows = x.numel() / C;
    const float* in = x.data_ptr<float>();
    const float* d = dy.data_ptr<float>();
    const float* sc = scale.data_ptr<float>();
    const float* sh = shift.data_ptr<float>();
    const float* mu = mean.data_ptr<float>();
    const auto sums = reduceRows(rows, C, [&](int64_t begin, int64_t end, double* s, float* scratch) {
      gradientSums(d + begin * C, in + begin * C, end - begin, C, sc, sh, mu, s, s + C, scratch, scratch + C);
    });
    const auto co = fused::backwardCoefficients(sums, C, rows, weight, invstd);
    auto dx = torch::empty_like(x, x.options(), at::MemoryFormat::ChannelsLast);
    float* out = dx.data_ptr<float>();
    const float* kp = co.k.data_ptr<float>();
    const float* ap = co.a.data_ptr<float>();
    const float* bp = co.b.data_ptr<float>();
    at::parallel_for(0, rows, grainRows(C), [&](int64_t begin, int64_t end) {
      gradientInput(d + begin * C, in + begin * C, out + begin * C, end - begin, C, sc, sh, mu, kp, ap, bp);
    });
    return {dx, co.grad_weight, co.grad_bias, {}, {}};
  }
};

}  // namespace

namespace fused {

bool disabled() {
  static const bool off = [] {
    const char* v = std::getenv("ICHNET_FUSED_BN_RELU");
    return v != nullptr && std::strcmp(v, "0") == 0;
  }();
  return off;
}

BatchStatistics trainingStatistics(torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  const int64_t C = x.size(1);
  const int64_t rows = x.numel() / C;
  const float* in = x.data_ptr<float>();
  // Sums of x - (the first row): float64 totals of values near their mean, so that
  // E[d²] - E[d]² does not cancel.
  const std::vector<float> origin(in, in + C);
  const auto sums = reduceRows(rows, C, [&](int64_t begin, int64_t end, double* s, float* scratch) {
    sumRows(in + begin * C, end - begin, C, origin.data(), s, s + C, scratch, scratch + C);
  });
  auto mean64 = torch::empty({C}, torch::kDouble);
  auto var64 = torch::empty({C}, torch::kDouble);
  double* m = mean64.data_ptr<double>();
  double* v = var64.data_ptr<double>();
  for (int64_t c = 0; c < C; ++c) {
    const double shift_mean = sums[c] / rows;
    m[c] = origin[c] + shift_mean;
    v[c] = std::max(0.0, sums[C + c] / rows - shift_mean * shift_mean);
  }
  updateRunningStatistics(layer, mean64, var64 * (static_cast<double>(rows) / static_cast<double>(rows - 1)));
  return {mean64.to(torch::kFloat), (var64 + layer.options.eps()).rsqrt().to(torch::kFloat)};
}

BackwardCoefficients backwardCoefficients(const std::vector<double>& sums, int64_t C, int64_t count, const torch::Tensor& weight,
                                          const torch::Tensor& invstd) {
  auto sum_g = torch::empty({C}, torch::kDouble);
  auto sum_gx = torch::empty({C}, torch::kDouble);
  std::memcpy(sum_g.data_ptr<double>(), sums.data(), C * sizeof(double));
  std::memcpy(sum_gx.data_ptr<double>(), sums.data() + C, C * sizeof(double));
  const auto invstd64 = invstd.to(torch::kDouble);
  return {(weight.to(torch::kDouble) * invstd64).to(torch::kFloat).contiguous(),
          (sum_g / static_cast<double>(count)).to(torch::kFloat).contiguous(),
          (invstd64 * invstd64 * sum_gx / static_cast<double>(count)).to(torch::kFloat).contiguous(),
          (sum_gx * invstd64).to(weight.scalar_type()), sum_g.to(weight.scalar_type())};
}

}  // namespace fused

bool canFuseBatchNormRelu(const torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x) {
  if (fused::disabled() || !layer.options.affine() || !layer.options.track_running_stats()) return false;
  // Evaluation mode only without autograd (prediction); Grad-CAM differentiates through LibTorch's layers.
  if (!layer.is_training() && torch::GradMode::is_enabled()) return false;
  if (!x.defined() || x.dim() != 4 || !x.device().is_cpu() || x.scalar_type() != torch::kFloat) return false;
  if (layer.weight.scalar_type() != torch::kFloat || layer.running_mean.scalar_type() != torch::kFloat) return false;
  if (!x.is_contiguous(at::MemoryFormat::ChannelsLast) || x.size(1) == 0) return false;
  return !layer.is_training() || x.numel() / x.size(1) > 1;  // one value per channel: LibTorch's own error
}

torch::Tensor batchNormRelu(torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x) {
  if (!layer.is_training()) {
    const auto [scale, shift] = fused::runningScaleShift(layer);
    return applyNormaliseRelu(x, scale, shift);
  }
  const auto stats = fused::trainingStatistics(layer, x);
  return BatchNormReluFunction::apply(x, layer.weight, layer.bias, stats.mean, stats.invstd);
}

}  // namespace ichnet::model

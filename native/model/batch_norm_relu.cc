#include "model/batch_norm_relu.h"

#include "model/batch_norm_stats.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

// The row kernels are compiled for AVX-512, AVX2 and the baseline, chosen when the addon loads (the
// prebuilt binaries target the baseline). This file is compiled with -ffp-contract=off (CMakeLists):
// backward recomputes the ReLU's mask with forward's arithmetic, which must round the same way.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define ICHNET_ROW_KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ICHNET_ROW_KERNEL
#endif

namespace ichnet::model {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// Rows summed in float before their sums are added to the float64 totals.
constexpr int64_t kChunkRows = 64;

// Every kernel sees `rows` rows of `C` channels (channels_last memory is [N·H·W, C] row-major).

/// The ReLU's input: one definition for forward's output and backward's recomputed mask.
inline float normalised(float x, float scale, float shift) { return x * scale + shift; }

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

int64_t grainRows(int64_t C) { return std::max<int64_t>(1, 32768 / C); }

/// Runs `kernel(begin, end, sums)` over the rows on the intra-op threads, each thread adding into
/// its own 2 × C float64 sums (with 2 × C floats of scratch); returns their total, in a fixed order.
template <typename Kernel>
std::vector<double> reduceRows(int64_t rows, int64_t C, const Kernel& kernel) {
  const int threads = at::get_num_threads();
  std::vector<double> partial(static_cast<size_t>(threads) * 2 * C, 0.0);
  at::parallel_for(0, rows, grainRows(C), [&](int64_t begin, int64_t end) {
    double* sums = partial.data() + static_cast<size_t>(at::get_thread_num()) * 2 * C;
    std::vector<float> scratch(2 * C);
    kernel(begin, end, sums, scratch.data());
  });
  std::vector<double> total(2 * C, 0.0);
  for (int t = 0; t < threads; ++t) {
    for (int64_t i = 0; i < 2 * C; ++i) total[i] += partial[static_cast<size_t>(t) * 2 * C + i];
  }
  return total;
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
    const auto scale = (weight * invstd).contiguous();
    const auto shift = (bias - mean * scale).contiguous();
    auto y = applyNormaliseRelu(x, scale, shift);
    ctx->save_for_backward({x, weight, mean, invstd, scale, shift});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const auto& mean = saved[2];
    const auto& invstd = saved[3];
    const auto& scale = saved[4];
    const auto& shift = saved[5];
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
    auto sum_g = torch::empty({C}, torch::kDouble);
    auto sum_gx = torch::empty({C}, torch::kDouble);
    std::memcpy(sum_g.data_ptr<double>(), sums.data(), C * sizeof(double));
    std::memcpy(sum_gx.data_ptr<double>(), sums.data() + C, C * sizeof(double));
    const auto invstd64 = invstd.to(torch::kDouble);
    const auto k = (weight.to(torch::kDouble) * invstd64).to(torch::kFloat).contiguous();
    const auto a = (sum_g / static_cast<double>(rows)).to(torch::kFloat).contiguous();
    const auto b = (invstd64 * invstd64 * sum_gx / static_cast<double>(rows)).to(torch::kFloat).contiguous();
    auto dx = torch::empty_like(x, x.options(), at::MemoryFormat::ChannelsLast);
    float* out = dx.data_ptr<float>();
    const float* kp = k.data_ptr<float>();
    const float* ap = a.data_ptr<float>();
    const float* bp = b.data_ptr<float>();
    at::parallel_for(0, rows, grainRows(C), [&](int64_t begin, int64_t end) {
      gradientInput(d + begin * C, in + begin * C, out + begin * C, end - begin, C, sc, sh, mu, kp, ap, bp);
    });
    const auto grad_weight = (sum_gx * invstd64).to(weight.scalar_type());
    const auto grad_bias = sum_g.to(weight.scalar_type());
    return {dx, grad_weight, grad_bias, {}, {}};
  }
};

}  // namespace

bool canFuseBatchNormRelu(const torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x) {
  static const bool disabled = [] {
    const char* v = std::getenv("ICHNET_FUSED_BN_RELU");
    return v != nullptr && std::strcmp(v, "0") == 0;
  }();
  if (disabled || !layer.options.affine() || !layer.options.track_running_stats()) return false;
  // Evaluation mode only without autograd (prediction); Grad-CAM differentiates through LibTorch's layers.
  if (!layer.is_training() && torch::GradMode::is_enabled()) return false;
  if (!x.defined() || x.dim() != 4 || !x.device().is_cpu() || x.scalar_type() != torch::kFloat) return false;
  if (layer.weight.scalar_type() != torch::kFloat || layer.running_mean.scalar_type() != torch::kFloat) return false;
  if (!x.is_contiguous(at::MemoryFormat::ChannelsLast) || x.size(1) == 0) return false;
  return !layer.is_training() || x.numel() / x.size(1) > 1;  // one value per channel: LibTorch's own error
}

namespace {

/// Evaluation mode: relu(x * scale + shift) with the running statistics, one pass.
torch::Tensor inferenceBatchNormRelu(torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x) {
  const auto scale = (layer.weight * (layer.running_var + layer.options.eps()).rsqrt()).contiguous();
  return applyNormaliseRelu(x, scale, (layer.bias - layer.running_mean * scale).contiguous());
}

}  // namespace

torch::Tensor batchNormRelu(torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x) {
  if (!layer.is_training()) return inferenceBatchNormRelu(layer, x);
  const int64_t C = x.size(1);
  const int64_t rows = x.numel() / C;
  torch::Tensor mean;
  torch::Tensor invstd;
  {
    torch::NoGradGuard no_grad;
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
    mean = mean64.to(torch::kFloat);
    invstd = (var64 + layer.options.eps()).rsqrt().to(torch::kFloat);
  }
  return BatchNormReluFunction::apply(x, layer.weight, layer.bias, mean, invstd);
}

}  // namespace ichnet::model

#pragma once
// What the fused BatchNorm + ReLU layers (batch_norm_relu.cc, batch_norm_relu_max_pool.cc) share:
// the row-kernel attribute, the one definition of the ReLU's input, the parallel per-channel
// reduction and the batch statistics. Both files are compiled with -ffp-contract=off (CMakeLists):
// backward recomputes the ReLU's mask with forward's arithmetic, which must round the same way.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <vector>

// The row kernels are compiled for AVX-512, AVX2 and the baseline, chosen when the addon loads (the
// prebuilt binaries target the baseline).
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define ICHNET_ROW_KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ICHNET_ROW_KERNEL
#endif

namespace ichnet::model::fused {

/// The ReLU's input: one definition for forward's output and backward's recomputed mask.
inline float normalised(float x, float scale, float shift) { return x * scale + shift; }

/// Rows of `C` channels (channels_last memory is [N·H·W, C] row-major) one parallel task takes.
inline int64_t grainRows(int64_t C) { return std::max<int64_t>(1, 32768 / C); }

/// Runs `kernel(begin, end, sums, scratch)` over [0, n) on the intra-op threads (`grain` items a
/// task at least), each thread adding into its own 2 × C float64 sums (with 2 × C floats of
/// scratch); returns their total, in a fixed order.
template <typename Kernel>
std::vector<double> reduce(int64_t n, int64_t grain, int64_t C, const Kernel& kernel) {
  const int threads = at::get_num_threads();
  std::vector<double> partial(static_cast<size_t>(threads) * 2 * C, 0.0);
  at::parallel_for(0, n, grain, [&](int64_t begin, int64_t end) {
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

/// A training batch's per-channel mean and 1 / sqrt(var + eps) (float32).
struct BatchStatistics {
  torch::Tensor mean;
  torch::Tensor invstd;
};

/// The batch statistics of a channels_last float32 x, in one pass; updates the layer's running
/// statistics and num_batches_tracked as torch::nn::BatchNorm2d's forward does.
BatchStatistics trainingStatistics(torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x);

/// The per-channel affine map of the normalisation: relu(x * scale + shift) is BatchNorm's ReLU.
struct ScaleShift {
  torch::Tensor scale;
  torch::Tensor shift;
};

/// scale = weight * invstd, shift = bias - mean * scale (contiguous float32).
inline ScaleShift scaleShift(const torch::Tensor& weight, const torch::Tensor& bias, const torch::Tensor& mean, const torch::Tensor& invstd) {
  auto scale = (weight * invstd).contiguous();
  return {scale, (bias - mean * scale).contiguous()};
}

/// The same with the layer's running statistics (evaluation mode).
inline ScaleShift runningScaleShift(const torch::nn::BatchNorm2dImpl& layer) {
  auto scale = (layer.weight * (layer.running_var + layer.options.eps()).rsqrt()).contiguous();
  return {scale, (layer.bias - layer.running_mean * scale).contiguous()};
}

/// BatchNorm's backward coefficients from the per-channel sums of the ReLU-masked gradient g and
/// of g · (x - mean) over `count` values: dx = k · (g - a - (x - mean) · b); and the weight's and
/// bias's gradients.
struct BackwardCoefficients {
  torch::Tensor k, a, b;  // float32, contiguous
  torch::Tensor grad_weight, grad_bias;
};
BackwardCoefficients backwardCoefficients(const std::vector<double>& sums, int64_t C, int64_t count, const torch::Tensor& weight,
                                          const torch::Tensor& invstd);

/// What both fused layers' autograd nodes keep for backward, in one order.
struct Saved {
  torch::Tensor x, weight, mean, invstd, scale, shift;
  void save(torch::autograd::AutogradContext* ctx) const { ctx->save_for_backward({x, weight, mean, invstd, scale, shift}); }
  static Saved of(torch::autograd::AutogradContext* ctx) {
    const auto v = ctx->get_saved_variables();
    return {v[0], v[1], v[2], v[3], v[4], v[5]};
  }
};

/// Whether the fused layers are switched off (ICHNET_FUSED_BN_RELU=0).
bool disabled();

}  // namespace ichnet::model::fused

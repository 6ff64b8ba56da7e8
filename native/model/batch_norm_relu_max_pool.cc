// BatchNorm2d, ReLU and the 2×2 max-pool (stride 2) that closes each VGG16-BN block, as one layer,
// for float32 channels_last tensors on the CPU.
//
// Why by hand: after batch_norm_relu.cc's fusion, LibTorch's max-pool still writes the block's
// full-resolution ReLU output (and int64 indices), reads it back, and in backward writes a
// full-resolution gradient of zeros with one value in four set, which BatchNorm's backward then
// reads twice. Here forward writes only the pooled output; nothing full-resolution is kept but x
// (the convolution's output, which BatchNorm's backward needs anyway). Backward recomputes each
// window's maximum from x with forward's arithmetic (the file is compiled with -ffp-contract=off),
// routes the pooled gradient to it as LibTorch's max-pool does (the first maximum in the window's
// row-major order; a NaN wins), and runs BatchNorm's two backward passes on it.
#include <torch/torch.h>

#include <stdexcept>
#include <vector>

// The kernels are AVX-512 intrinsics, built with GCC or Clang for x86-64; elsewhere the layer is
// never chosen (canFuseBatchNormReluMaxPool).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ICHNET_POOL_KERNELS 1
#include <immintrin.h>
#else
#define ICHNET_POOL_KERNELS 0
#endif

#include "model/batch_norm_relu.h"
#include "model/batch_norm_relu_kernels.h"

namespace ichnet::model {

#if ICHNET_POOL_KERNELS
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using fused::normalised;

// A window row: input rows 2·oh and 2·oh + 1 of one image (`top`, `bottom`, each W × C floats,
// channels_last), pooled into output row oh (`Wo` × C). An odd last column is in no window.

// The kernels are AVX-512 intrinsics, 16 channels at a time (a masked load and store for the rest):
// GCC does not vectorise the window's selects written as scalar code (it keeps them as branches,
// slower than LibTorch's separate layers). Without AVX-512 the layer is not used
// (canFuseBatchNormReluMaxPool): BatchNorm + ReLU stay fused and LibTorch pools.
#define ICHNET_AVX512 __attribute__((target("avx512f")))

/// Lanes of channel `c` of C: all 16, or the C - c left.
ICHNET_AVX512 inline __mmask16 lanes(int64_t c, int64_t C) {
  return C - c >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (C - c)) - 1);
}
ICHNET_AVX512 inline __m512 load(__mmask16 k, const float* p) { return _mm512_maskz_loadu_ps(k, p); }

/// x * scale + shift, a multiply then an add as fused::normalised (no FMA).
ICHNET_AVX512 inline __m512 norm(__m512 x, __m512 scale, __m512 shift) { return _mm512_add_ps(_mm512_mul_ps(x, scale), shift); }

/// Lanes where z <= 0 (false for NaN): relu(z) = 0 there, z elsewhere.
ICHNET_AVX512 inline __mmask16 cut(__m512 z) { return _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_LE_OQ); }
ICHNET_AVX512 inline __m512 relu(__m512 z) { return _mm512_mask_blend_ps(cut(z), z, _mm512_setzero_ps()); }

/// Lanes where v replaces the maximum so far m, as LibTorch's max-pool scans a window (row-major):
/// when greater, or when NaN.
ICHNET_AVX512 inline __mmask16 later(__m512 v, __m512 m) {
  return _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
}

/// A window's four ReLU inputs (row-major), each lane's maximum after the ReLU, and which of the
/// four it is (exactly one mask set per lane).
struct Window {
  __m512 z[4];
  __m512 max;
  __mmask16 won[4];
};
ICHNET_AVX512 inline Window window(__mmask16 k, const float* x0, const float* x2, int64_t C, __m512 scale, __m512 shift) {
  Window w;
  w.z[0] = norm(load(k, x0), scale, shift);
  w.z[1] = norm(load(k, x0 + C), scale, shift);
  w.z[2] = norm(load(k, x2), scale, shift);
  w.z[3] = norm(load(k, x2 + C), scale, shift);
  w.max = relu(w.z[0]);
  __mmask16 any = 0;
  w.won[0] = 0;
  for (int i = 1; i < 4; ++i) {
    const __m512 y = relu(w.z[i]);
    const __mmask16 s = later(y, w.max);
    w.max = _mm512_mask_blend_ps(s, w.max, y);
    // A later winner takes the lane from every earlier one.
    for (int j = 1; j < i; ++j) w.won[j] &= static_cast<__mmask16>(~s);
    w.won[i] = s;
    any |= s;
  }
  w.won[0] = static_cast<__mmask16>(~any);
  return w;
}

/// out = max over each window of relu(x * scale + shift).
ICHNET_AVX512 void poolRow(const float* __restrict top, const float* __restrict bottom, float* __restrict out, int64_t Wo, int64_t C,
                           const float* __restrict scale, const float* __restrict shift) {
  for (int64_t c = 0; c < C; c += 16) {
    const __mmask16 k = lanes(c, C);
    const __m512 sc = load(k, scale + c), sh = load(k, shift + c);
    for (int64_t ow = 0; ow < Wo; ++ow) {
      const Window w = window(k, top + 2 * ow * C + c, bottom + 2 * ow * C + c, C, sc, sh);
      _mm512_mask_storeu_ps(out + ow * C + c, k, w.max);
    }
  }
}

/// The pooled gradient d routed to lane's window maximum, where the ReLU passed it; 0 elsewhere.
ICHNET_AVX512 inline __m512 routed(const Window& w, int i, __m512 d) {
  return _mm512_maskz_mov_ps(static_cast<__mmask16>(w.won[i] & ~cut(w.z[i])), d);
}

/// Per channel, with g the pooled gradient routed to each window's maximum and cut where the ReLU
/// cut it: the sums of g and of g * (x - mean) over the window row, added to `sum_g` and `sum_gx`.
ICHNET_AVX512 void poolGradientSums(const float* __restrict top, const float* __restrict bottom, const float* __restrict dp, int64_t Wo,
                                    int64_t C, const float* __restrict scale, const float* __restrict shift, const float* __restrict mean,
                                    double* __restrict sum_g, double* __restrict sum_gx, float* __restrict fs, float* __restrict fq) {
  for (int64_t c = 0; c < C; c += 16) {
    const __mmask16 k = lanes(c, C);
    const __m512 sc = load(k, scale + c), sh = load(k, shift + c), mu = load(k, mean + c);
    __m512 s = _mm512_setzero_ps(), q = _mm512_setzero_ps();
    for (int64_t ow = 0; ow < Wo; ++ow) {
      const float* x0 = top + 2 * ow * C + c;
      const float* x2 = bottom + 2 * ow * C + c;
      const Window w = window(k, x0, x2, C, sc, sh);
      const __m512 d = load(k, dp + ow * C + c);
      // The winner's x and g (the other three lanes' g are 0).
      __m512 x = load(k, x0);
      x = _mm512_mask_blend_ps(w.won[1], x, load(k, x0 + C));
      x = _mm512_mask_blend_ps(w.won[2], x, load(k, x2));
      x = _mm512_mask_blend_ps(w.won[3], x, load(k, x2 + C));
      __m512 g = _mm512_setzero_ps();
      for (int i = 0; i < 4; ++i) g = _mm512_add_ps(g, routed(w, i, d));
      s = _mm512_add_ps(s, g);
      q = _mm512_add_ps(q, _mm512_mul_ps(g, _mm512_sub_ps(x, mu)));
    }
    _mm512_mask_storeu_ps(fs + c, k, s);
    _mm512_mask_storeu_ps(fq + c, k, q);
  }
  for (int64_t c = 0; c < C; ++c) {
    sum_g[c] += fs[c];
    sum_gx[c] += fq[c];
  }
}

/// dx = k * (g - a - (x - mean) * b) over the window row's two input rows (W × C each), g as in
/// poolGradientSums (the odd last column is the caller's).
ICHNET_AVX512 void poolGradientInput(const float* __restrict top, const float* __restrict bottom, const float* __restrict dp,
                                     float* __restrict dtop, float* __restrict dbottom, int64_t W, int64_t C, const float* __restrict scale,
                                     const float* __restrict shift, const float* __restrict mean, const float* __restrict kk,
                                     const float* __restrict a, const float* __restrict b) {
  for (int64_t c = 0; c < C; c += 16) {
    const __mmask16 k = lanes(c, C);
    const __m512 sc = load(k, scale + c), sh = load(k, shift + c), mu = load(k, mean + c);
    const __m512 kc = load(k, kk + c), ac = load(k, a + c), bc = load(k, b + c);
    for (int64_t ow = 0; ow < W / 2; ++ow) {
      const int64_t at = 2 * ow * C + c;
      const Window w = window(k, top + at, bottom + at, C, sc, sh);
      const __m512 d = load(k, dp + ow * C + c);
      const float* in[4] = {top + at, top + at + C, bottom + at, bottom + at + C};
      float* out[4] = {dtop + at, dtop + at + C, dbottom + at, dbottom + at + C};
      for (int i = 0; i < 4; ++i) {
        const __m512 centred = _mm512_sub_ps(load(k, in[i]), mu);
        const __m512 inner = _mm512_sub_ps(_mm512_sub_ps(routed(w, i, d), ac), _mm512_mul_ps(centred, bc));
        _mm512_mask_storeu_ps(out[i], k, _mm512_mul_ps(kc, inner));
      }
    }
  }
}

/// dx = k * (0 - a - (x - mean) * b) over `n` values of C channels that no window covers.
ICHNET_ROW_KERNEL void uncoveredGradientInput(const float* __restrict x, float* __restrict dx, int64_t n, int64_t C,
                                              const float* __restrict mean, const float* __restrict k, const float* __restrict a,
                                              const float* __restrict b) {
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < C; ++c) dx[r * C + c] = k[c] * (0.f - a[c] - (x[r * C + c] - mean[c]) * b[c]);
  }
}

/// The geometry of a channels_last [N, C, H, W] input and its pooled [N, C, H / 2, W / 2] output.
struct Geometry {
  int64_t N, C, H, W, Ho, Wo;
  explicit Geometry(const torch::Tensor& x) : N(x.size(0)), C(x.size(1)), H(x.size(2)), W(x.size(3)), Ho(H / 2), Wo(W / 2) {}
  /// Window rows; one parallel task takes at least this many.
  int64_t windowRows() const { return N * Ho; }
  int64_t grain() const { return std::max<int64_t>(1, 32768 / (2 * W * C)); }
  /// Offsets (floats) of window row j's top input row and of its output row.
  int64_t top(int64_t j) const { return ((j / Ho) * H + 2 * (j % Ho)) * W * C; }
  int64_t out(int64_t j) const { return j * Wo * C; }
};

/// max_pool2d(relu(x * scale + shift), 2, 2) of a channels_last x, on the intra-op threads.
torch::Tensor applyPool(const torch::Tensor& x, const torch::Tensor& scale, const torch::Tensor& shift) {
  const Geometry g(x);
  auto p = torch::empty({g.N, g.C, g.Ho, g.Wo}, x.options(), at::MemoryFormat::ChannelsLast);
  const float* in = x.data_ptr<float>();
  float* out = p.data_ptr<float>();
  const float* sc = scale.data_ptr<float>();
  const float* sh = shift.data_ptr<float>();
  at::parallel_for(0, g.windowRows(), g.grain(), [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) poolRow(in + g.top(j), in + g.top(j) + g.W * g.C, out + g.out(j), g.Wo, g.C, sc, sh);
  });
  return p;
}

/// max_pool2d(relu(x * scale + shift), 2, 2), scale and shift from the batch statistics; backward
/// through the pool, the ReLU and BatchNorm (batch statistics).
struct BatchNormReluMaxPoolFunction : torch::autograd::Function<BatchNormReluMaxPoolFunction> {
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor x, torch::Tensor weight, torch::Tensor bias, torch::Tensor mean,
                               torch::Tensor invstd) {
    const auto [scale, shift] = fused::scaleShift(weight, bias, mean, invstd);
    auto p = applyPool(x, scale, shift);
    fused::Saved{x, weight, mean, invstd, scale, shift}.save(ctx);
    return p;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto [x, weight, mean, invstd, scale, shift] = fused::Saved::of(ctx);
    const auto dp = grads[0].to(torch::kFloat).contiguous(at::MemoryFormat::ChannelsLast);
    const Geometry geo(x);
    const int64_t C = geo.C;
    const int64_t row = geo.W * C;
    const float* in = x.data_ptr<float>();
    const float* d = dp.data_ptr<float>();
    const float* sc = scale.data_ptr<float>();
    const float* sh = shift.data_ptr<float>();
    const float* mu = mean.data_ptr<float>();
    const auto sums = fused::reduce(geo.windowRows(), geo.grain(), C, [&](int64_t begin, int64_t end, double* s, float* scratch) {
      for (int64_t j = begin; j < end; ++j) {
        poolGradientSums(in + geo.top(j), in + geo.top(j) + row, d + geo.out(j), geo.Wo, C, sc, sh, mu, s, s + C, scratch, scratch + C);
      }
    });
    const auto co = fused::backwardCoefficients(sums, C, x.numel() / C, weight, invstd);
    auto dx = torch::empty_like(x, x.options(), at::MemoryFormat::ChannelsLast);
    float* out = dx.data_ptr<float>();
    const float* kp = co.k.data_ptr<float>();
    const float* ap = co.a.data_ptr<float>();
    const float* bp = co.b.data_ptr<float>();
    const bool odd_column = geo.W % 2 == 1;
    const bool odd_row = geo.H % 2 == 1;
    at::parallel_for(0, geo.windowRows(), geo.grain(), [&](int64_t begin, int64_t end) {
      for (int64_t j = begin; j < end; ++j) {
        const int64_t t = geo.top(j);
        poolGradientInput(in + t, in + t + row, d + geo.out(j), out + t, out + t + row, geo.W, C, sc, sh, mu, kp, ap, bp);
        if (odd_column) {
          for (int64_t r : {t, t + row}) uncoveredGradientInput(in + r + (geo.W - 1) * C, out + r + (geo.W - 1) * C, 1, C, mu, kp, ap, bp);
        }
        // The image's odd last row, after its last window row.
        if (odd_row && j % geo.Ho == geo.Ho - 1) {
          const int64_t last = ((j / geo.Ho) * geo.H + geo.H - 1) * row;
          uncoveredGradientInput(in + last, out + last, geo.W, C, mu, kp, ap, bp);
        }
      }
    });
    return {dx, co.grad_weight, co.grad_bias, {}, {}};
  }
};

}  // namespace
#endif

bool canFuseBatchNormReluMaxPool(const torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x) {
#if ICHNET_POOL_KERNELS
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  return avx512 && canFuseBatchNormRelu(layer, x) && x.size(2) >= 2 && x.size(3) >= 2;
#else
  return false;
#endif
}

torch::Tensor batchNormReluMaxPool(torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x) {
#if ICHNET_POOL_KERNELS
  if (!layer.is_training()) {
    const auto [scale, shift] = fused::runningScaleShift(layer);
    return applyPool(x, scale, shift);
  }
  const auto stats = fused::trainingStatistics(layer, x);
  return BatchNormReluMaxPoolFunction::apply(x, layer.weight, layer.bias, stats.mean, stats.invstd);
#else
  throw std::logic_error("batchNormReluMaxPool: not built for this CPU (canFuseBatchNormReluMaxPool is false)");
#endif
}

}  // namespace ichnet::model

#pragma once
// BatchNorm2d followed by ReLU, as one layer, for float32 channels_last tensors on
// the CPU (VGG16-BN's every convolution is followed by this pair).
//
// Why by hand: LibTorch runs the pair as separate kernels, each a pass over activations that do
// not fit in the cache. Forward: the batch statistics (two reads of x), the normalisation (a read
// and a write) and the in-place ReLU (a read and a write); backward: threshold_backward (two reads
// and a write), then BatchNorm's backward (two reads, then two reads and a write). Here forward
// reads x once for both statistics and once more to write relu(normalised x); backward recomputes
// the ReLU's mask from x with forward's exact arithmetic (the output is not read) and makes two
// passes: one reading dy and x for the two per-channel sums, one reading them again to write dx.
// The result equals LibTorch's pair up to float rounding; running statistics are updated as
// torch::nn::BatchNorm2d updates them.
#include <torch/torch.h>

namespace ichnet::model {

/// Whether `batchNormRelu` computes relu(layer(x)) for this layer and input: affine with running
/// statistics, float32 on the CPU, 4-D, channels_last contiguous; in training mode more than one
/// value per channel, in evaluation mode autograd off (prediction); and ICHNET_FUSED_BN_RELU is not
/// "0". Otherwise the layers run on their own.
bool canFuseBatchNormRelu(const torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x);

/// relu(layer(x)). Training mode: one autograd node; updates the layer's running statistics and
/// num_batches_tracked as its forward does. Evaluation mode: one pass with the running statistics
/// (the normalisation and the ReLU of LibTorch's layers are a pass each). Requires
/// canFuseBatchNormRelu(layer, x).
torch::Tensor batchNormRelu(torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x);

/// Whether `batchNormReluMaxPool` computes max_pool2d(relu(layer(x)), 2, 2): canFuseBatchNormRelu
/// and at least 2 × 2 pixels (batch_norm_relu_max_pool.cc).
bool canFuseBatchNormReluMaxPool(const torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x);

/// max_pool2d(relu(layer(x)), kernel 2, stride 2) as one layer (and one autograd node in training
/// mode), as batchNormRelu; the full-resolution output is never written. Requires
/// canFuseBatchNormReluMaxPool(layer, x).
torch::Tensor batchNormReluMaxPool(torch::nn::BatchNorm2dImpl& layer, const torch::Tensor& x);

}  // namespace ichnet::model

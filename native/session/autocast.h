#pragma once
// RAII mixed precision on CUDA. Autocast state is thread-local, so the guard lives in the worker
// thread that runs forward. LibTorch 2.4 replaced the CUDA-only calls with per-device ones.
#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace ichnet::session {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define ICHNET_AUTOCAST_PER_DEVICE 1
#endif

class CudaAutocast {
 public:
  CudaAutocast(bool enabled, at::ScalarType dtype) : enabled_(enabled) {
    if (!enabled_) return;
#ifdef ICHNET_AUTOCAST_PER_DEVICE
    previous_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_dtype(at::kCUDA, dtype);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(true);
#endif
  }
  ~CudaAutocast() {
    if (!enabled_) return;
#ifdef ICHNET_AUTOCAST_PER_DEVICE
    at::autocast::set_autocast_enabled(at::kCUDA, false);
    at::autocast::set_autocast_dtype(at::kCUDA, previous_dtype_);
#else
    at::autocast::set_enabled(false);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
#endif
    at::autocast::clear_cache();
  }
  CudaAutocast(const CudaAutocast&) = delete;
  CudaAutocast& operator=(const CudaAutocast&) = delete;

 private:
  bool enabled_;
  at::ScalarType previous_dtype_ = at::kHalf;
};

}  // namespace ichnet::session

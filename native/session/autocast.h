#pragma once
// RAII mixed precision (autocast) for the forward pass, on CUDA (bf16 or fp16) or on the CPU
// (bf16: oneDNN runs bf16 convolutions natively on CPUs with AVX-512 BF16 / AMX). Autocast state
// is thread-local, so the guard lives in the thread that runs forward. LibTorch 2.4 replaced the
// per-backend calls with per-device ones.
#include <ATen/autocast_mode.h>
#include <c10/core/Device.h>
#include <torch/version.h>

namespace ichnet::session {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define ICHNET_AUTOCAST_PER_DEVICE 1
#endif

class Autocast {
 public:
  Autocast(bool enabled, c10::DeviceType device, at::ScalarType dtype) : enabled_(enabled), cuda_(device == c10::DeviceType::CUDA) {
    if (!enabled_) return;
#ifdef ICHNET_AUTOCAST_PER_DEVICE
    const auto type = cuda_ ? at::kCUDA : at::kCPU;
    previous_dtype_ = at::autocast::get_autocast_dtype(type);
    at::autocast::set_autocast_dtype(type, dtype);
    at::autocast::set_autocast_enabled(type, true);
#else
    if (cuda_) {
      previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
      at::autocast::set_autocast_gpu_dtype(dtype);
      at::autocast::set_enabled(true);
    } else {
      previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
      at::autocast::set_autocast_cpu_dtype(dtype);
      at::autocast::set_cpu_enabled(true);
    }
#endif
  }
  ~Autocast() {
    if (!enabled_) return;
#ifdef ICHNET_AUTOCAST_PER_DEVICE
    const auto type = cuda_ ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_enabled(type, false);
    at::autocast::set_autocast_dtype(type, previous_dtype_);
#else
    if (cuda_) {
      at::autocast::set_enabled(false);
      at::autocast::set_autocast_gpu_dtype(previous_dtype_);
    } else {
      at::autocast::set_cpu_enabled(false);
      at::autocast::set_autocast_cpu_dtype(previous_dtype_);
    }
#endif
    at::autocast::clear_cache();
  }
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool enabled_;
  bool cuda_;
  at::ScalarType previous_dtype_ = at::kHalf;
};

}  // namespace ichnet::session

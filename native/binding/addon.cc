// Module entry: createSession, NativeSession and runtimeInfo (what `ichnet doctor` prints before
// any session exists).
#include <napi.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <ATen/detail/CUDAHooksInterface.h>

#include "binding/blas_threads.h"
#include "binding/hu_binding.h"
#include "binding/malloc_tuning.h"
#include "binding/memory_binding.h"
#include "binding/preprocess_binding.h"
#include "binding/promise_worker.h"
#include "binding/clahe_binding.h"
#include "binding/session_wrap.h"
#include "binding/slice_decoder.h"
#include "distributed/backends.h"
#include "memory/block_cache.h"

namespace ichnet::binding {

namespace {

/// What tuneMalloc applied when the addon loaded (empty: nothing).
std::optional<MallocTuning> applied_malloc_tuning;

/// One of the CUDA hooks' version queries, or null: without torch_cuda they throw.
Napi::Value cudaHookVersion(Napi::Env env, long (at::CUDAHooksInterface::*query)() const) {
  try {
    return Napi::Number::New(env, static_cast<double>((at::detail::getCUDAHooks().*query)()));
  } catch (const c10::Error&) {
    return env.Null();
  }
}

Napi::Value runtimeInfo(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  try {
    auto o = Napi::Object::New(env);
    o.Set("torchVersion", TORCH_VERSION);
    o.Set("cxx11Abi", static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
    o.Set("cudaAvailable", torch::cuda::is_available());
    o.Set("cudaDeviceCount", static_cast<double>(torch::cuda::device_count()));
    o.Set("cudnnAvailable", torch::cuda::cudnn_is_available());
    // CUDART_VERSION (e.g. 13000) and CUDNN_VERSION (e.g. 91900) that torch_cuda was built with.
    o.Set("cudaRuntimeVersion", cudaHookVersion(env, &at::CUDAHooksInterface::versionCUDART));
    o.Set("cudnnVersion", cudaHookVersion(env, &at::CUDAHooksInterface::versionCuDNN));
    o.Set("defaultThreads", at::get_num_threads());
    const auto backends = distributed::compiledBackends();
    auto list = Napi::Array::New(env, backends.size());
    for (size_t i = 0; i < backends.size(); ++i) list.Set(i, backends[i]);
    o.Set("c10dBackends", list);
    if (applied_malloc_tuning) {
      auto m = Napi::Object::New(env);
      m.Set("mmapThresholdBytes", static_cast<double>(applied_malloc_tuning->mmap_threshold));
      m.Set("trimThresholdBytes", static_cast<double>(applied_malloc_tuning->trim_threshold));
      m.Set("topPadBytes", static_cast<double>(applied_malloc_tuning->top_pad));
      o.Set("mallocTuning", m);
    } else {
      o.Set("mallocTuning", env.Null());
    }
    const auto blas = blasThreads();
    o.Set("blasThreads", blas ? Napi::Value(Napi::Number::New(env, *blas)) : env.Null());
    if (const auto cache = memory::blockCacheStats()) {
      auto c = Napi::Object::New(env);
      c.Set("minBlockBytes", static_cast<double>(cache->min_block_bytes));
      c.Set("liveBytes", static_cast<double>(cache->live_bytes));
      c.Set("cachedBytes", static_cast<double>(cache->cached_bytes));
      c.Set("peakLiveBytes", static_cast<double>(cache->peak_live_bytes));
      c.Set("maps", static_cast<double>(cache->maps));
      c.Set("unmaps", static_cast<double>(cache->unmaps));
      c.Set("reuses", static_cast<double>(cache->reuses));
      o.Set("blockCache", c);
    } else {
      o.Set("blockCache", env.Null());
    }
    return o;
  } catch (...) {
    throw Napi::Error::New(env, describeCurrentException());
  }
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  applied_malloc_tuning = tuneMalloc();
  limitBlasThreads();
  memory::installBlockCache();
  auto ctor = SessionWrap::define(env);
  // The addon's per-environment data; Node deletes it when the environment shuts down.
  auto constructor = std::make_unique<Napi::FunctionReference>(Napi::Persistent(ctor));
  env.SetInstanceData<Napi::FunctionReference>(constructor.release());
  exports.Set("NativeSession", ctor);
  exports.Set("createSession", Napi::Function::New(env, SessionWrap::create, "createSession"));
  exports.Set("runtimeInfo", Napi::Function::New(env, runtimeInfo, "runtimeInfo"));
  registerClahe(env, exports);
  registerPreprocess(env, exports);
  registerHu(env, exports);
  registerMemory(env, exports);
  registerSliceDecoder(env, exports);
  return exports;
}

}  // namespace ichnet::binding

static Napi::Object InitIchnet(Napi::Env env, Napi::Object exports) { return ichnet::binding::init(env, exports); }

NODE_API_MODULE(ichnet, InitIchnet)

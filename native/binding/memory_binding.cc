#include "binding/memory_binding.h"

#include <cmath>

namespace ichnet::binding {

namespace {

/// adjustExternalMemory(change) -> the isolate's external memory in bytes after the change.
/// V8 counts an ArrayBuffer's memory towards the garbage collector's external-memory limit, but not
/// a SharedArrayBuffer's: batches in shared memory would pile up until something else makes it
/// collect. The loader reports their bytes here when it allocates them and takes them back when
/// they are collected, so they weigh on the collector as ArrayBuffers do.
Napi::Value adjustExternalMemory(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber() || !std::isfinite(info[0].As<Napi::Number>().DoubleValue())) {
    throw Napi::TypeError::New(env, "adjustExternalMemory(change): expected a finite number of bytes");
  }
  const auto change = static_cast<int64_t>(info[0].As<Napi::Number>().DoubleValue());
  return Napi::Number::New(env, static_cast<double>(Napi::MemoryManagement::AdjustExternalMemory(env, change)));
}

}  // namespace

void registerMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("adjustExternalMemory", Napi::Function::New(env, adjustExternalMemory, "adjustExternalMemory"));
}

}  // namespace ichnet::binding

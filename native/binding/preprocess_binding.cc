#include "binding/preprocess_binding.h"

#include <ATen/Parallel.h>

#include "binding/convert.h"
#include "binding/promise_worker.h"
#include "prep/augment.h"
#include "prep/prep.h"
#include "session/intra_op_threads.h"
#include "session/session.h"

namespace ichnet::binding {

namespace {

/// preprocess(batch, prep, device, threads) -> Promise<Float32Array> of
/// [sum(lengths), 3, prep.input_size, prep.input_size]; batch.aug, when present, applies the
/// training augmentation.
Napi::Value preprocess(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[1].IsObject() || !info[2].IsString() || !info[3].IsNumber()) {
    throw Napi::TypeError::New(env, "preprocess(batch, prep, device, threads): bad arguments");
  }
  const auto config = parsePrepConfig(info[1].As<Napi::Object>());
  const auto batch = parseBatch(info[0], 0, false);
  const auto device = session::resolveDevice(info[2].As<Napi::String>().Utf8Value());
  const int threads = info[3].As<Napi::Number>().Int32Value();
  return PromiseWorker<torch::Tensor>::start(
      env,
      [batch, config, device, threads] {
        session::useIntraOpThreads(threads);
        c10::InferenceMode inference;
        return prep::preprocessBatch(batch.images, batch.lengths, config, batch.aug, device).cpu().contiguous();
      },
      [](Napi::Env env, torch::Tensor& t) -> Napi::Value { return adoptFloat32(env, std::move(t)); },
      {info[0]});
}

}  // namespace

void registerPreprocess(Napi::Env env, Napi::Object exports) {
  exports.Set("preprocess", Napi::Function::New(env, preprocess, "preprocess"));
  auto names = Napi::Array::New(env, prep::kAugParamCount);
  for (uint32_t i = 0; i < prep::kAugParamCount; ++i) names.Set(i, prep::kAugParamNames[i]);
  exports.Set("augParamNames", names);
}

}  // namespace ichnet::binding

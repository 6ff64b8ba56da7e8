#pragma once
// Exposes the training pipeline's preprocessing for previews and tests: exactly what the model sees.
#include <napi.h>

namespace ichnet::binding {

/// Adds preprocess(batch, prep, device, threads) and augParamNames to the exports.
void registerPreprocess(Napi::Env env, Napi::Object exports);

}  // namespace ichnet::binding

#pragma once
// Telling V8 about memory it does not count (src/data/decode/batch-memory.ts).
#include <napi.h>

namespace ichnet::binding {

/// Adds `adjustExternalMemory(change): number` to exports.
void registerMemory(Napi::Env env, Napi::Object exports);

}  // namespace ichnet::binding

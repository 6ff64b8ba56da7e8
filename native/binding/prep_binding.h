#pragma once
// Standalone preprocessing functions on the addon (no session needed): clahe.
#include <napi.h>

namespace ichnet::binding {

/// Adds `clahe(image, width, height, clipLimit, tilesX, tilesY): Promise<Uint8Array>` to exports.
void registerPrepFunctions(Napi::Env env, Napi::Object exports);

}  // namespace ichnet::binding

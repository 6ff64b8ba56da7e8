#pragma once
// The standalone `clahe` function on the addon (no session needed).
#include <napi.h>

namespace ichnet::binding {

/// Adds `clahe(image, width, height, clipLimit, tilesX, tilesY): Promise<Uint8Array>` to exports.
void registerClahe(Napi::Env env, Napi::Object exports);

}  // namespace ichnet::binding

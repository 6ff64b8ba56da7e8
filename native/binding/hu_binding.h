#pragma once
// DICOM stored samples -> int16 Hounsfield units for the data loader (src/data/dicom/hu.ts).
#include <napi.h>

namespace ichnet::binding {

/// Adds `storedToHu(samples, slope, intercept, bits, signed, rsnaFix): Int16Array` to exports.
void registerHu(Napi::Env env, Napi::Object exports);

}  // namespace ichnet::binding

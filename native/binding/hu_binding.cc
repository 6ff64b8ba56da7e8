// The loader's per-pixel HU conversion, moved off JavaScript: synchronous, because a 512 x 512
// slice takes tens of microseconds here (a JS loop took ~0.5 ms of the main thread, which also
// parses DICOM and feeds the native pipeline). The semantics are src/data/dicom/hu.ts's; that
// file says why they equal readDicom's values rounded.
#include "binding/hu_binding.h"
#include "binding/typed_array.h"
#include "io/hu_rescale.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

namespace ichnet::binding {

namespace {

/// storedToHu(samples: Int8Array | Uint8Array | Int16Array | Uint16Array, slope, intercept, bits,
/// signed, rsnaFix, into?: Int16Array): int16 round(slope * stored + intercept), clamped, after
/// keeping the low `bits` bits of each sample (0: all; sign-extended when `signed`) and the
/// optional RSNA fix. slope and intercept must be integers (the caller's fast path), so no
/// rounding is needed. The values go into `into` (as many elements as samples; it may be a view
/// of a SharedArrayBuffer, such as a loader batch's slice) when given, else into a new array; the
/// array written is returned. Samples may be views of a SharedArrayBuffer too.
Napi::Value storedToHu(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber() ||
      !info[4].IsBoolean() || !info[5].IsBoolean()) {
    throw Napi::TypeError::New(env, "storedToHu(samples, slope, intercept, bits, signed, rsnaFix): bad arguments");
  }
  const auto samples = info[0].As<Napi::TypedArray>();
  const double slope = info[1].As<Napi::Number>().DoubleValue();
  const double intercept = info[2].As<Napi::Number>().DoubleValue();
  const double bits = info[3].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(slope) || !std::isfinite(intercept) || slope != std::floor(slope) || intercept != std::floor(intercept)) {
    throw Napi::RangeError::New(env, "storedToHu: slope and intercept must be integers");
  }
  if (!(bits >= 0 && bits <= 16) || bits != std::floor(bits)) throw Napi::RangeError::New(env, "storedToHu: bits must be an integer in 0..16");
  io::SampleType type;
  switch (samples.TypedArrayType()) {
    case napi_int8_array:
      type = io::SampleType::Int8;
      break;
    case napi_uint8_array:
      type = io::SampleType::Uint8;
      break;
    case napi_int16_array:
      type = io::SampleType::Int16;
      break;
    case napi_uint16_array:
      type = io::SampleType::Uint16;
      break;
    default:
      throw Napi::TypeError::New(env, "storedToHu: samples must be an Int8Array, Uint8Array, Int16Array or Uint16Array");
  }
  io::HuRescale r;
  r.slope = slope;
  r.intercept = intercept;
  r.keep_bits = static_cast<int>(bits);
  r.sign_extend = info[4].As<Napi::Boolean>().Value();
  r.rsna_fix = info[5].As<Napi::Boolean>().Value();
  const size_t n = samples.ElementLength();
  Napi::Int16Array out;
  if (info.Length() > 6 && !info[6].IsUndefined()) {
    if (!info[6].IsTypedArray() || info[6].As<Napi::TypedArray>().TypedArrayType() != napi_int16_array) {
      throw Napi::TypeError::New(env, "storedToHu: into must be an Int16Array");
    }
    out = info[6].As<Napi::Int16Array>();
    if (out.ElementLength() != n) {
      throw Napi::RangeError::New(env, "storedToHu: into has " + std::to_string(out.ElementLength()) + " elements, the samples " + std::to_string(n));
    }
  } else {
    out = Napi::Int16Array::New(env, n);
  }
  auto* dest = static_cast<int16_t*>(typedArrayData(out, "storedToHu: into"));
  io::storedToHu(typedArrayData(samples, "storedToHu: samples"), type, n, dest, r);
  return out;
}

}  // namespace

void registerHu(Napi::Env env, Napi::Object exports) {
  exports.Set("storedToHu", Napi::Function::New(env, storedToHu, "storedToHu"));
}

}  // namespace ichnet::binding

// The loader's per-pixel HU conversion, moved off JavaScript: synchronous, because a 512 x 512
// slice takes tens of microseconds here (a JS loop took ~0.5 ms of the main thread, which also
// parses DICOM and feeds the native pipeline). The semantics are src/data/dicom/hu.ts's; that
// file says why they equal readDicom's values rounded.
#include "binding/hu_binding.h"
#include "binding/typed_array.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

namespace ichnet::binding {

namespace {

struct Rescale {
  double slope, intercept;
  int shift;          // > 0: keep the low 32 - shift bits of the 32-bit value
  bool sign_extend;   // with shift: sign-extend from the top kept bit, else mask
  bool rsna_fix;      // stored + 1000, wrapped at 4096, intercept -1000
};

inline int16_t toInt16(double h) { return static_cast<int16_t>(std::min(std::max(h, -32768.0), 32767.0)); }

template <typename T>
void convert(const T* in, int16_t* out, size_t n, const Rescale& r) {
  if (r.shift == 0 && !r.rsna_fix && std::abs(r.slope) < 16384 && std::abs(r.intercept) < (1 << 30)) {
    // The common case, in int32 (|stored| < 2^16, so |slope * stored + intercept| < 2^31): no
    // per-pixel branches and no float conversions, which the compiler turns into SIMD code.
    const auto slope = static_cast<int32_t>(r.slope), intercept = static_cast<int32_t>(r.intercept);
    for (size_t i = 0; i < n; ++i) {
      const int32_t h = static_cast<int32_t>(in[i]) * slope + intercept;
      out[i] = static_cast<int16_t>(std::min(std::max(h, -32768), 32767));
    }
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    int32_t v = in[i];
    if (r.shift > 0) {
      // JS's (v << k) >> k and (v << k) >>> k on int32.
      const uint32_t u = static_cast<uint32_t>(v) << r.shift;
      v = r.sign_extend ? static_cast<int32_t>(u) >> r.shift : static_cast<int32_t>(u >> r.shift);
    }
    if (r.rsna_fix) {
      v += 1000;
      if (v >= 4096) v -= 4096;
    }
    out[i] = toInt16(static_cast<double>(v) * r.slope + (r.rsna_fix ? -1000.0 : r.intercept));
  }
}

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
  int width = 0;
  switch (samples.TypedArrayType()) {
    case napi_int8_array:
    case napi_uint8_array:
      width = 8;
      break;
    case napi_int16_array:
    case napi_uint16_array:
      width = 16;
      break;
    default:
      throw Napi::TypeError::New(env, "storedToHu: samples must be an Int8Array, Uint8Array, Int16Array or Uint16Array");
  }
  const int keep = static_cast<int>(bits);
  const Rescale r{slope, intercept, keep > 0 && keep < width ? 32 - keep : 0, info[4].As<Napi::Boolean>().Value(),
                  info[5].As<Napi::Boolean>().Value()};
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
  const auto* base = static_cast<const uint8_t*>(typedArrayData(samples, "storedToHu: samples"));
  switch (samples.TypedArrayType()) {
    case napi_int8_array:
      convert(reinterpret_cast<const int8_t*>(base), dest, n, r);
      break;
    case napi_uint8_array:
      convert(base, dest, n, r);
      break;
    case napi_int16_array:
      convert(reinterpret_cast<const int16_t*>(base), dest, n, r);
      break;
    default:
      convert(reinterpret_cast<const uint16_t*>(base), dest, n, r);
  }
  return out;
}

}  // namespace

void registerHu(Napi::Env env, Napi::Object exports) {
  exports.Set("storedToHu", Napi::Function::New(env, storedToHu, "storedToHu"));
}

}  // namespace ichnet::binding

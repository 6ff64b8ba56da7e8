#include "io/hu_rescale.h"

#include <algorithm>
#include <cmath>

namespace ichnet::io {

namespace {

inline int16_t toInt16(double h) { return static_cast<int16_t>(std::min(std::max(h, -32768.0), 32767.0)); }

template <typename T>
void convert(const T* in, int16_t* out, size_t n, const HuRescale& r, int shift) {
  if (shift == 0 && !r.rsna_fix && std::abs(r.slope) < 16384 && std::abs(r.intercept) < (1 << 30)) {
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
    if (shift > 0) {
      // JS's (v << k) >> k and (v << k) >>> k on int32.
      const uint32_t u = static_cast<uint32_t>(v) << shift;
      v = r.sign_extend ? static_cast<int32_t>(u) >> shift : static_cast<int32_t>(u >> shift);
    }
    if (r.rsna_fix) {
      v += 1000;
      if (v >= 4096) v -= 4096;
    }
    out[i] = toInt16(static_cast<double>(v) * r.slope + (r.rsna_fix ? -1000.0 : r.intercept));
  }
}

}  // namespace

void storedToHu(const void* in, SampleType type, size_t n, int16_t* out, const HuRescale& r) {
  const int width = sampleBits(type);
  const int shift = r.keep_bits > 0 && r.keep_bits < width ? 32 - r.keep_bits : 0;
  switch (type) {
    case SampleType::Int8:
      convert(static_cast<const int8_t*>(in), out, n, r, shift);
      break;
    case SampleType::Uint8:
      convert(static_cast<const uint8_t*>(in), out, n, r, shift);
      break;
    case SampleType::Int16:
      convert(static_cast<const int16_t*>(in), out, n, r, shift);
      break;
    case SampleType::Uint16:
      convert(static_cast<const uint16_t*>(in), out, n, r, shift);
      break;
  }
}

}  // namespace ichnet::io

#pragma once
// Stored DICOM samples to int16 Hounsfield units: the one definition of the loader's HU values,
// behind both the addon's `storedToHu` (JS-parsed files) and the native slice decoder (files it
// parses itself). src/data/dicom/hu.ts says why they equal readDicom's values rounded.
#include <cstddef>
#include <cstdint>

namespace ichnet::io {

/// The stored samples' element type (Bits Allocated 8 or 16, Pixel Representation).
enum class SampleType { Int8, Uint8, Int16, Uint16 };

/// How stored values become HU. slope and intercept must be integers (so no rounding is needed).
struct HuRescale {
  double slope = 1, intercept = 0;
  int keep_bits = 0;         // > 0 and < the sample width: keep only the low keep_bits bits
  bool sign_extend = false;  // with keep_bits: sign-extend from the top kept bit, else mask
  bool rsna_fix = false;     // stored + 1000, wrapped at 4096, intercept -1000 (src/data/dicom/rsna-fix.ts)
};

/// Bits of one sample of `type`.
inline int sampleBits(SampleType type) { return type == SampleType::Int8 || type == SampleType::Uint8 ? 8 : 16; }

/// out[i] = clamp(slope * stored(in[i]) + intercept) to int16, for n samples; `in` must be aligned
/// for its type.
void storedToHu(const void* in, SampleType type, size_t n, int16_t* out, const HuRescale& r);

}  // namespace ichnet::io

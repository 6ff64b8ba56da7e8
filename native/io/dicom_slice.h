#pragma once
// The common case of a CT slice file, read without JavaScript: an uncompressed (Implicit or
// Explicit VR Little Endian) single-frame grey DICOM Part-10 file of 8- or 16-bit samples with
// integral Rescale Slope and Intercept, decoded to int16 Hounsfield units.
//
// Why a hand-written parser: the loader's decode threads share the machine's cores with training,
// and a JavaScript isolate per decode thread (to run dicom-parser there) spends more CPU beside the
// work - garbage collection, compilation, messages - than parsing a header takes. What is parsed
// here is only the structure of the data set, to find a handful of top-level elements; anything
// this code is not sure it reads exactly as src/data/dicom/ (dicom-parser) does is *declined*, and
// the caller decodes that file on the JavaScript path, which gives its values or its error.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/hu_rescale.h"

namespace ichnet::io {

/// What the fast path needs of a slice's header.
struct GreySlice {
  uint16_t rows = 0, columns = 0;
  SampleType type = SampleType::Uint16;
  uint16_t bits_stored = 16;
  double slope = 1, intercept = 0;
  size_t pixel_offset = 0;  // of the first frame's samples in the file's bytes (aligned for `type`)
};

/// Parses a whole DICOM file's bytes; nullopt (declined) for anything outside the common case or
/// not certainly well formed: compressed, deflated or big-endian syntaxes, several frames, colour,
/// non-integral rescale, odd offsets, elements running past the file, undefined lengths other than
/// sequences and their items, a Pixel Data shorter than one frame, or any byte left unparsed.
std::optional<GreySlice> parseGreySlice(const uint8_t* data, size_t size);

/// The rescale of `slice`'s samples to HU, with the RSNA intercept fix when asked for and the
/// slice matches its condition (src/data/dicom/rsna-fix.ts).
HuRescale huRescaleOf(const GreySlice& slice, bool rsna_fix);

/// Reads a whole file into `buffer` (grown when too small, never shrunk); returns the bytes read,
/// or nullopt when it cannot be opened or read.
std::optional<size_t> readWholeFile(const std::string& path, std::vector<uint8_t>& buffer);

}  // namespace ichnet::io

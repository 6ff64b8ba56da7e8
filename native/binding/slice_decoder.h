#pragma once
// `SliceDecoder`: a pool of native threads that decode the loader's common-case DICOM slices
// (native/io/dicom_slice.h) straight into a batch's memory, one promise per call.
#include <napi.h>

namespace ichnet::binding {

/// Adds the `SliceDecoder` class to exports:
///   new SliceDecoder(threads)
///   decoder.decode(paths, rsnaFix: Uint8Array, offsets: Float64Array, images?: Int16Array, rows, columns)
///     -> Promise<Int32Array>: per slice [status, rows, columns, microseconds]; status 1 = written into `images`
///        at its offset (elements), 2 = parsed but not `rows` x `columns` (not written), 0 = declined
///        (the caller decodes it another way: not the common case, unreadable, or malformed)
///   decoder.close(): no more calls; the threads stop once the calls in flight have resolved.
void registerSliceDecoder(Napi::Env env, Napi::Object exports);

}  // namespace ichnet::binding

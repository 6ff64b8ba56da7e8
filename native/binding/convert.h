#pragma once
// JS values <-> native structs, checked here on the JS thread, so a bad argument is a synchronous
// TypeError/RangeError naming the offending field before any work is queued.
//
// These checks are what memory safety needs, nothing more: types, array lengths that native code
// indexes by, and sizes that allocate (integers >= 1). Every policy limit and every default (value
// ranges, the 32-pixel minimum input size, ...) is the zod schema's (src/config/session-schema.ts),
// which TypeScript applies before it calls the addon.
#include <napi.h>

#include "io/weights.h"
#include "session/batch.h"
#include "session/config.h"
#include "session/session.h"

namespace ichnet::binding {

/// Every field is required: defaults belong to the TypeScript schema.
session::SessionConfig parseSessionConfig(const Napi::Object& config);
prep::PrepConfig parsePrepConfig(const Napi::Object& prep);

/// Wraps the batch's typed arrays without copying them (the caller keeps them alive).
/// num_labels <= 0 ignores labels.
session::Batch parseBatch(const Napi::Value& value, int64_t num_labels, bool labels_required);

/// A float32 CPU tensor as a Float32Array that owns the tensor's memory (no copy; the tensor is
/// released when the array is garbage-collected). Copies where the runtime forbids external
/// buffers. Preprocessed batches are tens of MiB: the copy into a fresh, zero-filled JS buffer cost
/// page faults and memcpy on the JS thread.
Napi::Float32Array adoptFloat32(Napi::Env env, torch::Tensor t);

/// Grad-CAM targets: an Int32Array of (patient, slice, label) triples, checked against the batch's
/// shape and lengths; undefined/null gives an undefined tensor (every valid slice and label).
torch::Tensor parseGradCamTargets(const Napi::Value& value, const session::Batch& batch, int64_t num_labels);
Napi::Object gradCamResultToJs(Napi::Env env, const model::GradCamResult& result);

Napi::Object stepResultToJs(Napi::Env env, const session::StepResult& result);
Napi::Object loadReportToJs(Napi::Env env, const io::LoadReport& report);
Napi::Object sessionInfoToJs(Napi::Env env, const session::SessionInfo& info);

}  // namespace ichnet::binding

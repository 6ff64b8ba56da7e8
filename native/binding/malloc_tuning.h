#pragma once
// glibc malloc settings for training in this process, applied when the addon loads.
//
// Every training step allocates and frees the same activations (tens of MB). With glibc's defaults
// the freed memory goes back to the kernel (trimmed, or unmapped when a block was mmapped) and is
// faulted in again on the next step. These settings keep it: blocks up to 32 MiB come from the
// heap, heaps are trimmed only above 1 GiB and grow 64 MiB at a time (docs/BENCHMARKS.md,
// "Measurements behind the code", has the page faults and step times). They are global parameters
// that act on later allocations, so setting them after start-up works.
//
// Kept memory is kept per malloc arena, and glibc gives each new thread its own: close a session
// before the next one starts, or its arena keeps its high-water mark. M_ARENA_MAX cannot bound
// this here: glibc fixes the arena limit once a process has 9 arenas, and Node has made them before
// any addon loads, so a closed session's memory is trimmed instead (releaseFreedMemory).
// ICHNET_MALLOC_TUNING=0 leaves the process's defaults alone.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ichnet::binding {

/// The three settings, in bytes: what `runtimeInfo()` reports, so that a comparison with another
/// program in this process's conditions can give it the same ones (glibc reads them from the
/// environment as MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ and MALLOC_TOP_PAD_).
struct MallocTuning {
  int64_t mmap_threshold;
  int64_t trim_threshold;
  int64_t top_pad;
};

/// Applies the settings; what was applied, or nothing when opted out or not on glibc.
inline std::optional<MallocTuning> tuneMalloc() {
#if defined(__GLIBC__)
  const char* opt_out = std::getenv("ICHNET_MALLOC_TUNING");
  if (opt_out != nullptr && std::strcmp(opt_out, "0") == 0) return std::nullopt;
  const MallocTuning tuning{32 << 20, 1 << 30, 64 << 20};  // the first is glibc's maximum on 64-bit
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(tuning.mmap_threshold));
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(tuning.trim_threshold));
  mallopt(M_TOP_PAD, static_cast<int>(tuning.top_pad));
  return tuning;
#else
  return std::nullopt;
#endif
}

// Hands the free memory of every arena back to the kernel. The settings above keep a session's
// freed activations for its next step; once the session is closed nothing reuses them (the next
// session's threads may take other arenas), so they would stay resident beside the next session's.
inline void releaseFreedMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace ichnet::binding

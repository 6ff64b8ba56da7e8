#pragma once
// glibc malloc settings for training in this process, applied when the addon loads.
//
// Every training step allocates and frees the same activations (tens of MB). With glibc's defaults
// the freed memory goes back to the kernel (trimmed, or unmapped when a block was mmapped) and is
// faulted in again on the next step: ~25,000 minor page faults and ~75 ms of system time per
// quickstart step (466 ms). Keeping it (blocks up to 32 MiB from the heap, heaps trimmed only above
// 1 GiB, grown 64 MiB at a time) measured 267 faults and 416 ms a step (PyTorch in Python: 51,000
// faults, 495 ms). These are global parameters that act on later allocations, so setting them
// after start-up works. Kept memory is kept per malloc arena, and glibc gives each new thread its
// own: a session that is not closed keeps its arena's high-water mark while the next session's
// thread fills another (the Trainer's final evaluation did: 1,077 → 905 MiB peak once it closed
// the training session first). M_ARENA_MAX would bound this (MALLOC_ARENA_MAX=2 at start-up:
// ~800 MiB), but glibc fixes the arena limit once a process has 9 arenas, and Node has made them
// before any addon loads. ICHNET_MALLOC_TUNING=0 leaves the process's defaults alone.
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ichnet::binding {

inline void tuneMalloc() {
#if defined(__GLIBC__)
  const char* opt_out = std::getenv("ICHNET_MALLOC_TUNING");
  if (opt_out != nullptr && std::strcmp(opt_out, "0") == 0) return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on 64-bit
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
#endif
}

}  // namespace ichnet::binding

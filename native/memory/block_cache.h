#pragma once
// LibTorch's CPU allocator for this process: large tensor blocks are kept when freed and handed out
// again for the next request of the same size, instead of being unmapped and faulted in anew.
//
// A training step allocates and frees the same activations every step. glibc maps every block
// above 32 MiB (its ceiling for M_MMAP_THRESHOLD, native/binding/malloc_tuning.h) on its own and
// unmaps it when freed, so each such activation is faulted in again, page by page, on every step
// (the seed model at 224²: 103 MB per activation, ~150,000 faults a step); smaller blocks come
// from the compute threads' glibc arenas, whose 64 MiB heaps are unmapped whenever they empty.
// The cache maps every block of 1 MiB or more itself, keeps it when freed and hands it out again
// for the next request of the same size (rounded up to whole pages). Smaller blocks go to
// LibTorch's default allocator (glibc's heap).
//
// Bound: live plus kept blocks stay within twice the peak of live blocks. Blocks are reused only
// at their own size, so keeping every size's own peak count needs more than the peak of all live
// blocks at once (the seed model's step: 1.48 times); a request that no kept block fits unmaps
// the longest-kept ones first until it fits under the bound. releaseCachedBlocks() unmaps every
// kept block and lowers the peak to what is live (Session.close calls it).
//
// ICHNET_BLOCK_CACHE=0 leaves LibTorch's default allocator in place.
#include <cstdint>
#include <optional>

namespace ichnet::memory {

/// Counters of the cache, in bytes and blocks since the process started.
struct BlockCacheStats {
  int64_t min_block_bytes;  ///< the smallest request the cache serves
  int64_t live_bytes;       ///< blocks in use by tensors
  int64_t cached_bytes;     ///< blocks kept for reuse
  int64_t peak_live_bytes;  ///< the peak of live_bytes (lowered by releaseCachedBlocks); the bound is twice it
  int64_t maps;             ///< blocks mapped from the kernel
  int64_t unmaps;           ///< blocks handed back to the kernel
  int64_t reuses;           ///< requests served by a kept block
};

/// Installs the cache as LibTorch's CPU allocator, once per process; false when opted out
/// (ICHNET_BLOCK_CACHE=0) or not on Linux.
bool installBlockCache();

/// Unmaps every kept block and lowers the bound to the live blocks.
void releaseCachedBlocks();

/// The counters, or nothing when the cache is not installed.
std::optional<BlockCacheStats> blockCacheStats();

}  // namespace ichnet::memory

#pragma once
// LibTorch's intra-op thread count for the calling thread.
#include <ATen/Parallel.h>

namespace ichnet::session {

/// Sets up the calling thread for LibTorch work with `threads` intra-op threads (0 = leave the
/// default). New threads start with LibTorch's default count (1 in Debian's build), so every worker
/// thread calls this. Once per thread, and set_num_threads only on a change: in LibTorch 1.13 both
/// calls (init_num_threads once any thread count has been set) destroy and recreate the global
/// pthreadpool, whose fresh workers spin before they sleep.
inline void useIntraOpThreads(int threads) {
  thread_local bool initialised = false;
  if (!initialised) {
    at::init_num_threads();
    initialised = true;
  }
  if (threads > 0 && at::get_num_threads() != threads) at::set_num_threads(threads);
}

}  // namespace ichnet::session

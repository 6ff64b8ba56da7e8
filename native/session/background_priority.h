#pragma once
// Scheduling priority of threads whose work only has to keep ahead of a consumer.
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ichnet::session {

/// Lowers the calling thread's scheduling priority to the lowest nice value, once per thread.
///
/// Why: on the CPU the step's intra-op threads keep every core busy except in the step's serial
/// parts (the RNNs, the optimizer, the gaps between steps). A thread preparing the next batch at
/// the same priority takes its share from inside the step's parallel regions, where a preempted
/// team member holds up the whole team at the next barrier; at nice 19 it runs in the gaps the step
/// leaves, and still gets a core as soon as the step waits for what it prepares. On Linux the nice
/// value of a thread id applies to that thread alone; elsewhere, or when refused, this does nothing.
inline void runBehindOtherThreads() {
#ifdef __linux__
  thread_local bool lowered = false;
  if (lowered) return;
  lowered = true;
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  (void)::setpriority(PRIO_PROCESS, tid, 19);
#endif
}

}  // namespace ichnet::session

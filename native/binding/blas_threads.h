#pragma once
// OpenBLAS's thread pool, limited to the calling thread when the addon loads.
//
// Debian's LibTorch runs its float matrix products (the label and slice RNNs, the linear layers)
// through OpenBLAS, whose pthreads build keeps a worker per core that, after each call, spins
// (sched_yield) for a while before it sleeps. Beside LibTorch's OpenMP threads on every core, that
// spinning worker takes a core from the convolutions that follow the RNNs' small products: a
// quickstart prediction took 51-56 ms or 75-100 ms by chance (docs/BENCHMARKS.md). With one
// thread, OpenBLAS runs each product on the thread that calls it and starts no worker.
// OPENBLAS_NUM_THREADS or GOTO_NUM_THREADS in the environment are the user's choice and are left
// alone, as is a LibTorch without OpenBLAS (e.g. with MKL).
#include <cstdlib>
#include <optional>

#if defined(__linux__)
#include <dlfcn.h>
#endif

namespace ichnet::binding {

/// `name` from the OpenBLAS this process has loaded already (LibTorch's dependency), or null.
template <typename Fn>
Fn* openBlasFunction(const char* name) {
#if defined(__linux__)
  void* lib = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD);
  if (lib == nullptr) return nullptr;
  auto* fn = reinterpret_cast<Fn*>(dlsym(lib, name));
  dlclose(lib);  // drops the reference RTLD_NOLOAD took; the library stays loaded
  return fn;
#else
  (void)name;
  return nullptr;
#endif
}

/// Sets OpenBLAS to one thread unless the environment chose a count.
inline void limitBlasThreads() {
  if (std::getenv("OPENBLAS_NUM_THREADS") != nullptr || std::getenv("GOTO_NUM_THREADS") != nullptr) return;
  if (auto* set = openBlasFunction<void(int)>("openblas_set_num_threads")) set(1);
}

/// OpenBLAS's thread count now, or nothing without OpenBLAS.
inline std::optional<int> blasThreads() {
  if (auto* get = openBlasFunction<int()>("openblas_get_num_threads")) return get();
  return std::nullopt;
}

}  // namespace ichnet::binding

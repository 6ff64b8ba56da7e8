/** A LibTorch installation as scripts/libtorch.mjs finds it. */
export interface LibTorch {
  /** How it was found: `LIBTORCH=`, `LIBTORCH_USE_PYTORCH=1` (python's torch) or a system install. */
  source: 'LIBTORCH' | 'python' | 'system';
  cmakePrefix: string;
  cmakeDir: string;
  includeDirs: string[];
  /** The directory holding libtorch*.so and libc10*.so. */
  libDir: string;
  /** "x.y.z", or null when neither headers nor python tell. */
  version: string | null;
  /** The `_GLIBCXX_USE_CXX11_ABI` it was built with. */
  cxx11Abi: 0 | 1;
  /** True when libtorch_cuda is present. */
  cuda: boolean;
  /** CUDA version ("13.0", or only a major, "12") for CUDA builds, else null. */
  cudaVersion: string | null;
}

/**
 * Finds LibTorch: LIBTORCH, then LIBTORCH_USE_PYTORCH=1, then the system's. Null when none is
 * installed; throws when LIBTORCH / LIBTORCH_USE_PYTORCH point at something unusable.
 */
export function findLibTorch(env?: Record<string, string | undefined>): LibTorch | null;
/** What to install or set when no LibTorch is found. */
export const HOW_TO_GET_LIBTORCH: string;
export const packageRoot: string;

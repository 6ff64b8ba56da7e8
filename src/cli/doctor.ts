/** `ichnet doctor`: which binary loaded and why, and everything needed to tell why ichnet does or does not use the GPU. */
import { availableParallelism } from 'node:os';

import { exitCodeOf } from '../errors/ichnet-error.js';
import { runtimeInfo, type RuntimeReport } from '../session/runtime.js';

const VARIANT_NAMES = { source: 'built from source', cpu: 'prebuilt, CPU', cuda: 'prebuilt, CUDA' } as const;

function builtAgainst(r: RuntimeReport): string {
  const m = r.addon.manifest;
  if (!m) return '(no manifest recorded)';
  const cuda = m.cudaVersion ? `CUDA ${m.cudaVersion}` : 'CPU';
  return `LibTorch ${m.torchVersion} (${cuda}, C++11 ABI: ${m.cxx11Abi ? 'yes' : 'no'}) at ${m.builtWith.torchLibDir}; needs glibc ${m.glibc ?? '?'}+, N-API ${m.napi}; built ${m.date.slice(0, 10)}`;
}

/** Prints the report; returns the process exit code (0 ok, NATIVE_LOAD's when the addon cannot load). */
/** Bytes as MiB or GiB, for the malloc row. */
function mib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${bytes / 2 ** 30} GiB` : `${bytes / 2 ** 20} MiB`;
}

export async function doctor({ json }: { json: boolean }): Promise<number> {
  let report;
  try {
    report = runtimeInfo();
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return exitCodeOf(e);
  }
  const full = { ...report, node: process.version, cpuCores: availableParallelism() };
  if (json) {
    console.log(JSON.stringify(full, null, 2));
    return 0;
  }
  const lt = full.addon.libtorch;
  const rows: Array<[string, string]> = [
    ['addon', `${full.addonPath} (${VARIANT_NAMES[full.addon.variant]})`],
    ['why', full.addon.reason],
    ['built against', builtAgainst(full)],
    ...(lt ? [['LibTorch found', `${lt.version} via ${lt.source} at ${lt.libDir}${lt.cudaVersion ? ` (CUDA ${lt.cudaVersion})` : ''}`] as [string, string]] : []),
    ['LibTorch', `${full.torchVersion} (C++11 ABI: ${full.cxx11Abi ? 'yes' : 'no'})`],
    ['NVIDIA driver', full.addon.nvidiaDriver ?? 'none'],
    ['CUDA', full.cudaAvailable ? `available, ${full.cudaDeviceCount} device(s), CUDA ${full.cudaVersion}` : `not available${full.cudaVersion ? ` (LibTorch has CUDA ${full.cudaVersion})` : ' (CPU build of LibTorch)'}`],
    ['cuDNN', full.cudnnAvailable ? `available, ${full.cudnnVersionText}` : `not available${full.cudnnVersionText ? ` (LibTorch has cuDNN ${full.cudnnVersionText})` : ''}`],
    ["device 'auto'", full.autoDevice],
    ['c10d backends', full.c10dBackends.length > 0 ? `${full.c10dBackends.join(', ')} (data-parallel training: --nproc, torchrun)` : 'none (data-parallel training unavailable: on Debian, apt-get install libgloo-dev and rebuild)'],
    ['malloc', full.mallocTuning ? `freed memory kept for reuse: blocks under ${mib(full.mallocTuning.mmapThresholdBytes)} from the heap, trimmed above ${mib(full.mallocTuning.trimThresholdBytes)}, grown ${mib(full.mallocTuning.topPadBytes)} at a time (ICHNET_MALLOC_TUNING=0 keeps glibc's defaults)` : "glibc's defaults (ICHNET_MALLOC_TUNING=0, or not glibc)"],
    ['blas', full.blasThreads === null ? 'no OpenBLAS in this LibTorch' : `OpenBLAS on ${full.blasThreads} thread(s) (ichnet sets 1 unless OPENBLAS_NUM_THREADS is set: no OpenBLAS worker spins beside LibTorch's threads)`],
    ['CPU tensors', full.blockCache ? `blocks of ${mib(full.blockCache.minBlockBytes)} and more kept when freed and reused, live + kept at most twice the peak of live ones, handed back by Session.close (ICHNET_BLOCK_CACHE=0: LibTorch's default allocator)` : "LibTorch's default allocator (ICHNET_BLOCK_CACHE=0, or not Linux)"],
    ['CPU cores', `${full.cpuCores} (sessions use all by default; LibTorch starts with ${full.defaultThreads})`],
    ['Node.js', full.node],
    ...full.warnings.map((w) => ['warning', w] as [string, string]),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  return 0;
}

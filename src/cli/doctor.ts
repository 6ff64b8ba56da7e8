/** `ichnet doctor`: everything needed to tell why ichnet does or does not use the GPU. */
import { availableParallelism } from 'node:os';

import { runtimeInfo } from '../native/runtime.js';

/** Prints the report; returns the process exit code (0 ok, 1 the addon cannot load). */
export async function doctor({ json }: { json: boolean }): Promise<number> {
  let report;
  try {
    report = runtimeInfo();
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 1;
  }
  const full = { ...report, node: process.version, cpuCores: availableParallelism() };
  if (json) {
    console.log(JSON.stringify(full, null, 2));
    return 0;
  }
  const rows: Array<[string, string]> = [
    ['addon', full.addonPath],
    ['LibTorch', `${full.torchVersion} (C++11 ABI: ${full.cxx11Abi ? 'yes' : 'no'})`],
    ['CUDA', full.cudaAvailable ? `available, ${full.cudaDeviceCount} device(s)` : 'not available'],
    ['cuDNN', full.cudnnAvailable ? 'available' : 'not available'],
    ["device 'auto'", full.autoDevice],
    ['CPU cores', `${full.cpuCores} (sessions use all by default; LibTorch starts with ${full.defaultThreads})`],
    ['Node.js', full.node],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  return 0;
}

/** What `ichnet doctor` reports: the addon that loaded, from where and why, and the LibTorch under it. */
import { addonLoad, nativeAddon, type AddonLoad, type RuntimeInfo } from './binding.js';

export type { AddonLoad } from './binding.js';

/** What `runtimeInfo()` (and `ichnet doctor`) reports: the LibTorch under the addon, and which addon binary loaded and why. */
export interface RuntimeReport extends RuntimeInfo {
  /** The `.node` file that was loaded. */
  addonPath: string;
  /** Which binary was loaded and why, what it was built against, the LibTorch found. */
  addon: AddonLoad;
  /** The CUDA runtime torch_cuda was built with, "13.0"; null without CUDA. */
  cudaVersion: string | null;
  /** The cuDNN torch_cuda was built with, "9.19.0"; null without cuDNN. */
  cudnnVersionText: string | null;
  /** The device `device: 'auto'` resolves to. */
  autoDevice: 'cuda:0' | 'cpu';
  /** Things that work, but not as the binary's variant promises. */
  warnings: string[];
}

/** CUDART_VERSION 13000 → "13.0", 12040 → "12.4". */
function formatCudaVersion(v: number | null): string | null {
  return v === null ? null : `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
}

/** CUDNN_VERSION 91900 → "9.19.0" (cuDNN 9 uses major·10000), 8902 → "8.9.2" (cuDNN ≤ 8, major·1000). */
function formatCudnnVersion(v: number | null): string | null {
  if (v === null) return null;
  return v >= 90000
    ? `${Math.floor(v / 10000)}.${Math.floor((v % 10000) / 100)}.${v % 100}`
    : `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 100)}.${v % 100}`;
}

/** Loads the addon (throwing an explanatory error when it cannot) and reports its runtime. */
export function runtimeInfo(): RuntimeReport {
  const info = nativeAddon().runtimeInfo();
  const load = addonLoad();
  const warnings: string[] = [];
  const cudaBuild = load.variant === 'cuda' || load.manifest?.variant === 'cuda';
  if (cudaBuild && !info.cudaAvailable) {
    warnings.push(
      `this is a CUDA build, but LibTorch sees no GPU (NVIDIA driver: ${load.nvidiaDriver ?? 'none'}): check \`nvidia-smi\`; ` +
        `a driver too old for CUDA ${load.manifest?.cudaVersion ?? formatCudaVersion(info.cudaRuntimeVersion) ?? ''} cannot run it. device 'auto' runs on the CPU.`,
    );
  }
  return {
    ...info,
    addonPath: load.path,
    addon: load,
    cudaVersion: formatCudaVersion(info.cudaRuntimeVersion),
    cudnnVersionText: formatCudnnVersion(info.cudnnVersion),
    autoDevice: info.cudaAvailable ? 'cuda:0' : 'cpu',
    warnings,
  };
}

/** What `ichnet doctor` reports: the addon that loaded, from where, and the LibTorch under it. */
import { loadAddon, type RuntimeInfo } from './addon.js';

export interface RuntimeReport extends RuntimeInfo {
  /** The `.node` file that was loaded. */
  addonPath: string;
  /** The device `device: 'auto'` resolves to. */
  autoDevice: 'cuda:0' | 'cpu';
}

/** Loads the addon (throwing an explanatory error when it cannot) and reports its runtime. */
export function runtimeInfo(): RuntimeReport {
  const { addon, path } = loadAddon();
  const info = addon.runtimeInfo();
  return { ...info, addonPath: path, autoDevice: info.cudaAvailable ? 'cuda:0' : 'cpu' };
}

/** Column order of `Batch.aug`: the native pipeline's augmentation parameters. */
export function augParamNames(): readonly string[] {
  return loadAddon().addon.augParamNames;
}

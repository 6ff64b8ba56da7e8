/**
 * Loads the compiled addon and describes its native surface. The only module that touches the
 * `.node` file; everything else goes through the typed wrappers in src/session.
 */
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { SessionConfig } from '../config/session-schema.js';
import type { Batch, LoadReport, SessionInfo, StepResult } from '../session/types.js';

/** The package root (holds package.json, build/ and prebuilds/). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** What LibTorch the addon runs on, available before any session exists. */
export interface RuntimeInfo {
  torchVersion: string;
  cxx11Abi: boolean;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  cudnnAvailable: boolean;
  /** LibTorch's intra-op thread count in the loading thread (Debian's build starts at 1). */
  defaultThreads: number;
}

export interface NativeSession {
  trainStep(batch: Batch): Promise<StepResult>;
  evalStep(batch: Batch): Promise<StepResult>;
  predict(batch: Batch): Promise<StepResult>;
  setLearningRate(lr: number): Promise<void>;
  loadWeights(path: string): Promise<LoadReport>;
  saveWeights(path: string): Promise<void>;
  saveCheckpoint(dir: string, files?: Record<string, string>): Promise<void>;
  loadCheckpoint(dir: string): Promise<void>;
  info(): Promise<SessionInfo>;
}

export interface NativeAddon {
  createSession(config: SessionConfig): Promise<NativeSession>;
  runtimeInfo(): RuntimeInfo;
  /** Applies steps 1-5 of §3 (with augmentation when batch.aug is set) and returns the model input. */
  preprocess(batch: Batch, prep: SessionConfig['prep'], inputSize: number, device: string, threads: number): Promise<Float32Array>;
  /** Column order of `Batch.aug`. */
  augParamNames: readonly string[];
  /**
   * int16 HU from DICOM stored samples, synchronously: `slope · stored + intercept` (integers)
   * clamped, after keeping the low `bits` bits (0: all; sign-extended when `signed`) and the
   * optional RSNA fix; see src/data/dicom/hu.ts.
   */
  storedToHu(samples: Int8Array | Uint8Array | Int16Array | Uint16Array, slope: number, intercept: number, bits: number, signed: boolean, rsnaFix: boolean): Int16Array;
  /** OpenCV-exact CLAHE of one gray image (row-major, width × height bytes); see src/prep/clahe.ts. */
  clahe(image: Uint8Array, width: number, height: number, clipLimit: number, tilesX: number, tilesY: number): Promise<Uint8Array>;
}

let cached: { addon: NativeAddon; path: string } | undefined;

/** Explains a failed load: the usual causes and their fixes, with the loader's own message. */
function loadError(cause: unknown): Error {
  const message = cause instanceof Error ? cause.message : String(cause);
  const hints: string[] = [];
  if (/No native build was found/i.test(message)) {
    hints.push('The addon was never built. Run `npm rebuild ichnet` (or `npm ci` in a checkout); it needs LibTorch — see `node scripts/libtorch.mjs`.');
  }
  const lib = /(lib[\w.+-]+\.so[.\d]*): cannot open shared object file/.exec(message);
  if (lib) {
    hints.push(`The shared library ${lib[1]} is missing at run time. Install or point to the LibTorch the addon was built with (LIBTORCH, LIBTORCH_USE_PYTORCH=1, or Debian's libtorch-dev), or rebuild with \`npm rebuild ichnet\`.`);
  }
  if (/GLIBC_|CXXABI_|GLIBCXX_/.test(message)) {
    hints.push('The addon was built against a newer C/C++ runtime than this system has: rebuild from source with `npm rebuild ichnet`.');
  }
  if (/undefined symbol/.test(message)) {
    hints.push('The LibTorch found at run time differs from the one the addon was built against (version or C++ ABI): rebuild with `npm rebuild ichnet`.');
  }
  if (hints.length === 0) hints.push('Rebuild the addon with `npm rebuild ichnet` and check `node scripts/libtorch.mjs`.');
  return new Error(`ichnet: cannot load the native addon.\n${hints.map((h) => `  - ${h}`).join('\n')}\nLoader said: ${message}`, { cause });
}

/** Loads (once) and returns the native addon and the file it came from. */
export function loadAddon(): { addon: NativeAddon; path: string } {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require('node-gyp-build') as { (dir: string): unknown; resolve(dir: string): string };
  try {
    const path = nodeGypBuild.resolve(packageRoot);
    cached = { addon: require(path) as NativeAddon, path };
  } catch (e) {
    throw loadError(e);
  }
  return cached;
}

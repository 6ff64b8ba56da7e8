/**
 * The one seam between TypeScript and the native addon. It alone imports the loader (src/addon/),
 * declares what the addon's functions take and return, and turns what they throw into this
 * package's errors ({@link nativeError}). Every other module reaches the addon through here.
 *
 * Loading is lazy: importing this module loads nothing; the first call that needs the addon
 * chooses and loads it (src/addon/load.ts).
 */
import { cpuHasNativeBf16 } from '../addon/host.js';
import { loadAddon, type AddonLoad } from '../addon/load.js';
import type { AddonManifest, LibTorch } from '../addon/scripts.js';
import type { AddonVariant } from '../addon/variant.js';
import type { SessionConfig } from '../config/session-schema.js';
import { IchnetError, type IchnetErrorCode } from '../errors/ichnet-error.js';
import type { Batch, GradCamResult, LoadReport, SessionInfo, StepResult } from './types.js';

export { cpuHasNativeBf16 };
export type { AddonLoad, AddonManifest, AddonVariant, LibTorch };

/** What LibTorch the addon runs on, available before any session exists. */
export interface RuntimeInfo {
  torchVersion: string;
  cxx11Abi: boolean;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  cudnnAvailable: boolean;
  /** CUDART_VERSION torch_cuda was built with (13000 = 13.0), null without torch_cuda. */
  cudaRuntimeVersion: number | null;
  /** CUDNN_VERSION torch_cuda was built with (91900 = 9.19.0), null without cuDNN. */
  cudnnVersion: number | null;
  /** LibTorch's intra-op thread count in the loading thread (Debian's build starts at 1). */
  defaultThreads: number;
  /** The c10d backends compiled into the addon for data-parallel training (`gloo`, `nccl`). */
  c10dBackends: string[];
  /**
   * The glibc malloc settings the addon applied to this process when it loaded (it keeps a training
   * step's freed activations for the next step instead of returning them to the kernel); null when
   * `ICHNET_MALLOC_TUNING=0` or not on glibc. In bytes; glibc reads the same settings from the
   * environment as `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_` and `MALLOC_TOP_PAD_`.
   */
  mallocTuning: { mmapThresholdBytes: number; trimThresholdBytes: number; topPadBytes: number } | null;
  /**
   * OpenBLAS's thread count (LibTorch's BLAS on Debian), null without OpenBLAS. The addon sets it to
   * 1 when it loads, so that LibTorch's matrix products run on the calling thread and no OpenBLAS
   * worker spins beside LibTorch's threads, unless `OPENBLAS_NUM_THREADS` or `GOTO_NUM_THREADS`
   * chose a count.
   */
  blasThreads: number | null;
  /**
   * LibTorch's CPU allocator in this process (native/memory/block_cache.h): tensor blocks of at
   * least `minBlockBytes` are kept when freed and reused for the next request of the same size,
   * with live + kept bytes bounded by twice the peak of live bytes (`peakLiveBytes`); `Session.close()`
   * hands the kept blocks back. Counters since the process started; null when
   * `ICHNET_BLOCK_CACHE=0` or not on Linux.
   */
  blockCache: {
    minBlockBytes: number;
    liveBytes: number;
    cachedBytes: number;
    peakLiveBytes: number;
    /** Blocks mapped from the kernel. */
    maps: number;
    /** Blocks handed back to the kernel. */
    unmaps: number;
    /** Requests served by a kept block. */
    reuses: number;
  } | null;
}

/** A session object as the addon returns it (native/binding/session_wrap.cc). */
export interface NativeSession {
  trainStep(batch: Batch): Promise<StepResult>;
  evalStep(batch: Batch): Promise<StepResult>;
  predict(batch: Batch): Promise<StepResult>;
  /** Prepares `batch`'s model input on the session's staging thread; settles when done, never rejects for a staging failure. Throws for a malformed batch. */
  stage(batch: Batch, mode: 'train' | 'eval'): Promise<void>;
  gradCam(batch: Batch, targets?: Int32Array): Promise<GradCamResult>;
  setLearningRate(lr: number): Promise<void>;
  loadWeights(path: string): Promise<LoadReport>;
  saveWeights(path: string): Promise<void>;
  saveCheckpoint(dir: string, files?: Record<string, string>): Promise<void>;
  loadCheckpoint(dir: string): Promise<void>;
  info(): Promise<SessionInfo>;
  syncReplicas(): Promise<void>;
  allGather(values: Float32Array): Promise<Float32Array[]>;
  publishFailure(message: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The addon's DICOM slice decode threads (native/binding/slice_decoder.cc), used by the loader's
 * decode pool (src/data/decode/native-slices.ts).
 */
export interface NativeSliceDecoder {
  /**
   * Decodes uncompressed grey single-frame DICOM slices to int16 HU into `images` at `offsets`
   * (elements), on the decoder's threads. Resolves with 4 numbers per slice: status (1 written,
   * 2 parsed but not `rows` × `columns`, 0 declined: not the common case or unreadable), the
   * slice's rows and columns when parsed, and the microseconds its thread spent on it.
   */
  decode(paths: string[], rsnaFix: Uint8Array, offsets: Float64Array, images: Int16Array | undefined, rows: number, columns: number): Promise<Int32Array>;
  /** No more calls; the threads stop once the calls in flight have resolved. */
  close(): void;
}

/** The addon's exports (native/binding/addon.cc). */
export interface NativeAddon {
  /** A pool of `threads` native DICOM slice decode threads. */
  SliceDecoder: new (threads: number) => NativeSliceDecoder;
  createSession(config: SessionConfig): Promise<NativeSession>;
  runtimeInfo(): RuntimeInfo;
  /** The preprocessing pipeline (with augmentation when batch.aug is set); returns the model input. */
  preprocess(batch: Batch, prep: SessionConfig['prep'], device: string, threads: number): Promise<Float32Array>;
  /** Column order of `Batch.aug`. */
  augParamNames: readonly string[];
  /**
   * int16 HU from DICOM stored samples, synchronously: `slope · stored + intercept` (integers)
   * clamped, after keeping the low `bits` bits (0: all; sign-extended when `signed`) and the
   * optional RSNA fix; see src/data/dicom/hu.ts.
   */
  storedToHu(samples: Int8Array | Uint8Array | Int16Array | Uint16Array, slope: number, intercept: number, bits: number, signed: boolean, rsnaFix: boolean, into?: Int16Array): Int16Array;
  /**
   * Adds `change` bytes (negative: takes them back) to the memory V8 counts as held outside its heap
   * and weighs when deciding to collect; returns the new total. For SharedArrayBuffers, which V8
   * does not count (src/data/decode/batch-memory.ts).
   */
  adjustExternalMemory(change: number): number;
  /** OpenCV-exact CLAHE of one gray image (row-major, width × height bytes); see src/prep/clahe.ts. */
  clahe(image: Uint8Array, width: number, height: number, clipLimit: number, tilesX: number, tilesY: number, device?: string): Promise<Uint8Array>;
}

/** The addon, loaded on first use; throws the loader's explanatory error when it cannot load. */
export function nativeAddon(): NativeAddon {
  return loadAddon().addon as NativeAddon;
}

/** Which `.node` file was loaded and why (loads the addon when it is not yet loaded). */
export function addonLoad(): AddonLoad {
  return loadAddon().load;
}

/** The native operation that failed: when loading weights or a checkpoint, an unreadable file is WEIGHTS_UNREADABLE. */
export type NativeOperation = 'load' | 'other';

/**
 * The addon's own messages (native/) for the failures that have a code of their own. Otherwise a
 * TypeError or RangeError — the addon throws them for a bad argument before any work is queued —
 * is INVALID_ARGUMENT, and any other rejection NATIVE_FAILURE.
 */
const CODE_BY_MESSAGE: ReadonlyArray<[RegExp, IchnetErrorCode]> = [
  [/this session is closed/, 'SESSION_CLOSED'],
  [/requested but (CUDA is not available|only \d+ CUDA device\(s\) exist)/, 'CUDA_UNAVAILABLE'],
  [/device: expected/, 'CONFIG_INVALID'],
  [/shape mismatch, nothing was loaded/, 'WEIGHTS_MISMATCH'],
  [/loss is (NaN|infinite) at step/, 'LOSS_NOT_FINITE'],
  [/^distributed\.backend/, 'CONFIG_INVALID'],
  [/^(rank \d+ of \d+: |distributed: )/, 'DISTRIBUTED_FAILURE'],
  [/precision: 'fp16' runs on CUDA only/, 'CONFIG_INVALID'],
  // native/io/file_writer.cc and the checkpoint writer in native/session/session.cc
  [/: (cannot create file|write failed|cannot write|cannot create directory|cannot create the checkpoint's directory|cannot move the (previous|new) checkpoint|cannot replace the checkpoint) \(|: is a directory; saveWeights/, 'WRITE_FAILED'],
];

/**
 * The one translation of what the addon throws: an IchnetError with its code, created here, so its
 * stack points at the caller's code rather than at an anonymous promise settlement; the original
 * stays as `cause`.
 */
export function nativeError(error: unknown, operation: NativeOperation = 'other'): IchnetError {
  if (error instanceof IchnetError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code =
    CODE_BY_MESSAGE.find(([pattern]) => pattern.test(message))?.[1] ??
    (error instanceof TypeError || error instanceof RangeError ? 'INVALID_ARGUMENT' : operation === 'load' ? 'WEIGHTS_UNREADABLE' : 'NATIVE_FAILURE');
  return new IchnetError(code, message, { cause: error });
}

/** Runs an asynchronous native call; what it throws or rejects with passes through {@link nativeError}. */
export async function callNative<T>(fn: (addon: NativeAddon) => Promise<T>, operation?: NativeOperation): Promise<T> {
  const addon = nativeAddon();
  try {
    return await fn(addon);
  } catch (e) {
    throw nativeError(e, operation);
  }
}

/** Runs a synchronous native call; what it throws passes through {@link nativeError}. */
export function callNativeSync<T>(fn: (addon: NativeAddon) => T): T {
  const addon = nativeAddon();
  try {
    return fn(addon);
  } catch (e) {
    throw nativeError(e);
  }
}

/** Column order of `Batch.aug`: the native pipeline's augmentation parameters. */
export function augParamNames(): readonly string[] {
  return nativeAddon().augParamNames;
}

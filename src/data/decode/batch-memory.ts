/**
 * Batch memory the decode workers can write into: typed arrays over a SharedArrayBuffer, whose
 * bytes V8 is told about. V8 counts an ArrayBuffer's memory towards the external-memory limit at
 * which it collects garbage, but not a SharedArrayBuffer's: batches a consumer never releases would
 * pile up for as long as nothing else made the main thread collect (an epoch of 512² batches grew
 * the process by hundreds of MiB). Counted, they are collected as ArrayBuffers are.
 */
import { callNativeSync } from '../../session/binding.js';
import type { SlicePixels } from '../types.js';

const counted = new FinalizationRegistry<number>((bytes) => callNativeSync((addon) => addon.adjustExternalMemory(-bytes)));

/** A zeroed array of `length` elements of the pixel kind's type over a new, counted SharedArrayBuffer. */
export function sharedPixelArray(kind: SlicePixels['kind'], length: number): Int16Array | Uint8Array {
  const bytes = kind === 'hu' ? length * 2 : length;
  const buffer = new SharedArrayBuffer(bytes);
  callNativeSync((addon) => addon.adjustExternalMemory(bytes));
  counted.register(buffer, bytes);
  return kind === 'hu' ? new Int16Array(buffer) : new Uint8Array(buffer);
}

/**
 * Grey DICOM slices to int16 Hounsfield units, the form the training loader hands to the addon
 * (docs/ARCHITECTURE.md §2): `round(slope · stored + intercept)`, clamped to the int16 range, with the
 * RSNA intercept fix on request — the values of `readDicom` + `fixRsnaIntercept`, rounded.
 *
 * CT files almost always have integral slope and intercept (1 and −1024). Then every HU value is
 * an integer computed exactly, and one native pass over the stored samples gives the result (the
 * addon's `storedToHu`); the general path (float64 samples → float32 rescale → fix → round, in JS)
 * is kept for everything else. The intermediate arrays of the general path cost more in
 * allocation and garbage collection than in arithmetic.
 * @module
 */
import { callNativeSync } from '../../session/binding.js';
import { decodeFirstFrame, toImage, type DicomMeta, type RawFrame } from './read.js';
import { fixRsnaIntercept, needsRsnaFix } from './rsna-fix.js';
import { IchnetError } from '../../errors/ichnet-error.js';

/** A grey slice in Hounsfield units. */
export interface HuImage {
  rows: number;
  columns: number;
  hu: Int16Array;
  meta: DicomMeta;
}

/**
 * Where a slice's HU values may go: given the image's rows and columns, an Int16Array of rows ×
 * columns elements to write them into (a view of a loader batch's memory, say), or undefined for a
 * new array.
 */
export type HuDestination = (rows: number, columns: number) => Int16Array | undefined;

/**
 * Decodes a grey DICOM file's bytes to HU. `path` names the file in errors. With `into`, the values
 * are written into the array it gives where the fast path applies (the returned `hu` is then that
 * array), else into a new array.
 *
 * @throws IchnetError DATA_UNREADABLE naming `path` as `readDicom` does, or for an image with more than one sample per
 *   pixel.
 */
export async function decodeHu(path: string, bytes: Buffer, { rsnaFix = false, into }: { rsnaFix?: boolean; into?: HuDestination } = {}): Promise<HuImage> {
  const { meta, frame } = await decodeFirstFrame(path, bytes);
  if (meta.samplesPerPixel !== 1) throw new IchnetError('DATA_UNREADABLE', `${path}: DICOM with ${meta.samplesPerPixel} samples per pixel; CT slices have 1`);
  const fix = rsnaFix && needsRsnaFix(meta);
  const hu = integralHu(frame, meta, fix, into);
  if (hu) return { rows: meta.rows, columns: meta.columns, hu, meta };
  const image = toImage(path, meta, frame);
  return { rows: meta.rows, columns: meta.columns, hu: toHu16((fix ? fixRsnaIntercept(image) : image).pixels), meta };
}

/** Rounds rescaled DICOM values into int16 Hounsfield units (CT's range fits; others are clamped). */
export function toHu16(values: Float32Array): Int16Array {
  const out = new Int16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(values[i] as number);
    out[i] = v < -32768 ? -32768 : v > 32767 ? 32767 : v;
  }
  return out;
}

/**
 * The fast path: 8- or 16-bit little-endian samples with integral, non-zero slope and integral
 * intercept. Returns undefined when the frame does not qualify.
 *
 * Equal to the general path: stored values are integers below 2^16, so slope · stored + intercept
 * is an exact integer in double; the general path's float32 step keeps it exact up to 2^24 and
 * beyond that both clamp. The RSNA fix recovers the stored value exactly too, since
 * (pixel − intercept) / slope is then an integer division.
 */
function integralHu(frame: RawFrame, meta: DicomMeta, rsnaFix: boolean, into?: HuDestination): Int16Array | undefined {
  const { rescaleSlope: slope, rescaleIntercept: intercept, bitsAllocated, pixelRepresentation } = meta;
  if (!Number.isInteger(slope) || slope === 0 || !Number.isInteger(intercept)) return undefined;
  if (bitsAllocated !== 8 && bitsAllocated !== 16) return undefined;
  if (!frame.bytes.littleEndian && bitsAllocated !== 8) return undefined;
  const samples = sampleView(frame.bytes.bytes, frame.count, bitsAllocated, pixelRepresentation === 1);
  // Bits above Bits Stored are ignored (pixels.ts): masked, or sign-extended from the top kept bit.
  const stored = frame.correction?.bits;
  const bits = stored !== undefined && stored < bitsAllocated ? stored : 0;
  const signed = frame.correction?.signed ?? pixelRepresentation === 1;
  // One native pass (a JS loop cost ~0.5 ms of the main thread per 512 x 512 slice).
  const destination = into?.(meta.rows, meta.columns);
  const target = destination && destination.length === samples.length ? destination : undefined;
  return callNativeSync((addon) => addon.storedToHu(samples, slope, intercept, bits, signed, rsnaFix, target));
}

/** The stored samples as a typed array of their own width (copied when the bytes are unaligned). */
function sampleView(bytes: Uint8Array, count: number, bitsAllocated: 8 | 16, signed: boolean): Int8Array | Uint8Array | Int16Array | Uint16Array {
  if (bitsAllocated === 8) return signed ? new Int8Array(bytes.buffer, bytes.byteOffset, count) : bytes.subarray(0, count);
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice(0, count * 2);
  return signed ? new Int16Array(aligned.buffer, aligned.byteOffset, count) : new Uint16Array(aligned.buffer, aligned.byteOffset, count);
}

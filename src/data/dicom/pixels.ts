/**
 * From decoded frame bytes to output values, following pydicom ≥ 3.0's `pixel_array` defaults:
 * stored values are read in the dtype of Bits Allocated and Pixel Representation, then
 *
 * - native, RLE and JPEG data: the bits above Bits Stored are ignored (`correct_unused_bits`):
 *   masked for unsigned data, sign-extended from bit Bits Stored − 1 for signed data;
 * - JPEG 2000 (monochrome): when the codestream's signedness differs from Pixel Representation,
 *   the samples are re-read at the codestream's precision (`apply_j2k_sign_correction`);
 * - JPEG-LS with Pixel Representation 1: samples are sign-extended from the codestream's
 *   precision (`apply_jls_sign_correction`), since JPEG-LS has no notion of sign;
 * - YBR_FULL / YBR_FULL_422 colour data not already converted by its decoder is converted to RGB
 *   with pydicom's `convert_color_space` arithmetic (float32, round half up, clip to 0–255).
 *
 * For conformant files (unused bits zero or sign-filled) this equals pydicom 2.x as well.
 */
import { IchnetError } from '../../errors/ichnet-error.js';

/** How to re-interpret the stored values before rescaling. */
export interface SampleCorrection {
  /** Keep this many low bits of each sample (`undefined`: keep all of Bits Allocated). */
  bits?: number;
  /** Interpret the kept bits as two's complement. */
  signed: boolean;
}

/** Native bytes of a frame with their byte order; compressed frames decode to little endian. */
export interface FrameBytes {
  bytes: Uint8Array;
  littleEndian: boolean;
}

/**
 * Reads `count` samples of `bitsAllocated` bits (1, 8, 16 or 32) and returns them as numbers in
 * the dtype pydicom would use (signed iff Pixel Representation is 1), with `correction` applied.
 */
export function readSamples(
  frame: FrameBytes,
  count: number,
  bitsAllocated: number,
  pixelRepresentation: 0 | 1,
  correction: SampleCorrection | undefined,
): Float64Array {
  const out = new Float64Array(count);
  let { bytes } = frame;
  if (bitsAllocated === 1) {
    // Packed bits, least significant bit first (PS3.5 8.1.1), as pydicom's unpack_bits.
    for (let i = 0; i < count; i++) out[i] = ((bytes[i >> 3] ?? 0) >> (i & 7)) & 1;
    return out;
  }
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw new IchnetError('DATA_UNREADABLE', `unsupported Bits Allocated ${bitsAllocated} (supported: 1, 8, 16, 32)`);
  }
  const size = bitsAllocated / 8;
  const signed = pixelRepresentation === 1;
  if (frame.littleEndian || size === 1) {
    // Typed-array views need aligned offsets: copy the (rare) unaligned frame first.
    if (bytes.byteOffset % size !== 0) bytes = bytes.slice(0, count * size);
    const { buffer, byteOffset } = bytes;
    if (size === 1) out.set(signed ? new Int8Array(buffer, byteOffset, count) : new Uint8Array(buffer, byteOffset, count));
    else if (size === 2) out.set(signed ? new Int16Array(buffer, byteOffset, count) : new Uint16Array(buffer, byteOffset, count));
    else out.set(signed ? new Int32Array(buffer, byteOffset, count) : new Uint32Array(buffer, byteOffset, count));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (size === 2) {
      for (let i = 0; i < count; i++) out[i] = signed ? view.getInt16(2 * i) : view.getUint16(2 * i);
    } else {
      for (let i = 0; i < count; i++) out[i] = signed ? view.getInt32(4 * i) : view.getUint32(4 * i);
    }
  }
  if (correction?.bits !== undefined && correction.bits < bitsAllocated) keepLowBits(out, correction.bits, correction.signed);
  return out;
}

/**
 * Keeps the low `bits` (< 32) bits of each integer sample, sign-extending from bit `bits − 1` when
 * `signed` — numpy's `(arr << k) >> k` on the Bits Allocated dtype, with k = Bits Allocated − bits.
 */
function keepLowBits(values: Float64Array, bits: number, signed: boolean): void {
  const shift = 32 - bits;
  if (signed) {
    for (let i = 0; i < values.length; i++) values[i] = ((values[i]! | 0) << shift) >> shift;
  } else {
    for (let i = 0; i < values.length; i++) values[i] = ((values[i]! | 0) << shift) >>> shift;
  }
}

/** Reorders planar (R…R G…G B…B) samples of one frame to interleaved (R G B R G B …). */
export function interleave(values: Float64Array, pixels: number, samples: number): Float64Array {
  const out = new Float64Array(pixels * samples);
  for (let s = 0; s < samples; s++) {
    for (let p = 0; p < pixels; p++) out[p * samples + s] = values[s * pixels + p] ?? 0;
  }
  return out;
}

/**
 * Expands native YBR_FULL_422 data (Y1 Y2 Cb Cr per pair of pixels, PS3.3 C.7.6.3.1.2) to full
 * YBR (Y Cb Cr per pixel), as pydicom does.
 */
export function expandYbr422(values: Float64Array, pixels: number): Float64Array {
  const out = new Float64Array(pixels * 3);
  for (let p = 0; 2 * p < pixels; p++) {
    const y1 = values[4 * p] ?? 0;
    const y2 = values[4 * p + 1] ?? 0;
    const cb = values[4 * p + 2] ?? 0;
    const cr = values[4 * p + 3] ?? 0;
    out.set([y1, cb, cr], 6 * p);
    if (2 * p + 1 < pixels) out.set([y2, cb, cr], 6 * p + 3);
  }
  return out;
}

const f = Math.fround;
// pydicom's ybr_to_rgb matrix, as float32.
const CB_G = f((-0.114 * 1.772) / 0.587);
const CR_G = f((-0.299 * 1.402) / 0.587);
const CB_B = f(1.772);
const CR_R = f(1.402);

/**
 * YBR_FULL → RGB in place on interleaved 8-bit samples, with pydicom's `convert_color_space`
 * arithmetic: float32 `(Y, Cb − 128, Cr − 128) · M`, `floor(x + 0.5)`, clipped to 0–255.
 */
export function ybrToRgb(values: Float64Array): void {
  for (let i = 0; i + 2 < values.length; i += 3) {
    const y = values[i] ?? 0;
    const cb = f((values[i + 1] ?? 0) - 128);
    const cr = f((values[i + 2] ?? 0) - 128);
    const r = f(f(y + f(cb * 0)) + f(cr * CR_R));
    const g = f(f(y + f(cb * CB_G)) + f(cr * CR_G));
    const b = f(f(y + f(cb * CB_B)) + f(cr * 0));
    values[i] = clip255(Math.floor(f(r + 0.5)));
    values[i + 1] = clip255(Math.floor(f(g + 0.5)));
    values[i + 2] = clip255(Math.floor(f(b + 0.5)));
  }
}

function clip255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * The few codestream header fields that decide how decoded samples are interpreted: JPEG 2000's
 * component precision and signedness (SIZ marker) and JPEG-LS's sample precision (SOF55 marker).
 * pydicom reads the same fields to correct the samples' signedness after decoding.
 */

/** Precision (bits) and signedness of the first component of a JPEG 2000 codestream. */
export interface J2kParameters {
  precision: number;
  signed: boolean;
}

/**
 * Reads the SIZ marker segment of a JPEG 2000 codestream (bare, or wrapped in a JP2 file whose
 * `jp2c` box holds it). Returns `undefined` when no SOC + SIZ is found in the first 1 KiB.
 */
export function j2kParameters(frame: Uint8Array): J2kParameters | undefined {
  const limit = Math.min(frame.length - 43, 1024);
  for (let i = 0; i < limit; i++) {
    // SOC (FF4F) immediately followed by SIZ (FF51); Ssiz of component 0 is 42 bytes after SOC.
    if (frame[i] === 0xff && frame[i + 1] === 0x4f && frame[i + 2] === 0xff && frame[i + 3] === 0x51) {
      const ssiz = frame[i + 42] ?? 0;
      return { precision: (ssiz & 0x7f) + 1, signed: (ssiz & 0x80) !== 0 };
    }
  }
  return undefined;
}

/** Sample precision P from a JPEG-LS frame header (SOF55, FFF7), or `undefined` if absent. */
export function jpegLsPrecision(frame: Uint8Array): number | undefined {
  // Walk the marker segments from SOI: each is FFxx followed by a 2-byte big endian length.
  if (frame[0] !== 0xff || frame[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 4 < frame.length) {
    if (frame[i] !== 0xff) return undefined;
    const marker = frame[i + 1] ?? 0;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    const length = ((frame[i + 2] ?? 0) << 8) | (frame[i + 3] ?? 0);
    if (marker === 0xf7) return frame[i + 4];
    if (marker === 0xda || marker === 0xd9) return undefined; // start of scan / end of image
    i += 2 + length;
  }
  return undefined;
}

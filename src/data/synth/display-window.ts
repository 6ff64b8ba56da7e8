/** Display windowing of HU slices to 8 bits. */

/**
 * Applies a display window to HU: `clamp(round((x − (c − w/2)) / w · 255), 0, 255)` per pixel,
 * the same mapping as the native window step scaled to 8 bits.
 */
export function windowToUint8(hu: Int16Array, center: number, width: number): Uint8Array {
  const out = new Uint8Array(hu.length);
  const lo = center - width / 2;
  const scale = 255 / width;
  for (let i = 0; i < hu.length; i++) {
    const v = Math.round((hu[i]! - lo) * scale);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

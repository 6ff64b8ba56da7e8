/**
 * The RSNA Intracranial Hemorrhage Detection (Kaggle 2019) intercept fix.
 *
 * Some of that challenge's CT slices are 12-bit unsigned (Bits Stored 12, Pixel Representation 0)
 * with a wrong Rescale Intercept (greater than −100 where CT needs about −1000), so that
 * slope · stored + intercept is not in Hounsfield units. The fix
 * published in the competition's public notebooks and used by most top solutions is, on the stored
 * values `x` of such an image (condition: `BitsStored == 12 and PixelRepresentation == 0 and
 * int(RescaleIntercept) > -100`):
 *
 * ```
 * x = x + 1000
 * x[x >= 4096] -= 4096
 * RescaleIntercept = -1000
 * ```
 *
 * then HU = x · RescaleSlope − 1000 as usual. (fastai's `fix_pxrepr` variant of the same fix
 * tests only `PixelRepresentation != 0 or RescaleIntercept < -100`; this is the BitsStored-12 one.)
 *
 * The public fix ran on pydicom 1.x/2.x `pixel_array`, which keeps any bits above Bits Stored;
 * `readDicom` clears them (pydicom ≥ 3). The two agree whenever those bits are zero.
 *
 * `readDicom` does not apply it (its values equal pydicom's); call this on its result when reading
 * RSNA data.
 * @module
 */
import type { DicomImage } from './read.js';

/** Whether an image matches the RSNA fix's condition (12-bit unsigned, intercept > −100). */
export function needsRsnaFix(meta: DicomImage['meta']): boolean {
  return (
    meta.samplesPerPixel === 1 &&
    meta.bitsStored === 12 &&
    meta.pixelRepresentation === 0 &&
    // Python's int() truncates toward zero, as Math.trunc.
    Math.trunc(meta.rescaleIntercept) > -100
  );
}

/**
 * Applies the RSNA intercept fix (see the module comment) to an image read by `readDicom`.
 *
 * The stored values are recovered from the rescaled pixels as
 * `round((pixel − intercept) / slope)`, shifted by +1000, wrapped at 4096 and rescaled with
 * intercept −1000.
 *
 * @param image - A grey image as returned by `readDicom`.
 * @returns A new image with fixed pixels and `meta.rescaleIntercept = -1000` when the condition
 *   holds; otherwise `image` itself, unchanged.
 */
export function fixRsnaIntercept(image: DicomImage): DicomImage {
  if (!needsRsnaFix(image.meta)) return image;
  const { rescaleSlope: slope, rescaleIntercept: intercept } = image.meta;
  const pixels = new Float32Array(image.pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    let stored = Math.round(((image.pixels[i] ?? 0) - intercept) / slope) + 1000;
    if (stored >= 4096) stored -= 4096;
    pixels[i] = stored * slope - 1000;
  }
  return { ...image, pixels, meta: { ...image.meta, rescaleIntercept: -1000 } };
}

/**
 * CLAHE with OpenCV's exact semantics (docs/ARCHITECTURE.md §3 step 2), computed in the native addon.
 * Hand-written there because sharp's `clahe()` is libvips `hist_local` (a sliding window, not
 * OpenCV's tiles: different output, 20–100× slower) and OpenCV is not a dependency.
 */
import { CLAHE_CLIP_LIMIT, CLAHE_TILES } from '../config/prep-constants.js';
import { IchnetError } from '../errors/ichnet-error.js';
import { callNative } from '../session/binding.js';

/** The image size and OpenCV's CLAHE parameters for `clahe`. */
export interface ClaheOptions {
  /** Image width in pixels (an integer ≥ 1). */
  width: number;
  /** Image height in pixels (an integer ≥ 1). */
  height: number;
  /**
   * Contrast limit, relative to a uniform histogram: each bin is clipped at
   * `max(1, ⌊clipLimit · tileArea / 256⌋)`. `0` or less turns clipping off (plain tiled histogram
   * equalisation), as in OpenCV. Default {@link CLAHE_CLIP_LIMIT} (2.0; OpenCV's own default is 40).
   */
  clipLimit?: number;
  /**
   * Tile grid: one number for a square grid, or `[tilesX, tilesY]` (columns, rows; OpenCV's
   * `tileGridSize` order). Each 1..1024. Default {@link CLAHE_TILES} (8 × 8).
   */
  tiles?: number | [number, number];
  /**
   * Where to compute it: absent — the host kernel; a LibTorch device (`'cpu'`, `'cuda'`,
   * `'cuda:1'`) — the batched tensor version the preprocessing pipeline runs there with
   * `prep.where: device` (same output).
   */
  device?: string;
}

/**
 * Contrast-limited adaptive histogram equalisation of one 8-bit gray image, pixel for pixel equal
 * to `cv2.createCLAHE(clipLimit, (tilesX, tilesY)).apply(image)` — including OpenCV's
 * BORDER_REFLECT_101 padding when the size does not divide by the grid. Runs off the JS thread.
 *
 * @param image - `width × height` gray pixels, row-major. Read in place until the promise settles:
 *   do not modify it meanwhile.
 * @returns A new `Uint8Array` of the same size.
 * @throws IchnetError INVALID_ARGUMENT for a non-`Uint8Array` image, non-numeric options, a length
 *   that is not `width × height`, or a size or grid out of range. (As rejections.)
 *
 * @example
 * import { clahe } from 'ichnet';
 *
 * const pixels = Uint8Array.from({ length: 64 * 64 }, (_, i) => (i * 7) % 256); // a 64 × 64 gray image
 * const out = await clahe(pixels, { width: 64, height: 64, clipLimit: 2, tiles: 8 });
 * console.log(out.length); // 4096
 */
export async function clahe(image: Uint8Array, options: ClaheOptions): Promise<Uint8Array> {
  if (typeof options !== 'object' || options === null) throw new IchnetError('INVALID_ARGUMENT', 'clahe: expected options { width, height, clipLimit?, tiles? }');
  const tiles = options.tiles ?? CLAHE_TILES;
  let tilesX: number;
  let tilesY: number;
  if (typeof tiles === 'number') {
    tilesX = tilesY = tiles;
  } else if (Array.isArray(tiles) && tiles.length === 2) {
    [tilesX, tilesY] = tiles;
  } else {
    throw new IchnetError('INVALID_ARGUMENT', 'clahe: tiles: expected a number or [tilesX, tilesY]');
  }
  return callNative((addon) => addon.clahe(image, options.width, options.height, options.clipLimit ?? CLAHE_CLIP_LIMIT, tilesX, tilesY, options.device));
}

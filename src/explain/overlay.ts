/** Heat-map overlays: a Grad-CAM map resampled to an image's pixel grid, coloured and blended. */

/** A region of an image in pixel edges, [x0, y0, x1, y1]: columns x0 ≤ x < x1, rows y0 ≤ y < y1. */
export type PixelBox = readonly [number, number, number, number];

/**
 * Bilinear resampling of a row-major `h × w` map to an `H × W` image whose region `box` (by default
 * the whole image) the map covers, with pixel centres at half-integers (PyTorch's
 * `interpolate(..., align_corners=False)`, the convention of the model's own resampling), so that a
 * map cell lands on the image pixels it was computed from; pixels outside the box, which the model
 * did not see, get 0. Written here because the lesion-overlap measurement needs float values on
 * exactly this grid, which an image library's 8-bit resize does not give.
 */
export function resizeBilinear(map: ArrayLike<number>, h: number, w: number, H: number, W: number, box: PixelBox = [0, 0, W, H]): Float32Array {
  const out = new Float32Array(H * W);
  const [x0, y0, x1, y1] = box;
  const sy = h / (y1 - y0);
  const sx = w / (x1 - x0);
  for (let y = Math.max(0, y0); y < Math.min(H, y1); y++) {
    const fy = Math.max(0, (y - y0 + 0.5) * sy - 0.5);
    const r0 = Math.min(h - 1, Math.floor(fy));
    const r1 = Math.min(h - 1, r0 + 1);
    const dy = fy - r0;
    for (let x = Math.max(0, x0); x < Math.min(W, x1); x++) {
      const fx = Math.max(0, (x - x0 + 0.5) * sx - 0.5);
      const c0 = Math.min(w - 1, Math.floor(fx));
      const c1 = Math.min(w - 1, c0 + 1);
      const dx = fx - c0;
      const a = (map[r0 * w + c0] as number) * (1 - dx) + (map[r0 * w + c1] as number) * dx;
      const b = (map[r1 * w + c0] as number) * (1 - dx) + (map[r1 * w + c1] as number) * dx;
      out[y * W + x] = a * (1 - dy) + b * dy;
    }
  }
  return out;
}

/** The "jet" colour map: 0 → dark blue, 0.5 → green, 1 → dark red; RGB in 0..255. */
export function jet(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, v));
  const channel = (offset: number) => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - offset))));
  return [channel(3), channel(2), channel(1)];
}

/**
 * Blends a heat map over an image: `image` is gray (`channels` 1) or interleaved RGB (3), `heat`
 * the map on the same grid scaled to 0..1. Each pixel becomes (1 − α·heat)·pixel + α·heat·jet(heat),
 * so cold regions show the slice untouched. Returns interleaved RGB.
 */
export function overlayHeat(image: Uint8Array, heat: Float32Array, alpha = 0.5, channels: 1 | 3 = 1): Uint8Array {
  const out = new Uint8Array(heat.length * 3);
  for (let i = 0; i < heat.length; i++) {
    const v = Math.min(1, Math.max(0, heat[i] as number));
    const a = alpha * v;
    const colour = jet(v);
    for (let c = 0; c < 3; c++) {
      const base = image[channels === 1 ? i : i * 3 + c] as number;
      out[i * 3 + c] = Math.round((1 - a) * base + a * (colour[c] as number));
    }
  }
  return out;
}

/** A map scaled to 0..1 by its maximum (an all-zero map stays zero). */
export function normalised(map: Float32Array): Float32Array {
  let max = 0;
  for (const v of map) if (v > max) max = v;
  return max > 0 ? map.map((v) => v / max) : new Float32Array(map.length);
}

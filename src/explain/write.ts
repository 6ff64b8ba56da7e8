/**
 * Writes a patient's Grad-CAM to a folder: PNG overlays (the slice under a display window, the
 * map in jet colours over it), the raw maps as `maps.npy` and an index, `explain.json`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { windowToUint8 } from '../data/synth/display-window.js';
import { readSlice } from '../data/slices.js';
import type { SlicePixels } from '../data/types.js';
import { slicePng } from '../report/samples.js';
import type { PatientGradCam } from './grad-cam.js';
import { npyFloat32 } from './npy.js';
import { normalised, overlayHeat, resizeBilinear, type PixelBox } from './overlay.js';

/** Which slice/label pairs get an overlay PNG. */
export type OverlayChoice = 'positive' | 'all';

/** One overlay written. */
export interface OverlayFile {
  slice: string;
  index: number;
  label: string;
  probability: number;
  positive: boolean;
  /** File name inside the output folder. */
  png: string;
  /** The map's maximum before it was scaled to 0..1 for display. */
  mapMax: number;
}

/** The gray display image of a decoded slice: HU under `window`, 8-bit images as they are (colour → its mean). */
export function displayGray(pixels: SlicePixels, window: readonly [number, number]): Uint8Array {
  if (pixels.kind === 'hu') return windowToUint8(pixels.data, window[0], window[1]);
  if (pixels.channels === 1) return pixels.data;
  const gray = new Uint8Array(pixels.width * pixels.height);
  for (let i = 0; i < gray.length; i++) gray[i] = Math.round(((pixels.data[i * 3] as number) + (pixels.data[i * 3 + 1] as number) + (pixels.data[i * 3 + 2] as number)) / 3);
  return gray;
}

/** The map of (slice s, label l), h × w. */
export function mapOf(cam: PatientGradCam, s: number, l: number): Float32Array {
  const plane = cam.height * cam.width;
  return cam.maps.subarray((s * cam.labels + l) * plane, (s * cam.labels + l + 1) * plane);
}

/** The region of slice s that its maps cover, [x0, y0, x1, y1] in the slice's pixel edges. */
export function boxOf(cam: PatientGradCam, s: number): PixelBox {
  const b = cam.boxes;
  return [b[s * 4] ?? 0, b[s * 4 + 1] ?? 0, b[s * 4 + 2] ?? 0, b[s * 4 + 3] ?? 0];
}

/**
 * Writes `maps.npy` (float32 slices × labels × h × w), `explain.json` and overlays: for `positive`,
 * every slice/label at or above the label's threshold and each label's most probable slice; for
 * `all`, every slice and label.
 */
export async function writeExplanation(
  out: string,
  cam: PatientGradCam,
  meta: { labels: string[]; thresholds: number[]; window: readonly [number, number]; checkpoint: string },
  choice: OverlayChoice = 'positive',
): Promise<OverlayFile[]> {
  await mkdir(out, { recursive: true });
  const { patient } = cam;
  const L = cam.labels;
  const S = patient.slices.length;
  await writeFile(join(out, 'maps.npy'), npyFloat32(cam.maps, [S, L, cam.height, cam.width]));
  const wanted = new Set<string>();
  meta.labels.forEach((_, l) => {
    let best = -1;
    for (let s = 0; s < S; s++) {
      const p = cam.probs[s * L + l] as number;
      if (Number.isNaN(p)) continue;
      if (choice === 'all' || p >= (meta.thresholds[l] as number)) wanted.add(`${s}/${l}`);
      if (best < 0 || p > (cam.probs[best * L + l] as number)) best = s;
    }
    if (best >= 0) wanted.add(`${best}/${l}`);
  });
  const overlays: OverlayFile[] = [];
  const bySlice = new Map<number, number[]>();
  for (const key of wanted) {
    const [s, l] = key.split('/').map(Number) as [number, number];
    bySlice.set(s, [...(bySlice.get(s) ?? []), l]);
  }
  for (const [s, labels] of [...bySlice.entries()].sort((a, b) => a[0] - b[0])) {
    const ref = patient.slices[s];
    if (!ref) continue;
    const pixels = await readSlice(ref.path, { rsnaFix: ref.rsnaFix ?? false });
    const gray = displayGray(pixels, meta.window);
    for (const l of labels.sort((a, b) => a - b)) {
      const raw = mapOf(cam, s, l);
      let mapMax = 0;
      for (const v of raw) if (v > mapMax) mapMax = v;
      const heat = resizeBilinear(normalised(raw), cam.height, cam.width, pixels.height, pixels.width, boxOf(cam, s));
      const label = meta.labels[l] as string;
      const png = `${String(s).padStart(3, '0')}_${label}.png`;
      await writeFile(join(out, png), await slicePng(overlayHeat(gray, heat, 0.5, 1), pixels.width, pixels.height, 3));
      const probability = cam.probs[s * L + l] as number;
      overlays.push({ slice: ref.id, index: s, label, probability, positive: probability >= (meta.thresholds[l] as number), png, mapMax });
    }
  }
  const index = {
    checkpoint: meta.checkpoint,
    patient: patient.id,
    ...(patient.series ? { series: patient.series } : {}),
    labels: meta.labels,
    thresholds: meta.thresholds,
    layer: 'last VGG16 convolution block (conv5_3 after ReLU, before the final max-pool)',
    maps: { file: 'maps.npy', shape: [S, L, cam.height, cam.width], axes: ['slice', 'label', 'row', 'column'] },
    // box: the region of the slice [x0, y0, x1, y1] (pixel edges) that the maps cover.
    slices: patient.slices.map((s, k) => ({ index: k, id: s.id, box: boxOf(cam, k), probabilities: Array.from(cam.probs.subarray(k * L, (k + 1) * L)) })),
    overlays,
    skipped: cam.skipped,
  };
  await writeFile(join(out, 'explain.json'), `${JSON.stringify(index, null, 2)}\n`);
  return overlays;
}

/** Small on-disk datasets for data-layer tests, written with sharp (8-bit PNG/JPEG slices). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

import { rng } from './tiny.js';

export interface CourseFixture {
  root: string;
  /** patient → slice ids in CSV (= anatomical) order */
  patients: Map<string, string[]>;
  /** `${patient}/${slice}` → the 5 labels */
  labels: Map<string, number[]>;
}

/** A slice whose pixel (0, 0) encodes its index, so order can be read back from decoded pixels. */
async function writeSlice(path: string, index: number, size: number, seed: number, format: 'png' | 'jpg' = 'png') {
  const r = rng(seed);
  const data = Buffer.from(Uint8Array.from({ length: size * size }, (_, i) => (i === 0 ? index : Math.floor(r() * 200) + 20)));
  // Alternate true 1-channel files and gray stored as RGB (both decode to one channel).
  const raw = sharp(data, { raw: { width: size, height: size, channels: 1 } });
  const img = index % 2 === 0 ? raw.toColourspace('b-w') : raw;
  await (format === 'png' ? img.png() : img.jpeg({ quality: 100 })).toFile(path);
}

/**
 * The original course layout: `train.csv` (`dirname,ID,ich,ivh,sah,sdh,edh`, one row per slice in
 * slice order) and `train/<dirname>/<ID>.png`. Slice ids are deliberately not in name order.
 */
export async function writeCourseFixture(root: string, counts: number[], size = 24, seed = 1): Promise<CourseFixture> {
  const r = rng(seed);
  const patients = new Map<string, string[]>();
  const labels = new Map<string, number[]>();
  const rows = ['dirname,ID,ich,ivh,sah,sdh,edh'];
  for (const [p, count] of counts.entries()) {
    const patient = `ID_p${p}`;
    mkdirSync(join(root, 'train', patient), { recursive: true });
    const ids: string[] = [];
    for (let s = 0; s < count; s++) {
      const id = `ID_${patient}_s${(s * 7) % count}x${s}`;
      const lab = Array.from({ length: 5 }, () => (r() < 0.3 ? 1 : 0));
      rows.push([patient, id, ...lab].join(','));
      await writeSlice(join(root, 'train', patient, `${id}.png`), s, size, seed * 1000 + p * 50 + s);
      ids.push(id);
      labels.set(`${patient}/${id}`, lab);
    }
    patients.set(patient, ids);
  }
  writeFileSync(join(root, 'train.csv'), `${rows.join('\n')}\n`);
  return { root, patients, labels };
}

export { writeSlice };

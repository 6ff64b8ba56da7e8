/**
 * Turns a synthetic dataset (folders layout) into what a hospital export looks like: the same DICOM
 * files renamed without extension, shuffled into nested patient/study/series folders, with a
 * localiser, a sagittal reconstruction, a single-image series and a stray text file mixed in.
 */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { encodeCtSlice } from '../../src/data/synth/index.js';
import { rng } from './tiny.js';

/** Files that must be left out, by why. */
export interface TreeExtras {
  localiser: string;
  sagittal: string[];
  single: string;
  stray: string;
}

function extraSlice(uid: string, instance: number, extra: { imageType?: string[]; orientation?: [number, number, number, number, number, number] }) {
  const hu = new Int16Array(32 * 32).fill(30);
  return encodeCtSlice({
    hu,
    rows: 32,
    cols: 32,
    patientId: 'EXTRA',
    studyInstanceUid: '2.25.1000',
    seriesInstanceUid: uid,
    sopInstanceUid: `${uid}.${instance}`,
    frameOfReferenceUid: '2.25.1001',
    instanceNumber: instance,
    position: [0, 0, instance * 5],
    pixelSpacingMm: 1,
    sliceThicknessMm: 5,
    ...extra,
  });
}

/** Copies every patient folder of `imagesDir` into `out` as a messy tree; returns the added extras. */
export function writeMessyTree(imagesDir: string, out: string, seed = 1): TreeExtras {
  const r = rng(seed);
  for (const [p, patient] of readdirSync(imagesDir).sort().entries()) {
    const files = readdirSync(join(imagesDir, patient)).filter((f) => f.endsWith('.dcm'));
    // Shuffled names: the file order says nothing about the slice order.
    const names = files.map((_, i) => i).sort(() => r() - 0.5);
    const dir = join(out, `PAT${p}`, 'STUDY1', p % 2 === 0 ? 'SE2' : 'CT_HEAD');
    mkdirSync(dir, { recursive: true });
    files.forEach((f, i) => copyFileSync(join(imagesDir, patient, f), join(dir, `IM${String(names[i]).padStart(4, '0')}`)));
  }
  const extras = join(out, 'PAT_EXTRA');
  mkdirSync(extras, { recursive: true });
  const localiser = join(extras, 'scout');
  writeFileSync(localiser, extraSlice('2.25.1002', 1, { imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] }));
  const sagittal = [1, 2, 3].map((i) => join(extras, `sag${i}.dcm`));
  sagittal.forEach((path, i) => writeFileSync(path, extraSlice('2.25.1003', i + 1, { orientation: [0, 1, 0, 0, 0, -1] })));
  const single = join(extras, 'dose-page.dcm');
  writeFileSync(single, extraSlice('2.25.1004', 1, {}));
  const stray = join(out, 'README.txt');
  writeFileSync(stray, 'exported by a PACS\n');
  return { localiser, sagittal, single, stray };
}

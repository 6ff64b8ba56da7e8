/** The RSNA layout: series grouping and ordering, labels, the intercept quirk, the corrupt file, the cached index. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { openDataset } from '../src/data/datasets/index.js';
import { readSlice } from '../src/data/slices.js';
import { deterministicUid, encodeCtSlice } from '../src/data/synth/index.js';
import { tempDir } from './helpers/temp-dir.js';

const SUBTYPES = ['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural', 'any'];

/**
 * Two series (3 and 2 slices) written with shuffled file names and IPP z out of file order, one
 * unlabelled stray file, and the known-corrupt image id.
 */
function writeRsna(root: string) {
  const dir = join(root, 'stage_2_train');
  mkdirSync(dir, { recursive: true });
  const rows = ['ID,Label'];
  const series: { id: string; images: string[]; z: number[] }[] = [
    { id: 'A', images: ['ID_0c', 'ID_0a', 'ID_0b'], z: [10, -5, 2.5] },
    { id: 'B', images: ['ID_1b', 'ID_1a'], z: [7, 3] },
  ];
  const hu = new Int16Array(16 * 16).fill(40);
  for (const s of series) {
    s.images.forEach((image, k) => {
      const bytes = encodeCtSlice({
        hu, rows: 16, cols: 16, patientId: s.id, studyInstanceUid: deterministicUid('study', s.id), seriesInstanceUid: deterministicUid('series', s.id),
        sopInstanceUid: deterministicUid(image), frameOfReferenceUid: deterministicUid('for', s.id), instanceNumber: k + 1,
        position: [0, 0, s.z[k] as number], pixelSpacingMm: 0.5, sliceThicknessMm: 5,
      });
      writeFileSync(join(dir, `${image}.dcm`), bytes);
      SUBTYPES.forEach((t, l) => rows.push(`${image}_${t},${image === 'ID_0b' && (l === 1 || l === 5) ? 1 : 0}`));
    });
  }
  writeFileSync(join(dir, 'ID_6431af929.dcm'), Buffer.from('not a dicom'));
  SUBTYPES.forEach((t) => rows.push(`ID_6431af929_${t},0`));
  writeFileSync(join(root, 'stage_2_train.csv'), `${rows.join('\n')}\n`);
  return dir;
}

describe('rsna layout', () => {
  it('groups series, orders by position, reads labels and skips the known corrupt file', async () => {
    const root = tempDir('ichnet-rsna-');
    const dir = writeRsna(root);
    const ds = await openDataset({ root });
    assert.equal(ds.format, 'rsna');
    assert.deepEqual(ds.labelNames, SUBTYPES);
    const byId = new Map(ds.patients.map((p) => [p.slices[0]?.id.slice(0, 4), p]));
    assert.deepEqual(byId.get('ID_0')?.slices.map((s) => s.id), ['ID_0a', 'ID_0b', 'ID_0c'], 'ordered by z: -5, 2.5, 10');
    assert.deepEqual(byId.get('ID_1')?.slices.map((s) => s.id), ['ID_1a', 'ID_1b']);
    assert.deepEqual(Array.from(byId.get('ID_0')?.labels ?? []), [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.ok(ds.patients.every((p) => p.slices.every((s) => s.rsnaFix === true)));
    assert.deepEqual(ds.skipped.map((s) => s.path), [join(dir, 'ID_6431af929.dcm')]);

    // The header index is cached: a second open reads it instead of the files.
    const cache = join(root, '.ichnet-cache');
    assert.equal(readdirSync(cache).filter((f) => f.startsWith('rsna-index-')).length, 1);
    const again = await openDataset({ root });
    assert.deepEqual(again.patients.map((p) => p.slices.map((s) => s.id)), ds.patients.map((p) => p.slices.map((s) => s.id)));
    assert.ok(existsSync(cache));
  });

  it('applies the 12-bit intercept fix when reading RSNA slices', async () => {
    // An RSNA-style 12-bit unsigned file with intercept 0 where CT needs about -1000: written
    // by pydicom so the header is what the challenge's files carry.
    const root = tempDir('ichnet-rsna12-');
    const path = join(root, 'quirk.dcm');
    const { runPython } = await import('./helpers/oracle.js');
    runPython(
      `
import sys, numpy as np, pydicom
from pydicom.data import get_testdata_file
ds = pydicom.dcmread(get_testdata_file('CT_small.dcm'))
stored = np.array([[0, 24, 1000], [1024, 3000, 4095]], dtype=np.uint16)
ds.Rows, ds.Columns = stored.shape
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
ds.RescaleIntercept, ds.RescaleSlope = 0, 1
ds.PixelData = stored.tobytes()
ds.save_as(sys.argv[1])
`,
      [path],
    );
    const plain = await readSlice(path);
    const fixed = await readSlice(path, { rsnaFix: true });
    assert.deepEqual(Array.from(plain.data), [0, 24, 1000, 1024, 3000, 4095]);
    // stored + 1000, wrapped at 4096, then intercept -1000: 3000 -> 3000, 4095 -> -1.
    assert.deepEqual(Array.from(fixed.data), [0, 24, 1000, 1024, 3000, -1]);
  });
});

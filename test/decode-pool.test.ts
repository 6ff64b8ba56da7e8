/**
 * The decode pool: slices decoded on worker threads give pydicom's Hounsfield units and the
 * main-thread decoder's pixels, errors still name the file, and the loader's batches do not depend
 * on how many workers decode them.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { augmentSchema } from '../src/config/augment-schema.js';
import { openDataset } from '../src/data/datasets/index.js';
import { DecodePool } from '../src/data/decode/pool.js';
import { IchnetError } from '../src/errors/ichnet-error.js';
import { SliceLoader } from '../src/data/loader.js';
import { readSlice } from '../src/data/slices.js';
import { writeSyntheticDataset } from '../src/data/synth/index.js';
import { runPython } from './helpers/oracle.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('ichnet-pool-');
after(() => rmSync(dir, { recursive: true, force: true }));

const PYDICOM_HU = `
import sys, numpy as np, pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut
for path, out in zip(sys.argv[1::2], sys.argv[2::2]):
    ds = pydicom.dcmread(path)
    hu = np.rint(apply_modality_lut(ds.pixel_array, ds)).clip(-32768, 32767).astype('<i2')
    hu.tofile(out)
`;

describe('decode pool', () => {
  it('decodes DICOM and PNG slices on worker threads: pydicom HU and the main-thread pixels', async () => {
    const info = await writeSyntheticDataset({ out: join(dir, 'synth'), patients: 2, slices: [3, 3], size: 48, seed: 3, format: 'both' });
    const ds = await openDataset({ root: info.root });
    // The dataset lists the PNGs; each has its DICOM beside it.
    const pngs = ds.patients.flatMap((p) => p.slices.map((s) => s.path));
    const dicoms = pngs.map((p) => p.replace(/\.png$/, '.dcm'));
    assert.ok(pngs.every((p) => p.endsWith('.png')) && pngs.length === 6);
    runPython(PYDICOM_HU, dicoms.flatMap((p, i) => [p, join(dir, `hu${i}.bin`)]));

    const pool = new DecodePool(2);
    try {
      const decoded = await Promise.all([...dicoms, ...pngs].map((p) => pool.decode(p)));
      for (const [i, path] of dicoms.entries()) {
        const got = decoded[i];
        assert.equal(got?.kind, 'hu', path);
        const want = new Int16Array(readFileSync(join(dir, `hu${i}.bin`)).buffer.slice(0));
        assert.deepEqual(got?.data, want, `${path}: HU equal to pydicom's`);
      }
      for (const [i, path] of pngs.entries()) assert.deepEqual(decoded[dicoms.length + i], await readSlice(path), path);
      assert.equal(pool.stats.slices, 12, 'every slice went through a worker');
      assert.ok(pool.stats.workerBusyMs > 0);
    } finally {
      await pool.close();
    }
  });

  it('rejects with an error naming the file, and keeps working', async () => {
    const bad = join(dir, 'bad.png');
    writeFileSync(bad, Buffer.from('not an image at all'));
    const good = join(dir, 'good.png');
    const info = await writeSyntheticDataset({ out: join(dir, 'one'), patients: 1, slices: [1, 1], size: 32, seed: 1, format: 'png' });
    const ds = await openDataset({ root: info.root });
    writeFileSync(good, readFileSync(ds.patients[0]?.slices[0]?.path as string));
    const pool = new DecodePool(1);
    try {
      await assert.rejects(pool.decode(bad), (e: Error) => e instanceof IchnetError && e.code === 'DATA_UNREADABLE' && e.message.startsWith(`${bad}: `));
      await assert.rejects(pool.decode(join(dir, 'missing.dcm')), /missing\.dcm: cannot read file/);
      assert.equal((await pool.decode(good)).kind, 'uint8');
    } finally {
      await pool.close();
    }
    await assert.rejects(pool.decode(good), /the decode pool is closed/);
  });

  it('rejects a negative or fractional size', () => {
    assert.throws(() => new DecodePool(-1), (e: Error) => e instanceof IchnetError && e.code === 'INVALID_ARGUMENT');
    assert.throws(() => new DecodePool(1.5), /expected an integer >= 0, got 1.5/);
  });

  it('gives the loader the same batches with 0, 1 or 2 workers, reusing released batches', async () => {
    const info = await writeSyntheticDataset({ out: join(dir, 'loader'), patients: 5, slices: [3, 6], size: 32, seed: 5, format: 'dicom' });
    const ds = await openDataset({ root: info.root });
    const collect = async (workers: number) => {
      const out: string[] = [];
      const options = { labels: ds.labelNames.length, patientsPerBatch: 2, maxSlices: 4, mode: 'train' as const, seed: 2, workers, augment: augmentSchema.parse({ schedule: { kind: 'constant' } }) };
      const loader = new SliceLoader(ds.patients, options);
      for await (const loaded of loader.batches(1)) {
        const { batch, items } = loaded;
        out.push(JSON.stringify([items.map((i) => [i.patient.id, i.slices]), Array.from(batch.aug ?? []), Buffer.from(batch.images.buffer).toString('base64')]));
        // Released arrays are reused by later batches (old pixels overwritten, padding zeroed).
        loader.release(loaded);
      }
      return out;
    };
    const main = await collect(0);
    assert.equal(main.length, 3);
    assert.deepEqual(await collect(1), main);
    assert.deepEqual(await collect(2), main);
  });
});

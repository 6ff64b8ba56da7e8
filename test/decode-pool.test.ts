/**
 * The decode pool: slices decoded on worker threads give pydicom's Hounsfield units and the
 * main-thread decoder's pixels, errors still name the file, and the loader's batches — decoded by
 * the workers straight into batch memory, or copied together when a slice or patient is left out
 * or has another size — equal the slices decoded one by one and do not depend on how many workers
 * decode them.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { augmentSchema } from '../src/config/augment-schema.js';
import { openDataset } from '../src/data/datasets/index.js';
import { DecodePool } from '../src/data/decode/pool.js';
import { IchnetError } from '../src/errors/ichnet-error.js';
import { SliceLoader, type LoadedBatch, type LoaderOptions } from '../src/data/loader.js';
import { readSlice } from '../src/data/slices.js';
import { nativeAddon } from '../src/session/binding.js';
import { writeSyntheticDataset } from '../src/data/synth/index.js';
import type { SliceRef } from '../src/data/types.js';
import { writeCourseFixture, writeSlice } from './helpers/fixtures.js';
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

  it('rescales HU into a view of shared batch memory, from samples in shared memory too', () => {
    const n = 1000;
    const stored = new Uint16Array(new SharedArrayBuffer(2 * n));
    for (let i = 0; i < n; i++) stored[i] = (i * 2654435761) % 4096;
    // The same call into a new array (its values are pydicom's: the first test) and into shared memory.
    const fresh = nativeAddon().storedToHu(Uint16Array.from(stored), 1, -1024, 12, false, false);
    const batch = new Int16Array(new SharedArrayBuffer(2 * (n + 8)));
    const place = new Int16Array(batch.buffer, 2 * 4, n);
    assert.equal(nativeAddon().storedToHu(stored, 1, -1024, 12, false, false, place), place);
    assert.deepEqual(Array.from(place), Array.from(fresh));
    assert.deepEqual(Array.from(batch.subarray(0, 4)), [0, 0, 0, 0], 'nothing written before the place');
    assert.deepEqual(Array.from(batch.subarray(n + 4)), [0, 0, 0, 0], 'nothing written after it');
    assert.throws(() => nativeAddon().storedToHu(stored, 1, -1024, 12, false, false, new Int16Array(n - 1)), /into has 999 elements, the samples 1000/);
  });

  it('gives the loader the same batches with 0, 1 or 2 workers, decoded in place into released batches', async () => {
    const info = await writeSyntheticDataset({ out: join(dir, 'loader'), patients: 5, slices: [3, 6], size: 32, seed: 5, format: 'dicom' });
    const ds = await openDataset({ root: info.root });
    const collect = async (workers: number) => {
      const out: string[] = [];
      const options = { labels: ds.labelNames.length, patientsPerBatch: 2, maxSlices: 4, mode: 'train' as const, seed: 2, workers, augment: augmentSchema.parse({ schedule: { kind: 'constant' } }) };
      const loader = new SliceLoader(ds.patients, options);
      for (const epoch of [1, 2]) {
        for await (const loaded of loader.batches(epoch)) {
          const { batch, items } = loaded;
          await assertDecodedOneByOne(loaded);
          out.push(JSON.stringify([items.map((i) => [i.patient.id, i.slices]), Array.from(batch.aug ?? []), Buffer.from(batch.images.buffer).toString('base64')]));
          // Released arrays are reused by later batches (old pixels overwritten, padding zeroed).
          loader.release(loaded);
        }
      }
      assert.deepEqual(loader.assembly, { inPlace: 6, copied: 0 }, `${workers} workers: every batch decoded in place`);
      return out;
    };
    const main = await collect(0);
    assert.equal(main.length, 6);
    assert.deepEqual(await collect(1), main);
    assert.deepEqual(await collect(2), main);
  });

  it('copies a batch together as in place when slices or patients are left out or differ in size', async () => {
    // 12 patients of 16² PNG slices; p2 loses a slice, p4 every slice (unreadable), p6 is 20² (a
    // batch of its own size), p9 has one 20² slice (left out), so the later batches shift.
    const fx = await writeCourseFixture(join(dir, 'odd'), [5, 6, 3, 6, 4, 6, 5, 6, 6, 5, 6, 3], 16);
    const slice = (p: number, s: number) => join(fx.root, 'train', `ID_p${p}`, `${fx.patients.get(`ID_p${p}`)?.[s]}.png`);
    writeFileSync(slice(2, 1), readFileSync(slice(2, 1)).subarray(0, 40));
    for (let s = 0; s < 4; s++) writeFileSync(slice(4, s), Buffer.from('not an image'));
    for (let s = 0; s < 5; s++) await writeSlice(slice(6, s), s, 20, 60 + s);
    await writeSlice(slice(9, 3), 3, 20, 99);
    const ds = await openDataset({ root: fx.root });
    const want = [slice(2, 1), ...[0, 1, 2, 3].map((s) => slice(4, s)), slice(9, 3)].sort();
    for (const mode of ['train', 'eval'] as const) {
      const collect = async (workers: number) => {
        const options: LoaderOptions = { labels: 5, patientsPerBatch: 2, maxSlices: 4, mode, seed: 3, workers, onError: 'skip' };
        const loader = new SliceLoader(ds.patients, options);
        const out: string[] = [];
        let held: [LoadedBatch, Buffer] | undefined;
        for (const epoch of [0, 1]) {
          for await (const loaded of loader.batches(epoch)) {
            await assertDecodedOneByOne(loaded);
            out.push(JSON.stringify([loaded.items.map((i) => [i.patient.id, i.slices]), loaded.batch.shape, Buffer.from(loaded.batch.images.buffer).toString('base64')]));
            // One batch is kept and never released: nothing may write into it afterwards.
            if (!held && loaded.batch.shape[0] === 2) held = [loaded, Buffer.from(Buffer.from(loaded.batch.images.buffer))];
            else loader.release(loaded);
          }
        }
        assert.ok(held && Buffer.from(held[0].batch.images.buffer).equals(held[1]), 'a batch not released keeps its pixels');
        assert.deepEqual(loader.skipped.map((s) => s.path).sort(), want);
        const { inPlace, copied } = loader.assembly;
        assert.ok(inPlace > 0 && copied > 0, `${mode}, ${workers} workers: both ways used (${inPlace} in place, ${copied} copied)`);
        return out;
      };
      const main = await collect(0);
      assert.deepEqual(await collect(1), main, mode);
      assert.deepEqual(await collect(2), main, mode);
    }
  });

  it('never hands out memory a consumer still reads: batches held, released, released twice', async () => {
    const info = await writeSyntheticDataset({ out: join(dir, 'reuse'), patients: 12, slices: [4, 4], size: 32, seed: 7, format: 'dicom' });
    const ds = await openDataset({ root: info.root });
    for (const workers of [0, 2]) {
      const loader = new SliceLoader(ds.patients, { labels: ds.labelNames.length, patientsPerBatch: 2, maxSlices: 4, mode: 'train', seed: 1, workers });
      // Every third batch is held to the end; the others are released at once, and released again
      // (a stale second release) two batches later, when their memory may already hold a newer batch.
      const held: Array<[LoadedBatch, Buffer]> = [];
      const seen: LoadedBatch[] = [];
      let reused = 0;
      for (const epoch of [0, 1, 2]) {
        for await (const loaded of loader.batches(epoch)) {
          const buffer = loaded.batch.images.buffer;
          for (const [h] of held) assert.notEqual(buffer, h.batch.images.buffer, `${workers} workers: a held batch's memory handed out again`);
          if (seen.some((s) => s.batch.images.buffer === buffer)) reused++;
          await assertDecodedOneByOne(loaded);
          seen.push(loaded);
          if (seen.length % 3 === 0) held.push([loaded, Buffer.from(Buffer.from(buffer))]);
          else loader.release(loaded);
          const stale = seen.at(-3);
          if (stale && !held.some(([h]) => h === stale)) loader.release(stale);
        }
      }
      for (const [h, copy] of held) assert.ok(Buffer.from(h.batch.images.buffer).equals(copy), `${workers} workers: a held batch keeps its pixels`);
      assert.equal(seen.length, 18);
      assert.ok(reused > 0, `${workers} workers: released memory is reused`);
    }
  });
});

/**
 * A batch equals its items' slices decoded one by one on this thread (`readSlice`), row b slice k
 * at (b·S + k)·plane, zeros after each row's length, the labels beside them.
 */
async function assertDecodedOneByOne({ batch, items }: LoadedBatch): Promise<void> {
  const [B, S, C, H, W] = batch.shape;
  const plane = C * H * W;
  const L = (batch.labels?.length ?? 0) / (B * S);
  assert.equal(batch.labels !== undefined, items.every((i) => i.patient.labels), 'labels exactly when every patient has them');
  assert.equal(items.length, B);
  assert.ok(batch.images.buffer instanceof SharedArrayBuffer, 'batch memory the workers can write');
  const want = batch.images instanceof Int16Array ? new Int16Array(B * S * plane) : new Uint8Array(B * S * plane);
  for (const [b, item] of items.entries()) {
    assert.equal(batch.lengths[b], item.slices.length);
    for (const [k, s] of item.slices.entries()) {
      const pixels = await readSlice((item.patient.slices[s] as SliceRef).path);
      assert.deepEqual([pixels.channels, pixels.height, pixels.width], [C, H, W]);
      want.set(pixels.data as Int16Array & Uint8Array, (b * S + k) * plane);
      if (batch.labels) assert.deepEqual(batch.labels.subarray((b * S + k) * L, (b * S + k + 1) * L), item.patient.labels?.subarray(s * L, (s + 1) * L));
    }
  }
  assert.equal(batch.images.length, want.length);
  assert.ok(Buffer.from(batch.images.buffer).equals(Buffer.from(want.buffer)), `batch of ${items.map((i) => i.patient.id).join(', ')}`);
}

/** Dataset layouts, patient splits and the batch loader on small on-disk data. */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { openDataset } from '../src/data/datasets/index.js';
import { SliceLoader, scatterToPatients } from '../src/data/loader.js';
import { kFold, trainValidationSplit } from '../src/data/split.js';
import type { PatientRecord } from '../src/data/types.js';
import { augmentSchema } from '../src/config/augment-schema.js';
import { writeCourseFixture, writeSlice } from './helpers/fixtures.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = () => tempDir('ichnet-data-');

describe('folders layout (the original course data)', () => {
  it('reads train.csv + train/<dirname>/<ID>.png with no configuration', async () => {
    const fx = await writeCourseFixture(tmp(), [3, 5, 2]);
    const ds = await openDataset({ root: fx.root });
    assert.equal(ds.format, 'folders');
    assert.deepEqual(ds.labelNames, ['ich', 'ivh', 'sah', 'sdh', 'edh']);
    assert.deepEqual(ds.patients.map((p) => p.id), [...fx.patients.keys()]);
    for (const p of ds.patients) {
      assert.deepEqual(p.slices.map((s) => s.id), fx.patients.get(p.id), 'CSV order is slice order');
      p.slices.forEach((s, k) => assert.deepEqual(Array.from(p.labels?.subarray(k * 5, k * 5 + 5) ?? []), fx.labels.get(`${p.id}/${s.id}`)));
    }
    assert.deepEqual(ds.skipped, []);
  });

  it('names a CSV row whose slice is missing, or skips and lists it', async () => {
    const fx = await writeCourseFixture(tmp(), [3, 2]);
    const gone = fx.patients.get('ID_p0')?.[1] as string;
    rmSync(join(fx.root, 'train', 'ID_p0', `${gone}.png`));
    await assert.rejects(openDataset({ root: fx.root }), new RegExp(`ID_p0/${gone}\\.\\*: slice listed at row 3 of .*train\\.csv has no file`));
    const ds = await openDataset({ root: fx.root, on_error: 'skip' });
    assert.equal(ds.skipped.length, 1);
    assert.match(ds.skipped[0]?.path ?? '', new RegExp(`${gone}`));
    assert.equal(ds.patients[0]?.slices.length, 2);
  });

  it('names a patient folder that has no labels', async () => {
    const fx = await writeCourseFixture(tmp(), [2]);
    mkdirSync(join(fx.root, 'train', 'ID_stray'));
    await writeSlice(join(fx.root, 'train', 'ID_stray', 'a.png'), 0, 24, 5);
    await assert.rejects(openDataset({ root: fx.root }), /train\/ID_stray: patient folder has no labels in .*train\.csv/);
    const ds = await openDataset({ root: fx.root, on_error: 'skip' });
    assert.deepEqual(ds.patients.map((p) => p.id), ['ID_p0']);
    assert.match(ds.skipped[0]?.reason ?? '', /no labels/);
  });

  it('reads unlabelled test folders in natural name order', async () => {
    const root = tmp();
    mkdirSync(join(root, 'case1'));
    for (const [i, name] of ['s10', 's2', 's1'].entries()) await writeSlice(join(root, 'case1', `${name}.png`), i, 16, i);
    const ds = await openDataset({ root });
    assert.deepEqual(ds.patients[0]?.slices.map((s) => s.id), ['s1', 's2', 's10']);
    assert.equal(ds.patients[0]?.labels, undefined);
  });
});

describe('manifest layout', () => {
  it('orders slices by the order column and resolves paths relative to the CSV', async () => {
    const root = tmp();
    mkdirSync(join(root, 'img'));
    for (let i = 0; i < 3; i++) await writeSlice(join(root, 'img', `${i}.png`), i, 16, i);
    writeFileSync(join(root, 'm.csv'), 'patient,order,path,a,b\nP,2,img/2.png,1,0\nP,0,img/0.png,0,0\nP,1,img/1.png,0,1\n');
    const ds = await openDataset({ root: join(root, 'm.csv') });
    assert.equal(ds.format, 'manifest');
    assert.deepEqual(ds.labelNames, ['a', 'b']);
    assert.deepEqual(ds.patients[0]?.slices.map((s) => s.path), [0, 1, 2].map((i) => join(root, 'img', `${i}.png`)));
    assert.deepEqual(Array.from(ds.patients[0]?.labels ?? []), [0, 0, 0, 1, 1, 0]);
  });
});

/** Synthetic patients (no files) with given per-patient positive labels. */
function fakePatients(n: number, L: number, positive: (i: number) => number[]): PatientRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const labels = new Uint8Array(2 * L);
    for (const l of positive(i)) labels[L + l] = 1;
    return { id: `p${i}`, slices: [{ id: 'a', path: '/a' }, { id: 'b', path: '/b' }], labels };
  });
}

describe('patient splits', () => {
  const L = 5;
  // Label 4 is rare: 3 patients of 100.
  const patients = fakePatients(100, L, (i) => [i % 4, ...(i % 33 === 5 ? [4] : [])].filter((l) => l < 4 || i % 33 === 5));

  it('splits by patient, seeded, with every label in both parts', () => {
    const a = trainValidationSplit(patients, L, 0.2, 1);
    const b = trainValidationSplit(patients, L, 0.2, 1);
    assert.deepEqual(a.validation.map((p) => p.id), b.validation.map((p) => p.id));
    assert.notDeepEqual(trainValidationSplit(patients, L, 0.2, 2).validation.map((p) => p.id), a.validation.map((p) => p.id));
    assert.equal(a.train.length + a.validation.length, 100);
    assert.equal(new Set([...a.train, ...a.validation].map((p) => p.id)).size, 100);
    assert.ok(Math.abs(a.validation.length - 20) <= 1, `${a.validation.length} validation patients`);
    const has = (ps: PatientRecord[], l: number) => ps.some((p) => p.labels?.some((v, k) => v === 1 && k % L === l));
    for (let l = 0; l < L; l++) assert.ok(has(a.train, l) && has(a.validation, l), `label ${l} in both parts`);
  });

  it('k folds partition the patients, each fold holding every label with enough positives', () => {
    const seen = new Set<string>();
    for (let f = 0; f < 3; f++) {
      const { train, validation } = kFold(patients, L, 3, f, 7);
      assert.equal(train.length + validation.length, 100);
      for (const p of validation) {
        assert.ok(!seen.has(p.id));
        seen.add(p.id);
      }
      for (let l = 0; l < L; l++) assert.ok(validation.some((p) => p.labels?.some((v, k) => v === 1 && k % L === l)), `fold ${f} label ${l}`);
    }
    assert.equal(seen.size, 100);
  });
});

describe('loader', () => {
  it('windows series in training, chunks and stitches them in evaluation', async () => {
    const fx = await writeCourseFixture(tmp(), [7, 3, 5], 16);
    const ds = await openDataset({ root: fx.root });
    const evalLoader = new SliceLoader(ds.patients, { labels: 5, patientsPerBatch: 2, maxSlices: 4, mode: 'eval', seed: 1 });
    const stitched = new Map<string, Float32Array>();
    let rows = 0;
    for await (const loaded of evalLoader.batches()) {
      const [B, S, C, H, W] = loaded.batch.shape;
      assert.deepEqual([C, H, W], [1, 16, 16]);
      assert.ok(S <= 4);
      rows += B;
      // Pixel (0, 0) of each slice holds its index in the series: write it out as the "logit".
      const values = new Float32Array(B * S * 5);
      for (let b = 0; b < B; b++) for (let s = 0; s < (loaded.batch.lengths[b] as number); s++) values.fill((loaded.batch.images as Uint8Array)[(b * S + s) * H * W] as number, (b * S + s) * 5, (b * S + s + 1) * 5);
      scatterToPatients(loaded, values, 5, stitched);
      // Labels travel with their slices.
      loaded.items.forEach((item, b) =>
        item.slices.forEach((s, k) => assert.deepEqual(Array.from(loaded.batch.labels?.subarray((b * S + k) * 5, (b * S + k + 1) * 5) ?? []), Array.from(item.patient.labels?.subarray(s * 5, s * 5 + 5) ?? []))),
      );
    }
    assert.equal(rows, evalLoader.sequencesPerEpoch);
    assert.equal(rows, 2 + 1 + 2);
    for (const p of ds.patients) assert.deepEqual(Array.from(stitched.get(p.id) ?? []).filter((_, i) => i % 5 === 0), p.slices.map((_, s) => s));

    const trainLoader = new SliceLoader(ds.patients, { labels: 5, patientsPerBatch: 2, maxSlices: 4, mode: 'train', seed: 1, augment: augmentSchema.parse({}) });
    for await (const { batch, items } of trainLoader.batches(0)) {
      assert.ok(batch.aug && batch.aug.length === items.length * 8);
      for (const item of items) {
        assert.equal(item.slices.length, Math.min(4, item.patient.slices.length));
        assert.deepEqual(item.slices, item.slices.map((_, k) => (item.slices[0] as number) + k), 'a contiguous window');
      }
    }
  });

  it('gives identical batches for identical seeds and different ones across epochs', async () => {
    const fx = await writeCourseFixture(tmp(), [6, 6, 6, 6], 16);
    const ds = await openDataset({ root: fx.root });
    const options = { labels: 5, patientsPerBatch: 2, maxSlices: 3, mode: 'train' as const, seed: 9, augment: augmentSchema.parse({ schedule: { kind: 'constant' } }) };
    const collect = async (epoch: number) => {
      const out: string[] = [];
      for await (const { batch, items } of new SliceLoader(ds.patients, options).batches(epoch)) {
        out.push(JSON.stringify([items.map((i) => [i.patient.id, i.slices]), Array.from(batch.aug ?? []), Buffer.from(batch.images.buffer).toString('base64')]));
      }
      return out;
    };
    const first = await collect(0);
    assert.deepEqual(await collect(0), first);
    assert.notDeepEqual(await collect(1), first);
  });

  it('names a corrupt slice, or skips it and lists it once', async () => {
    const fx = await writeCourseFixture(tmp(), [4], 16);
    const bad = join(fx.root, 'train', 'ID_p0', `${fx.patients.get('ID_p0')?.[2]}.png`);
    writeFileSync(bad, readFileSync(bad).subarray(0, 40));
    const ds = await openDataset({ root: fx.root });
    const strict = new SliceLoader(ds.patients, { labels: 5, patientsPerBatch: 1, maxSlices: 8, mode: 'eval', seed: 0 });
    await assert.rejects(async () => {
      for await (const _ of strict.batches()) void _;
    }, new RegExp(`${bad.replace(/[.]/g, '\\.')}: `));
    const lenient = new SliceLoader(ds.patients, { labels: 5, patientsPerBatch: 1, maxSlices: 8, mode: 'eval', seed: 0, onError: 'skip' });
    for (let epoch = 0; epoch < 2; epoch++) {
      for await (const { batch, items } of lenient.batches(epoch)) {
        assert.deepEqual(Array.from(batch.lengths), [3]);
        assert.deepEqual(items[0]?.slices, [0, 1, 3]);
      }
    }
    assert.deepEqual(lenient.skipped.map((s) => s.path), [bad]);
  });

  it('leaves out a series whose slices differ in size, naming the slice', async () => {
    const fx = await writeCourseFixture(tmp(), [3], 16);
    const odd = join(fx.root, 'train', 'ID_p0', `${fx.patients.get('ID_p0')?.[1]}.png`);
    await writeSlice(odd, 1, 20, 3);
    const ds = await openDataset({ root: fx.root });
    const loader = new SliceLoader(ds.patients, { labels: 5, patientsPerBatch: 1, maxSlices: 8, mode: 'eval', seed: 0 });
    await assert.rejects(async () => {
      for await (const _ of loader.batches()) void _;
    }, /slice is uint8:1:20x20 but the series' first slice is uint8:1:16x16/);
  });
});

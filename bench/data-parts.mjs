#!/usr/bin/env node
/**
 * Where the data row's time goes: the same work as `npm run bench -- --only data` on ichnet's side,
 * taken apart with wall and CPU timers (ichnet only; uses the compiled package in dist/).
 *
 *   node bench/data-parts.mjs [--root DIR] [--patients 16] [--threads 2] [--reps 3]
 *
 * DIR defaults to the 512² set `npm run bench` generates ($TMPDIR/ichnet-bench-data/dicom512-…).
 * Prints, per repetition: SliceLoader alone (decode → batches); preprocess() alone on those
 * batches at 1 thread and at --threads; and both together as the bench runs them. CPU times are
 * the whole process's (user and system), per slice. Set OMP_WAIT_POLICY=PASSIVE as the bench does.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { openDataset, preprocess } from '../dist/src/index.js';
import { augmentSchema } from '../dist/src/config/augment-schema.js';
import { SliceLoader } from '../dist/src/data/loader.js';

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    patients: { type: 'string', default: '16' },
    threads: { type: 'string', default: '2' },
    reps: { type: 'string', default: '3' },
  },
});
const dataDir = join(tmpdir(), 'ichnet-bench-data');
const root = values.root ?? join(dataDir, readdirSync(dataDir).find((d) => d.startsWith('dicom512-')) ?? 'dicom512');
const threads = Number(values.threads);
const augment = augmentSchema.parse({ schedule: { kind: 'constant' } });
const dataset = await openDataset({ format: 'folders', root });
const loader = new SliceLoader(dataset.patients.slice(0, Number(values.patients)), {
  labels: dataset.labelNames.length,
  patientsPerBatch: 2,
  maxSlices: 24,
  mode: 'train',
  seed: 3,
  augment,
});

/** Runs fn, returns wall ms and process CPU ms (user, system). */
async function timed(fn) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, user: c.user / 1000, system: c.system / 1000 };
}
const perSlice = (label, t, n) =>
  console.log(`  ${label.padEnd(34)} ${(n / t.wall * 1000).toFixed(0).padStart(5)} slices/s   CPU/slice: user ${(t.user / n).toFixed(2)} ms, system ${(t.system / n).toFixed(2)} ms`);

for (let rep = 0; rep < Number(values.reps); rep++) {
  console.log(`repetition ${rep} (${root})`);
  const batches = [];
  let n = 0;
  perSlice('SliceLoader alone', await timed(async () => {
    for await (const { batch } of loader.batches(rep)) {
      batches.push(batch);
      n += batch.lengths.reduce((a, v) => a + v, 0);
    }
  }), n);
  for (const t of [...new Set([1, threads])]) {
    perSlice(`preprocess() alone, ${t} thread(s)`, await timed(async () => {
      for (const b of batches) await preprocess(b, { prep: { input_size: 224 }, threads: t });
    }), n);
  }
  perSlice(`both, as the bench (${threads} threads)`, await timed(async () => {
    for await (const { batch } of loader.batches(rep)) await preprocess(batch, { prep: { input_size: 224 }, threads });
  }), n);
}

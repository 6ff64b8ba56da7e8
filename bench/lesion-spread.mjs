#!/usr/bin/env node
/**
 * How far a lesion's effect reaches through the backbone, block by block, and how much of a
 * Grad-CAM map is that effect: writes fresh synthetic phantoms with a run's own settings (each
 * patient rendered as is, with no lesions, and with each lesion type alone) and hands them to
 * bench/lesion_spread.py, which runs the tests' independent PyTorch model with the run's weights
 * (or, with --init, the initialisation training starts from) and prints the tables. docs/EXPLAIN.md
 * records the measurements.
 *
 *   node bench/lesion-spread.mjs --checkpoint RUN [--patients 16] [--seed 9001] [--input-size N] [--init]
 *
 * The interpreter is ICHNET_PYTHON or /usr/bin/python3 (Debian's, with torch).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { generatePatient, patientSeed } from '../dist/src/data/synth/index.js';
import { openCheckpoint } from '../dist/src/train/checkpoint.js';
import { findCheckpoint } from '../dist/src/train/run-dir.js';
import { syntheticPhantomOptions } from '../dist/src/train/synthetic.js';

function parseArgs(argv) {
  const o = { checkpoint: '', patients: 16, seed: 9001, inputSize: 0, init: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--checkpoint') o.checkpoint = argv[++i];
    else if (a === '--patients') o.patients = Number(argv[++i]);
    else if (a === '--seed') o.seed = Number(argv[++i]);
    else if (a === '--input-size') o.inputSize = Number(argv[++i]);
    else if (a === '--init') o.init = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.checkpoint) throw new Error('--checkpoint RUN is required (its config and, without --init, its weights)');
  if (!(Number.isInteger(o.patients) && o.patients > 0)) throw new Error(`--patients ${o.patients}: a positive integer`);
  if (o.inputSize !== 0 && !(Number.isInteger(o.inputSize) && o.inputSize >= 32 && o.inputSize % 32 === 0)) throw new Error(`--input-size ${o.inputSize}: a multiple of 32`);
  return o;
}

/** A series' slices as one little-endian int16 block (HU), slice after slice. */
const block = (slices) => {
  const n = slices[0].length;
  const out = new Int16Array(slices.length * n);
  slices.forEach((s, k) => out.set(s, k * n));
  return out;
};

const o = parseArgs(process.argv.slice(2));
const opened = await openCheckpoint(o.checkpoint);
const dir = await mkdtemp(join(tmpdir(), 'ichnet-lesion-spread-'));
try {
  const { labels, thresholds } = opened.state;
  const config = opened.config;
  const phantom = syntheticPhantomOptions(config.synthetic);
  const patients = [];
  for (let i = 0; i < o.patients; i++) {
    const seed = patientSeed(o.seed, i);
    const full = generatePatient({ ...phantom, seed });
    await writeFile(join(dir, `p${i}_full.bin`), block(full.slices));
    await writeFile(join(dir, `p${i}_plain.bin`), block(generatePatient({ ...phantom, seed, drawLesions: false }).slices));
    for (const type of labels) await writeFile(join(dir, `p${i}_${type}.bin`), block(generatePatient({ ...phantom, seed, drawLesions: [type] }).slices));
    patients.push({ slices: full.slices.length, size: full.cols, labels: Array.from(full.labels) });
  }
  const weights = o.init ? null : join(findCheckpoint(o.checkpoint), 'model.safetensors');
  const inputSize = o.inputSize || config.prep.input_size;
  await writeFile(join(dir, 'meta.json'), JSON.stringify({ labels, thresholds, config, weights, inputSize, seed: o.seed, patients }));
  const python = process.env.ICHNET_PYTHON ?? '/usr/bin/python3';
  const script = join(dirname(fileURLToPath(import.meta.url)), 'lesion_spread.py');
  const r = spawnSync(python, [script, dir], { stdio: 'inherit' });
  if (r.error) throw r.error;
  process.exitCode = r.status ?? 1;
} finally {
  await opened.session.close();
  await rm(dir, { recursive: true, force: true });
}

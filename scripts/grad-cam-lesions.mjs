#!/usr/bin/env node
/**
 * How much of the Grad-CAM mass falls on the lesion: on fresh synthetic phantoms, whose lesion
 * masks are known, for every true-positive slice and label (the label is on the slice and the model
 * says so at its threshold), the share of the map (upsampled to the slice's pixels, bilinear) that
 * lies inside the lesion's mask dilated by `--dilate` pixels. Prints the median and quartiles per
 * label and overall, with the share of the head the masks cover as a chance level (docs/EXPLAIN.md).
 *
 *   node scripts/grad-cam-lesions.mjs --checkpoint RUN [--patients 40] [--seed 9001] [--dilate 2] [--json]
 *
 * The phantoms are written with the run's own synthetic settings (size, slices) under a fresh seed;
 * a lesion type's mask on a slice is the set of pixels that differ between the phantom rendered with
 * only that type's lesions and rendered with none (everything else is identical between renders).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openDataset } from '../dist/src/data/datasets/index.js';
import { generatePatient, patientSeed, syntheticPatientId, defaultIdPrefix, writeSyntheticDataset } from '../dist/src/data/synth/index.js';
import { patientGradCam } from '../dist/src/explain/grad-cam.js';
import { resizeBilinear } from '../dist/src/explain/overlay.js';
import { mapOf } from '../dist/src/explain/write.js';
import { openCheckpoint } from '../dist/src/train/checkpoint.js';

function parseArgs(argv) {
  const o = { checkpoint: '', patients: 40, seed: 9001, dilate: 2, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--checkpoint') o.checkpoint = argv[++i];
    else if (a === '--patients') o.patients = Number(argv[++i]);
    else if (a === '--seed') o.seed = Number(argv[++i]);
    else if (a === '--dilate') o.dilate = Number(argv[++i]);
    else if (a === '--json') o.json = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.checkpoint) throw new Error('--checkpoint RUN is required');
  return o;
}

/** Pixels within `r` (Chebyshev distance) of a mask pixel. */
function dilate(mask, n, r) {
  if (r <= 0) return mask;
  const out = new Uint8Array(mask.length);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if (!mask[y * n + x]) continue;
      for (let yy = Math.max(0, y - r); yy <= Math.min(n - 1, y + r); yy++) for (let xx = Math.max(0, x - r); xx <= Math.min(n - 1, x + r); xx++) out[yy * n + xx] = 1;
    }
  }
  return out;
}

const quantile = (sorted, q) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]);

const o = parseArgs(process.argv.slice(2));
const opened = await openCheckpoint(o.checkpoint);
const { labels, thresholds, config } = { ...opened.state, config: opened.config };
const syn = config.synthetic;
const dir = await mkdtemp(join(tmpdir(), 'ichnet-cam-lesions-'));
try {
  // The run's own phantom settings (as src/train/synthetic.ts passes them), under a fresh seed.
  const phantomOptions = { slices: syn.slices, size: syn.size, ...(syn.prevalence ? { prevalence: syn.prevalence } : {}), ...(syn.noise ? { noiseSigma: syn.noise } : {}) };
  await writeSyntheticDataset({ out: dir, patients: o.patients, seed: o.seed, format: 'dicom', ...phantomOptions });
  const dataset = await openDataset({ root: dir });
  const prefix = defaultIdPrefix(o.seed);
  const shares = Object.fromEntries(labels.map((l) => [l, []]));
  const chance = Object.fromEntries(labels.map((l) => [l, []]));
  let tpSlices = 0;
  for (let index = 0; index < o.patients; index++) {
    const id = syntheticPatientId(prefix, index, o.patients);
    const patient = dataset.patients.find((p) => p.id === id);
    if (!patient) throw new Error(`patient ${id} missing from the written set`);
    const seed = patientSeed(o.seed, index);
    const plain = generatePatient({ ...phantomOptions, seed, drawLesions: false });
    const n = plain.cols;
    const cam = await patientGradCam(opened.session, patient, { labels: labels.length, maxSlices: config.train.eval_max_slices });
    const L = labels.length;
    const masks = new Map();
    for (let l = 0; l < L; l++) {
      for (let s = 0; s < patient.slices.length; s++) {
        const truth = patient.labels?.[s * L + l] === 1;
        const p = cam.probs[s * L + l];
        if (!truth || !(p >= thresholds[l])) continue;
        const type = labels[l];
        if (!masks.has(type)) masks.set(type, generatePatient({ ...phantomOptions, seed, drawLesions: [type] }));
        const drawn = masks.get(type).slices[s];
        const base = plain.slices[s];
        const mask = new Uint8Array(n * n);
        for (let i = 0; i < mask.length; i++) mask[i] = drawn[i] !== base[i] ? 1 : 0;
        const region = dilate(mask, n, o.dilate);
        const heat = resizeBilinear(mapOf(cam, s, l), cam.height, cam.width, n, n);
        let inside = 0;
        let total = 0;
        for (let i = 0; i < heat.length; i++) {
          total += heat[i];
          if (region[i]) inside += heat[i];
        }
        // The head: every pixel the lesion-free render does not leave as air.
        let head = 0;
        let regionInHead = 0;
        for (let i = 0; i < base.length; i++) {
          if (base[i] > -500) {
            head++;
            if (region[i]) regionInHead++;
          }
        }
        shares[type].push(total > 0 ? inside / total : 0);
        chance[type].push(regionInHead / Math.max(1, head));
        tpSlices++;
      }
    }
  }
  const summarise = (values) => {
    const s = [...values].sort((a, b) => a - b);
    return { n: s.length, median: quantile(s, 0.5), q1: quantile(s, 0.25), q3: quantile(s, 0.75) };
  };
  const all = Object.values(shares).flat();
  const result = {
    checkpoint: o.checkpoint,
    patients: o.patients,
    seed: o.seed,
    dilate: o.dilate,
    map: `${cam0(opened)}`,
    overall: { share: summarise(all), chance: summarise(Object.values(chance).flat()) },
    perLabel: Object.fromEntries(labels.map((l) => [l, { share: summarise(shares[l]), chance: summarise(chance[l]) }])),
    truePositiveSlices: tpSlices,
  };
  if (o.json) console.log(JSON.stringify(result, null, 2));
  else {
    const f = (v) => (Number.isNaN(v) ? '—' : v.toFixed(3));
    console.log(`Grad-CAM mass inside the lesion (dilated ${o.dilate} px) on true-positive slices, ${o.patients} fresh phantoms (seed ${o.seed})`);
    console.log('label   n    median  q1     q3     | chance median');
    for (const l of [...labels, 'all']) {
      const r = l === 'all' ? result.overall : result.perLabel[l];
      console.log(`${l.padEnd(7)} ${String(r.share.n).padEnd(4)} ${f(r.share.median)}   ${f(r.share.q1)}  ${f(r.share.q3)}  | ${f(r.chance.median)}`);
    }
  }
} finally {
  await opened.session.close();
  await rm(dir, { recursive: true, force: true });
}

function cam0(op) {
  const size = op.config.prep.input_size;
  return `${size / 16}×${size / 16} (input ${size}×${size})`;
}

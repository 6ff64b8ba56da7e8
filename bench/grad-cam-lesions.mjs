#!/usr/bin/env node
/**
 * How much of the Grad-CAM mass falls on the lesion: on fresh synthetic phantoms, whose lesion
 * masks are known, for every true-positive slice and label (the label is on the slice and the model
 * says so at its threshold), the share of the map (upsampled bilinearly onto the region of the
 * slice's pixels the model saw: the whole slice, or its series' head box with `prep.crop: head`)
 * that lies inside the lesion's mask dilated by each radius of `--dilate` (`cell`: half a map cell
 * in the slice's pixels). Prints per label and overall the median and quartiles, and beside them:
 *
 * - `ceiling`: the largest share any non-negative map of this resolution could reach on that slice
 *   (the share is a ratio of two linear functions of the map cells, so its maximum is a map with a
 *   single hot cell: the best cell's upsampled footprint);
 * - `chance`: the share of the head the dilated mask covers (a map spread evenly over the head);
 * - `hit`: how often the map's hottest pixel lies in the dilated mask (the pointing game);
 * - `any`: the share inside the dilated union of every lesion on the slice, whatever its type (a
 *   map that finds another type's lesion counts here, not in the share);
 * - `outside head`: the share on the air around the head, where no lesion can be.
 *
 *   node bench/grad-cam-lesions.mjs --checkpoint RUN [--patients 40] [--seed 9001] [--dilate 2,cell] [--json]
 *
 * The phantoms are written with the run's own synthetic settings under a fresh seed; a lesion type's
 * mask on a slice is the set of pixels that differ between the phantom rendered with only that
 * type's lesions and rendered with none (everything else, noise included, is identical between the
 * renders). docs/EXPLAIN.md records the measurements.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openDataset } from '../dist/src/data/datasets/index.js';
import { defaultIdPrefix, generatePatient, patientSeed, syntheticPatientId, writeSyntheticDataset } from '../dist/src/data/synth/index.js';
import { patientGradCam } from '../dist/src/explain/grad-cam.js';
import { resizeBilinear } from '../dist/src/explain/overlay.js';
import { boxOf, mapOf } from '../dist/src/explain/write.js';
import { openCheckpoint } from '../dist/src/train/checkpoint.js';
import { syntheticPhantomOptions } from '../dist/src/train/synthetic.js';

function parseArgs(argv) {
  const o = { checkpoint: '', patients: 40, seed: 9001, dilate: ['2', 'cell'], json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--checkpoint') o.checkpoint = argv[++i];
    else if (a === '--patients') o.patients = Number(argv[++i]);
    else if (a === '--seed') o.seed = Number(argv[++i]);
    else if (a === '--dilate') o.dilate = String(argv[++i]).split(',');
    else if (a === '--json') o.json = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.checkpoint) throw new Error('--checkpoint RUN is required');
  for (const r of o.dilate) if (r !== 'cell' && !(Number.isInteger(Number(r)) && Number(r) >= 0)) throw new Error(`--dilate ${r}: a radius in pixels (0, 1, …) or 'cell'`);
  return o;
}

/** Pixels within Chebyshev distance `r` of a mask pixel (a square structuring element: separable). */
function dilate(mask, n, r) {
  if (r <= 0) return mask;
  const pass = (src, at) => {
    const out = new Uint8Array(n * n);
    const prefix = new Int32Array(n + 1);
    for (let line = 0; line < n; line++) {
      for (let k = 0; k < n; k++) prefix[k + 1] = prefix[k] + src[at(line, k)];
      for (let k = 0; k < n; k++) out[at(line, k)] = prefix[Math.min(n, k + r + 1)] - prefix[Math.max(0, k - r)] > 0 ? 1 : 0;
    }
    return out;
  };
  return pass(pass(mask, (y, x) => y * n + x), (x, y) => y * n + x);
}

/** The pixels where two renders of a slice differ. */
function differing(a, b) {
  const mask = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) mask[i] = a[i] !== b[i] ? 1 : 0;
  return mask;
}

/** Mass of `heat` inside `region`, as a share of its total. */
function shareIn(heat, region) {
  let inside = 0;
  let total = 0;
  for (let i = 0; i < heat.length; i++) {
    total += heat[i];
    if (region[i]) inside += heat[i];
  }
  return total > 0 ? inside / total : 0;
}

const quantile = (sorted, q) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]);
const summarise = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, median: quantile(s, 0.5), q1: quantile(s, 0.25), q3: quantile(s, 0.75) };
};
const mean = (values) => (values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length);

const o = parseArgs(process.argv.slice(2));
const opened = await openCheckpoint(o.checkpoint);
const { labels, thresholds } = opened.state;
const config = opened.config;
const phantomOptions = syntheticPhantomOptions(config.synthetic);
const dir = await mkdtemp(join(tmpdir(), 'ichnet-cam-lesions-'));
try {
  await writeSyntheticDataset({ out: dir, patients: o.patients, seed: o.seed, format: 'dicom', ...phantomOptions });
  const dataset = await openDataset({ root: dir });
  const prefix = defaultIdPrefix(o.seed);
  const L = labels.length;
  const basesByBox = new Map(); // per box the maps cover: per map cell, its upsampled footprint on the slice's pixels
  let cells = 0;
  let cellPx = []; // per row: a map cell's width in the slice's pixels
  const rows = []; // one per true-positive (slice, label)
  let positives = 0;
  for (let index = 0; index < o.patients; index++) {
    const id = syntheticPatientId(prefix, index, o.patients);
    const patient = dataset.patients.find((p) => p.id === id);
    if (!patient) throw new Error(`patient ${id} missing from the written set`);
    const seed = patientSeed(o.seed, index);
    const full = generatePatient({ ...phantomOptions, seed });
    // The slices as read must be the slices as generated, or the masks would fall on other slices.
    if (full.slices.length !== patient.slices.length || full.labels.some((v, i) => v !== patient.labels?.[i])) throw new Error(`${id}: the slices read differ from the phantom's`);
    const plain = generatePatient({ ...phantomOptions, seed, drawLesions: false });
    const n = plain.cols;
    const cam = await patientGradCam(opened.session, patient, { labels: L, maxSlices: config.train.eval_max_slices });
    cells = cam.height * cam.width;
    const byType = new Map();
    for (let l = 0; l < L; l++) {
      for (let s = 0; s < patient.slices.length; s++) {
        if (patient.labels?.[s * L + l] !== 1) continue;
        positives++;
        if (!(cam.probs[s * L + l] >= thresholds[l])) continue;
        const type = labels[l];
        if (!byType.has(type)) byType.set(type, generatePatient({ ...phantomOptions, seed, drawLesions: [type] }));
        const base = plain.slices[s];
        const mask = differing(byType.get(type).slices[s], base);
        const anyMask = differing(full.slices[s], base);
        const box = boxOf(cam, s);
        const key = box.join(',');
        if (!basesByBox.has(key)) basesByBox.set(key, Array.from({ length: cells }, (_, c) => resizeBilinear(Float32Array.from({ length: cells }, (_, k) => (k === c ? 1 : 0)), cam.height, cam.width, n, n, box)));
        const bases = basesByBox.get(key);
        const cell = Math.max(box[2] - box[0], box[3] - box[1]) / Math.max(cam.height, cam.width);
        cellPx.push(cell);
        const radii = o.dilate.map((r) => (r === 'cell' ? Math.round(cell / 2) : Number(r)));
        const heat = resizeBilinear(mapOf(cam, s, l), cam.height, cam.width, n, n, box);
        let hottest = 0;
        for (let i = 1; i < heat.length; i++) if (heat[i] > heat[hottest]) hottest = i;
        // The head: every pixel the lesion-free render does not leave as air.
        const inHead = base.map((v) => (v > -500 ? 1 : 0));
        const head = inHead.reduce((a, b) => a + b, 0);
        const row = { label: type, patient: id, slice: s, lesionPixels: mask.reduce((a, b) => a + b, 0), probability: cam.probs[s * L + l], outsideHead: shareIn(heat, inHead.map((v) => 1 - v)), byRadius: [] };
        for (const r of radii) {
          const region = dilate(mask, n, r);
          let regionInHead = 0;
          for (let i = 0; i < base.length; i++) if (inHead[i] && region[i]) regionInHead++;
          let ceiling = 0;
          for (const b of bases) ceiling = Math.max(ceiling, shareIn(b, region));
          row.byRadius.push({
            radius: r,
            share: shareIn(heat, region),
            any: shareIn(heat, dilate(anyMask, n, r)),
            ceiling,
            chance: regionInHead / Math.max(1, head),
            hit: region[hottest] === 1 && heat[hottest] > 0,
          });
        }
        rows.push(row);
      }
    }
  }
  const report = (subset) =>
    o.dilate.map((radius, k) => {
      const at = subset.map((r) => r.byRadius[k]);
      return {
        radius,
        share: summarise(at.map((v) => v.share)),
        any: summarise(at.map((v) => v.any)),
        ceiling: summarise(at.map((v) => v.ceiling)),
        chance: summarise(at.map((v) => v.chance)),
        hit: mean(at.map((v) => (v.hit ? 1 : 0))),
      };
    });
  const size = config.prep.input_size;
  const result = {
    checkpoint: o.checkpoint,
    patients: o.patients,
    seed: o.seed,
    map: { height: Math.sqrt(cells), input: size, slice: config.synthetic.size, crop: config.prep.crop, cellPixels: summarise(cellPx) },
    positiveSlices: positives,
    truePositiveSlices: rows.length,
    outsideHead: summarise(rows.map((r) => r.outsideHead)),
    overall: report(rows),
    perLabel: Object.fromEntries(labels.map((l) => [l, report(rows.filter((r) => r.label === l))])),
    ...(o.json ? { rows } : {}),
  };
  if (o.json) console.log(JSON.stringify(result, null, 2));
  else {
    const f = (v) => (Number.isNaN(v) ? '—' : v.toFixed(2));
    const q = (s) => `${f(s.median)} [${f(s.q1)}, ${f(s.q3)}]`;
    console.log(`Grad-CAM mass inside the lesion on ${rows.length} true-positive slice-labels of ${positives} positive ones, ${o.patients} fresh phantoms (seed ${o.seed}); maps ${size / 16}×${size / 16} of a ${size}² input, slices ${config.synthetic.size}², prep.crop ${config.prep.crop}; a map cell is ${q(result.map.cellPixels)} px of the slice`);
    console.log(`share of the map outside the head: ${q(result.outsideHead)}`);
    o.dilate.forEach((radius, k) => {
      console.log(`\ndilated ${radius === 'cell' ? 'half a cell' : `${radius} px`} — median [q1, q3]`);
      console.log('label  n    share               ceiling             chance              any lesion          hit');
      for (const l of [...labels, 'all']) {
        const r = (l === 'all' ? result.overall : result.perLabel[l])[k];
        console.log(`${l.padEnd(6)} ${String(r.share.n).padEnd(4)} ${q(r.share).padEnd(19)} ${q(r.ceiling).padEnd(19)} ${q(r.chance).padEnd(19)} ${q(r.any).padEnd(19)} ${f(r.hit)}`);
      }
    });
  }
} finally {
  await opened.session.close();
  await rm(dir, { recursive: true, force: true });
}

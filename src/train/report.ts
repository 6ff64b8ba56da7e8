/** Builds the run report (report.html) from a finished run: metrics, curves and sample slices. */
import { availableParallelism } from 'node:os';

import type { ExperimentConfig } from '../config/experiment-schema.js';
import { SliceLoader } from '../data/loader.js';
import type { PatientRecord, SkippedItem } from '../data/types.js';
import { averagePrecision, precisionRecallCurves } from '../metrics/index.js';
import type { LevelReport } from '../metrics/index.js';
import { preprocess } from '../prep/preprocess.js';
import { chunkOf } from '../explain/grad-cam.js';
import { normalised, overlayHeat, resizeBilinear } from '../explain/overlay.js';
import { slicePng, writeReport, type LevelMetrics, type SampleExplanation, type SampleSlice } from '../report/index.js';
import type { Session } from '../session/session.js';
import type { Inference } from './infer.js';
import { scoredRows, type Scores } from './scores.js';
import type { TrainState } from './state.js';

function toLevel(labels: string[], r: LevelReport): LevelMetrics {
  const per = <T>(rec: Record<string, T>) => labels.map((l) => rec[l] as T);
  const level: LevelMetrics = {
    f2: { micro: r.f2.micro, macro: r.f2.macro, samples: r.f2.samples, perLabel: per(r.f2.perLabel) },
    precision: { perLabel: per(r.precision) },
    recall: { perLabel: per(r.recall) },
    auc: { macro: r.auc.macro ?? Number.NaN, perLabel: per(r.auc.perLabel).map((v) => v ?? Number.NaN) },
    counts: { perLabel: per(r.counts) },
  };
  if (r.logLoss !== undefined) level.logLoss = r.logLoss;
  return level;
}

/**
 * Picks up to `count` validation slices for the sample grid — for each label its most confident
 * positive, then the most confident wrong calls — and renders them as the model saw them (windows
 * as RGB, after CLAHE and resizing, before normalisation).
 */
async function sampleSlices(config: ExperimentConfig, session: Session, labels: string[], patients: PatientRecord[], probs: Map<string, Float32Array>, thresholds: number[], count: number): Promise<SampleSlice[]> {
  if (count === 0) return [];
  const L = labels.length;
  const candidates: { patient: PatientRecord; slice: number; score: number }[] = [];
  for (const p of patients) {
    const pr = probs.get(p.id);
    if (!pr || !p.labels) continue;
    for (let s = 0; s < p.slices.length; s++) {
      for (let l = 0; l < L; l++) {
        const v = pr[s * L + l] as number;
        if (Number.isNaN(v)) continue;
        const truth = p.labels[s * L + l] === 1;
        const wrong = truth !== v >= (thresholds[l] as number);
        candidates.push({ patient: p, slice: s, score: (wrong ? 2 : 0) + (truth ? 1 + l / L : 0) + (truth ? v : 1 - v) * 0.01 });
      }
    }
  }
  candidates.sort((a, b) => b.score - a.score);
  const chosen: { patient: PatientRecord; slice: number }[] = [];
  const key = (c: { patient: PatientRecord; slice: number }) => `${c.patient.id}/${c.slice}`;
  const seen = new Set<string>();
  for (const c of candidates) {
    if (chosen.length >= count) break;
    if (seen.has(key(c))) continue;
    seen.add(key(c));
    chosen.push(c);
  }
  // The chosen slices by the chunk of the series prediction puts them in: each chunk is read,
  // preprocessed and run through Grad-CAM once, for all of its samples and their labels (so each
  // slice shows the region its map covers: prep.crop's box is per chunk).
  const groups = new Map<string, { chunk: PatientRecord; start: number; picks: { order: number; patient: PatientRecord; slice: number }[] }>();
  chosen.forEach((c, order) => {
    const { chunk, start } = chunkOf(c.patient, c.slice, config.train.eval_max_slices);
    const key = `${c.patient.id}\0${start}`;
    const group = groups.get(key) ?? { chunk, start, picks: [] };
    group.picks.push({ order, ...c });
    groups.set(key, group);
  });
  const size = config.prep.input_size;
  const plane = size * size;
  const out: (SampleSlice | undefined)[] = new Array(chosen.length);
  for (const { chunk, start, picks } of groups.values()) {
    const loader = new SliceLoader([chunk], { labels: L, patientsPerBatch: 1, maxSlices: config.train.eval_max_slices, mode: 'eval', seed: 0, onError: 'skip' });
    for await (const { batch, items } of loader.batches()) {
      const shownImage = await preprocess(batch, { prep: { ...config.prep, mean: [0, 0, 0], std: [1, 1, 1] }, threads: availableParallelism() });
      const samples = picks.flatMap((c) => {
        const k = items[0]?.slices.indexOf(c.slice - start) ?? -1;
        if (k < 0) return [];
        const seen3 = shownImage.subarray(k * 3 * plane, (k + 1) * 3 * plane);
        const rgb = new Uint8Array(plane * 3);
        for (let i = 0; i < plane; i++) for (let ch = 0; ch < 3; ch++) rgb[i * 3 + ch] = Math.round(Math.min(1, Math.max(0, seen3[ch * plane + i] as number)) * 255);
        const pr = probs.get(c.patient.id) as Float32Array;
        const sliceProbs = Array.from(pr.subarray(c.slice * L, (c.slice + 1) * L));
        const truth = Array.from(c.patient.labels?.subarray(c.slice * L, (c.slice + 1) * L) ?? []);
        return [{ ...c, k, rgb, sliceProbs, truth, shown: shownLabels(sliceProbs, truth, thresholds) }];
      });
      if (samples.length === 0) continue;
      const { labels: _unused, ...unlabelled } = batch;
      const cam = await session.gradCam(unlabelled, Int32Array.from(samples.flatMap((c) => c.shown.flatMap((l) => [0, c.k, l]))));
      const [, height, width] = cam.mapShape;
      let first = 0; // the maps come in the targets' order: each sample's shown labels in turn
      for (const c of samples) {
        const at = first;
        first += c.shown.length;
        out[c.order] = {
          patient: c.patient.id,
          slice: c.patient.slices[c.slice]?.id ?? String(c.slice),
          png: await slicePng(c.rgb, size, size, 3),
          width: size,
          height: size,
          truth: c.truth,
          probs: c.sliceProbs,
          explanations: await Promise.all(
            c.shown.map(async (l, j) => {
              const map = cam.maps.subarray((at + j) * height * width, (at + j + 1) * height * width);
              return { label: labels[l] as string, png: await slicePng(overlayHeat(c.rgb, resizeBilinear(normalised(map), height, width, size, size), 0.5, 3), size, size, 3) };
            }),
          ),
        };
      }
    }
  }
  return out.filter((s): s is SampleSlice => s !== undefined);
}

/** The labels a sample slice's Grad-CAM overlays show: those present or predicted there, else its most probable one. */
function shownLabels(probs: number[], truth: number[], thresholds: number[]): number[] {
  const shown = probs.map((_, l) => l).filter((l) => truth[l] === 1 || (probs[l] as number) >= (thresholds[l] as number));
  return shown.length > 0 ? shown : [probs.indexOf(Math.max(...probs))];
}

export interface ReportContext {
  config: ExperimentConfig;
  state: TrainState;
  scores: Scores;
  validation: PatientRecord[];
  inference: Inference;
  session: Session;
  skipped: SkippedItem[];
  startedAt: number;
}

export async function writeRunReport(path: string, ctx: ReportContext): Promise<void> {
  const { config, state, scores, validation, inference } = ctx;
  const labels = state.labels;
  const rows = scoredRows(labels.length, validation, inference.probs);
  const curves = precisionRecallCurves(rows.slice.probs, rows.slice.targets, labels.length);
  const ap = averagePrecision(rows.slice.probs, rows.slice.targets, labels.length);
  const info = await ctx.session.info();
  const epochs = state.history.filter((h) => h.kind === 'epoch');
  await writeReport(path, {
    title: `ichnet run ${config.name}`,
    createdAt: new Date(),
    config,
    labels,
    history: epochs.map((h, i) => ({ ...h, epoch: i + 1 })),
    final: { slice: toLevel(labels, scores.slice), patient: toLevel(labels, scores.patient) },
    thresholds: state.thresholds,
    prCurves: curves.map((c, l) => ({ recall: Array.from(c.recall), precision: Array.from(c.precision), averagePrecision: ap.perLabel[l] as number })),
    samples: await sampleSlices(config, ctx.session, labels, validation, inference.probs, state.thresholds, config.train.report_samples),
    skipped: ctx.skipped,
    run: {
      device: info.device,
      torchVersion: info.torchVersion,
      durationSeconds: (Date.now() - ctx.startedAt) / 1000,
      slicesPerSecond: epochs.length > 0 ? (epochs[epochs.length - 1]?.slicesPerSecond ?? Number.NaN) : Number.NaN,
      parameters: info.parameters,
      threads: info.threads,
      validationPatients: validation.length,
      validationSlices: inference.slices,
    },
  });
}

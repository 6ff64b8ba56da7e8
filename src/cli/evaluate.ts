/** `ichnet evaluate`: score a checkpoint on a dataset, or a predictions file against a labels file. */
import { readCsv } from '../data/datasets/csv.js';
import { evaluateAll, patientLevel, type MetricsReport } from '../metrics/index.js';
import { openCheckpoint, predictDataset } from '../train/checkpoint.js';
import { scoreInference } from '../train/scores.js';
import { formatScores } from './table.js';
import { IchnetError } from '../errors/ichnet-error.js';

export interface EvaluateArgs {
  checkpoint?: string;
  data?: string;
  predictions?: string;
  labels?: string;
  json: boolean;
  device?: string;
}

function print(labels: string[], scores: MetricsReport, json: boolean, thresholds?: number[]): void {
  console.log(json ? JSON.stringify(scores, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) : formatScores(labels, scores, thresholds));
}

/** Scores `patient,slice,<label probabilities>` against `patient,slice,<label 0/1>` (keys must match). */
export async function scorePredictionFiles(predictionsPath: string, labelsPath: string, thresholds?: number[]): Promise<{ labels: string[]; scores: MetricsReport }> {
  const [pred, truth] = await Promise.all([readCsv(predictionsPath), readCsv(labelsPath)]);
  for (const [t, path] of [
    [pred, predictionsPath],
    [truth, labelsPath],
  ] as const) {
    if (!t.columns.includes('patient') || !t.columns.includes('slice')) throw new IchnetError('DATA_INVALID', `${path}: expected columns patient,slice,<labels…>`);
  }
  const labels = truth.columns.filter((c) => c !== 'patient' && c !== 'slice');
  const missing = labels.filter((l) => !pred.columns.includes(l));
  if (missing.length > 0) throw new IchnetError('DATA_INVALID', `${predictionsPath}: no probability column for label(s) ${missing.join(', ')}`);
  const L = labels.length;
  const key = (r: Record<string, string>) => `${r.patient}\u0000${r.slice}`;
  const predicted = new Map(pred.rows.map((r, i) => [key(r), i]));
  const probs = new Float32Array(truth.rows.length * L);
  const targets = new Uint8Array(truth.rows.length * L);
  const byPatient = new Map<string, number[]>();
  truth.rows.forEach((r, i) => {
    const j = predicted.get(key(r));
    if (j === undefined) throw new IchnetError('DATA_INVALID', `${predictionsPath}: no prediction for patient ${r.patient}, slice ${r.slice} (row ${i + 2} of ${labelsPath})`);
    labels.forEach((l, k) => {
      const p = Number(pred.rows[j]?.[l]);
      if (!(p >= 0 && p <= 1)) throw new IchnetError('DATA_INVALID', `${predictionsPath}: row ${j + 2}, column ${l}: expected a probability, got '${pred.rows[j]?.[l]}'`);
      const t = r[l];
      if (t !== '0' && t !== '1') throw new IchnetError('DATA_INVALID', `${labelsPath}: row ${i + 2}, column ${l}: expected 0 or 1, got '${t}'`);
      probs[i * L + k] = p;
      targets[i * L + k] = t === '1' ? 1 : 0;
    });
    byPatient.set(r.patient ?? '', [...(byPatient.get(r.patient ?? '') ?? []), i]);
  });
  const patients = [...byPatient.values()].map((rows) => {
    const pp = new Float32Array(rows.length * L);
    const pt = new Uint8Array(rows.length * L);
    rows.forEach((i, k) => {
      pp.set(probs.subarray(i * L, (i + 1) * L), k * L);
      pt.set(targets.subarray(i * L, (i + 1) * L), k * L);
    });
    return { probs: pp, targets: pt };
  });
  const patient = patientLevel(patients, L);
  const scores = evaluateAll({ labels, slice: { probs, targets }, patient: { probs: patient.probs, targets: patient.targets as Uint8Array }, ...(thresholds ? { thresholds } : {}) });
  return { labels, scores };
}

export async function evaluateCommand(args: EvaluateArgs): Promise<number> {
  if (args.predictions || args.labels) {
    if (!args.predictions || !args.labels) throw new IchnetError('USAGE', 'evaluate: --predictions and --labels go together');
    const { labels, scores } = await scorePredictionFiles(args.predictions, args.labels);
    print(labels, scores, args.json);
    return 0;
  }
  if (!args.checkpoint || !args.data) throw new IchnetError('USAGE', 'evaluate: give --checkpoint DIR --data DIR, or --predictions CSV --labels CSV');
  const opened = await openCheckpoint(args.checkpoint, args.device ? { device: args.device } : {});
  const { dataset, inference } = await predictDataset(opened, { root: args.data }).finally(() => opened.session.close());
  if (dataset.labelNames.length === 0) throw new IchnetError('DATA_INVALID', `${dataset.root}: no labels to evaluate against`);
  const scores = scoreInference(opened.state.labels, dataset.patients, inference, opened.state.thresholds);
  print(opened.state.labels, scores, args.json, opened.state.thresholds);
  if (!args.json && inference.skipped.length > 0) console.log(`\n${inference.skipped.length} input(s) skipped`);
  return 0;
}

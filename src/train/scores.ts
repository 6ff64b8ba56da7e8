/** From stitched per-patient probabilities to the metrics report (slice and patient level). */
import { evaluateAll, patientLevel, tuneThresholds, type MetricsReport } from '../metrics/index.js';
import type { PatientRecord } from '../data/types.js';
import type { Inference } from './infer.js';

/** Validation or test scores per slice and per patient: F2 (micro, macro, samples, per label), precision, recall, AUC, counts. */
export type Scores = MetricsReport;

/** Slice rows (skipped slices left out) and per-patient rows of the patients that were predicted. */
export function scoredRows(L: number, patients: PatientRecord[], probs: Map<string, Float32Array>) {
  const perPatient: { probs: Float32Array; targets: Uint8Array }[] = [];
  for (const p of patients) {
    const pr = probs.get(p.id);
    if (!pr || !p.labels) continue;
    const keep: number[] = [];
    for (let s = 0; s < p.slices.length; s++) if (!Number.isNaN(pr[s * L] as number)) keep.push(s);
    if (keep.length === 0) continue;
    const pp = new Float32Array(keep.length * L);
    const pt = new Uint8Array(keep.length * L);
    keep.forEach((s, k) => {
      pp.set(pr.subarray(s * L, (s + 1) * L), k * L);
      pt.set(p.labels?.subarray(s * L, (s + 1) * L) as Uint8Array, k * L);
    });
    perPatient.push({ probs: pp, targets: pt });
  }
  const n = perPatient.reduce((a, p) => a + p.probs.length, 0);
  const slice = { probs: new Float32Array(n), targets: new Uint8Array(n) };
  let at = 0;
  for (const p of perPatient) {
    slice.probs.set(p.probs, at);
    slice.targets.set(p.targets, at);
    at += p.probs.length;
  }
  return { slice, patient: patientLevel(perPatient, L) };
}

/** The full metrics report of an inference over labelled patients. */
export function scoreInference(labels: string[], patients: PatientRecord[], inference: Pick<Inference, 'probs'>, thresholds: number[]): Scores {
  const rows = scoredRows(labels.length, patients, inference.probs);
  return evaluateAll({ labels, slice: rows.slice, patient: { probs: rows.patient.probs, targets: rows.patient.targets as Uint8Array }, thresholds });
}

/**
 * Per-label thresholds maximising slice-level F2 (the competition's unit). A label with no
 * positive slice in validation keeps 0.5: tuning would otherwise set it above every prediction
 * and the model could never report that label on new data.
 */
export function tuneThresholdsFor(labels: string[], patients: PatientRecord[], inference: Pick<Inference, 'probs'>): number[] {
  const L = labels.length;
  const rows = scoredRows(L, patients, inference.probs);
  const tuned = tuneThresholds(rows.slice.probs, rows.slice.targets, L);
  const positives = new Array<number>(L).fill(0);
  rows.slice.targets.forEach((t, i) => (positives[i % L] = (positives[i % L] as number) + t));
  return tuned.map((t, l) => (positives[l] === 0 ? 0.5 : t));
}

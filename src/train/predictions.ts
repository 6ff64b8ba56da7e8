/**
 * Prediction files: per slice (`patient,slice,<label probabilities>,<label>_pred`), per patient, and
 * the course's and RSNA's submission formats.
 */
import { COURSE_TO_RSNA, RSNA_LABELS } from '../config/labels.js';
import type { PatientRecord } from '../data/types.js';
import { IchnetError } from '../errors/ichnet-error.js';

const csvCell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/**
 * The shortest decimal that reads back as the same float32: a predictions file scores exactly as
 * the probabilities it was written from (6 fixed decimals merged nearby scores into ties, which
 * moved AUCs), without float64 noise digits.
 */
export function float32Text(v: number): string {
  const f = Math.fround(v);
  for (let digits = 1; digits < 9; digits++) {
    const text = f.toPrecision(digits);
    if (Math.fround(Number(text)) === f) return String(Number(text));
  }
  return String(Number(f.toPrecision(9)));
}

/**
 * One row per slice: `patient,slice,<p_label>…,<label>_pred…` — probabilities as written by {@link float32Text} and
 * 0/1 decisions at the per-label thresholds. Slices that could not be predicted (skipped input)
 * are left out.
 */
export function predictionsCsv(labels: string[], patients: PatientRecord[], probs: Map<string, Float32Array>, thresholds: number[]): string {
  const L = labels.length;
  const lines = [['patient', 'slice', ...labels, ...labels.map((l) => `${l}_pred`)].map(csvCell).join(',')];
  for (const p of patients) {
    const pr = probs.get(p.id);
    if (!pr) continue;
    p.slices.forEach((s, k) => {
      const row = Array.from(pr.subarray(k * L, (k + 1) * L));
      if (row.some((v) => Number.isNaN(v))) return;
      lines.push([csvCell(p.id), csvCell(s.id), ...row.map(float32Text), ...row.map((v, l) => (v >= (thresholds[l] as number) ? '1' : '0'))].join(','));
    });
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A patient's probability per label: the maximum over its predicted slices (NaN where no slice was
 * predicted). `probs` is slices × labels, row-major.
 */
export function patientProbabilities(probs: Float32Array, slices: number, labels: number): number[] {
  return Array.from({ length: labels }, (_, l) => {
    let m = Number.NaN;
    for (let k = 0; k < slices; k++) {
      const v = probs[k * labels + l] as number;
      if (!Number.isNaN(v) && !(v <= m)) m = v;
    }
    return m;
  });
}

/** One row per patient: the maximum probability over its slices and the decision. */
export function patientPredictionsCsv(labels: string[], patients: PatientRecord[], probs: Map<string, Float32Array>, thresholds: number[]): string {
  const L = labels.length;
  const lines = [['patient', ...labels, ...labels.map((l) => `${l}_pred`)].map(csvCell).join(',')];
  for (const p of patients) {
    const pr = probs.get(p.id);
    if (!pr) continue;
    const max = patientProbabilities(pr, p.slices.length, L);
    lines.push([csvCell(p.id), ...max.map(float32Text), ...max.map((v, l) => (v >= (thresholds[l] as number) ? '1' : '0'))].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** The course competition's submission: `ID,Predicted` with one row `<slice ID>_<label>,<0|1>` per slice and label. */
export function courseSubmissionCsv(labels: string[], patients: PatientRecord[], probs: Map<string, Float32Array>, thresholds: number[]): string {
  const L = labels.length;
  const lines = ['ID,Predicted'];
  for (const p of patients) {
    const pr = probs.get(p.id);
    if (!pr) continue;
    p.slices.forEach((s, k) => labels.forEach((label, l) => lines.push(`${csvCell(`${s.id}_${label}`)},${(pr[k * L + l] as number) >= (thresholds[l] as number) ? 1 : 0}`)));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Where each RSNA subtype's probability comes from for a model with these labels: the index of the
 * model's label of that subtype (its own name, or the course label that names it), `max` for `any`
 * when the model has no `any` label (the maximum over the subtypes), or an error naming the labels
 * that have no subtype.
 */
export function rsnaSources(labels: readonly string[]): Array<number | 'max'> {
  const subtypeOf = (label: string): string | undefined =>
    (RSNA_LABELS as readonly string[]).includes(label) ? label : (COURSE_TO_RSNA as Record<string, string>)[label];
  const unknown = labels.filter((l) => subtypeOf(l) === undefined);
  if (unknown.length > 0) {
    throw new IchnetError('USAGE', `--format rsna needs a model with RSNA's or the course's labels; ${unknown.join(', ')} name no RSNA subtype`);
  }
  return RSNA_LABELS.map((subtype) => {
    const l = labels.findIndex((label) => subtypeOf(label) === subtype);
    if (l >= 0) return l;
    if (subtype === 'any') return 'max';
    throw new IchnetError('USAGE', `--format rsna: the model has no label for the RSNA subtype ${subtype}`);
  });
}

/** The RSNA image id of a slice: its id when it already has RSNA's `ID_` form, else `ID_<id>`. */
export function rsnaImageId(sliceId: string): string {
  return sliceId.startsWith('ID_') ? sliceId : `ID_${sliceId}`;
}

/**
 * RSNA Intracranial Hemorrhage Detection's submission: `ID,Label` with one row
 * `ID_<image>_<subtype>,<probability>` per slice and each of the six subtypes, `any` included (the
 * challenge scores probabilities by weighted log loss). `any` is the model's own when it was trained
 * on RSNA's labels, else the maximum over the five subtypes; a course model's labels map to the
 * subtypes they name ({@link COURSE_TO_RSNA}).
 */
export function rsnaSubmissionCsv(labels: string[], patients: PatientRecord[], probs: Map<string, Float32Array>): string {
  const L = labels.length;
  const sources = rsnaSources(labels);
  const lines = ['ID,Label'];
  for (const p of patients) {
    const pr = probs.get(p.id);
    if (!pr) continue;
    p.slices.forEach((s, k) => {
      const row = pr.subarray(k * L, (k + 1) * L);
      if (row.some((v) => Number.isNaN(v))) return;
      const image = rsnaImageId(s.id);
      const values = sources.map((src) => (src === 'max' ? 0 : (row[src] as number)));
      const anyIndex = sources.indexOf('max');
      if (anyIndex >= 0) values[anyIndex] = Math.max(...values.filter((_, i) => i !== anyIndex));
      RSNA_LABELS.forEach((subtype, i) => lines.push(`${csvCell(`${image}_${subtype}`)},${float32Text(values[i] as number)}`));
    });
  }
  return `${lines.join('\n')}\n`;
}

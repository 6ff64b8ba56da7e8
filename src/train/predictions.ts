/** Prediction files: per slice (`patient,slice,<label probabilities>,<label>_pred`) and the course's submission format. */
import type { PatientRecord } from '../data/types.js';

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

/** One row per patient: the maximum probability over its slices and the decision. */
export function patientPredictionsCsv(labels: string[], patients: PatientRecord[], probs: Map<string, Float32Array>, thresholds: number[]): string {
  const L = labels.length;
  const lines = [['patient', ...labels, ...labels.map((l) => `${l}_pred`)].map(csvCell).join(',')];
  for (const p of patients) {
    const pr = probs.get(p.id);
    if (!pr) continue;
    const max = labels.map((_, l) => {
      let m = Number.NaN;
      for (let k = 0; k < p.slices.length; k++) {
        const v = pr[k * L + l] as number;
        if (!Number.isNaN(v) && !(v <= m)) m = v;
      }
      return m;
    });
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

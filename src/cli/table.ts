/** The final table printed after training and by `evaluate`. */
import type { LevelReport, MetricsReport } from '../metrics/index.js';

const f = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? '   —  ' : v.toFixed(4));

function levelTable(name: string, labels: string[], r: LevelReport, thresholds?: number[]): string[] {
  const w = Math.max(8, ...labels.map((l) => l.length));
  const lines = [
    `${name}: F2 micro ${f(r.f2.micro)}  macro ${f(r.f2.macro)}  samples ${f(r.f2.samples)}  AUC macro ${f(r.auc.macro)}${r.logLoss !== undefined ? `  RSNA log loss ${f(r.logLoss)}` : ''}`,
    `  ${'label'.padEnd(w)}  F2      precision recall  AUC     support${thresholds ? '  threshold' : ''}`,
  ];
  labels.forEach((l, i) => {
    const c = r.counts[l];
    lines.push(
      `  ${l.padEnd(w)}  ${f(r.f2.perLabel[l])}  ${f(r.precision[l])}    ${f(r.recall[l])}  ${f(r.auc.perLabel[l])}  ${String(c?.support ?? 0).padStart(7)}${thresholds ? `  ${f(thresholds[i])}` : ''}`,
    );
  });
  return lines;
}

/** Slice- and patient-level tables. */
export function formatScores(labels: string[], scores: MetricsReport, thresholds?: number[]): string {
  return [...levelTable('slices', labels, scores.slice, thresholds), '', ...levelTable('patients', labels, scores.patient)].join('\n');
}

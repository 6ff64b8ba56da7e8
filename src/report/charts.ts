/** The report's charts: losses, validation F2 and learning rate over epochs, and per-label PR curves. */
import { escapeHtml, fmtMetric, isNum } from './escape.js';
import { axes, type Frame, lineChart, linearScale, type Point, px, segments, svgOpen, type Ticks } from './svg.js';
import type { ConfusionCounts, HistoryRecord, PrCurve } from './types.js';

/** Colours used across the report, so legends, tables and charts agree. */
export const COLORS = {
  train: '#2563eb',
  val: '#ea580c',
  f2Micro: '#7c3aed',
  f2Macro: '#0891b2',
  patient: '#db2777',
  lr: '#475569',
  pr: '#2563eb',
  point: '#dc2626',
} as const;

function num(v: unknown): number | null {
  return isNum(v) ? v : null;
}

/** History in chronological plotting order (by epoch, then step), copied. */
export function orderedHistory(history: ReadonlyArray<HistoryRecord>): HistoryRecord[] {
  return history
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => isNum(r.epoch))
    .sort((a, b) => a.r.epoch - b.r.epoch || (num(a.r.step) ?? 0) - (num(b.r.step) ?? 0) || a.i - b.i)
    .map(({ r }) => r);
}

/**
 * One metric's points. Records without the key (e.g. per-step lines carrying no validation values)
 * are not part of the series, so the line runs over them; a value that is present but null or not
 * finite (a diverged loss, NaN written to JSON as null) leaves a gap.
 */
function series(history: ReadonlyArray<HistoryRecord>, key: string): Point[] {
  return history.filter((r) => r[key] !== undefined).map((r) => [r.epoch, num(r[key])] as const);
}

function integerEpochs(history: ReadonlyArray<HistoryRecord>): boolean {
  return history.every((r) => Number.isInteger(r.epoch));
}

/** The record with the highest finite slice-level validation micro-F2, if any. */
export function bestEpoch(history: ReadonlyArray<HistoryRecord>): HistoryRecord | undefined {
  let best: HistoryRecord | undefined;
  for (const r of history) if (isNum(r.valF2Micro) && (!best || r.valF2Micro > (best.valF2Micro as number))) best = r;
  return best;
}

/** Training and validation loss over epochs. */
export function lossChart(history: ReadonlyArray<HistoryRecord>): string {
  const h = orderedHistory(history);
  return lineChart({
    title: 'Loss over epochs',
    xLabel: 'Epoch',
    yLabel: 'Loss',
    integerX: integerEpochs(h),
    series: [
      { name: 'train loss', color: COLORS.train, points: series(h, 'trainLoss') },
      { name: 'validation loss', color: COLORS.val, points: series(h, 'valLoss') },
    ],
    emptyText: 'No loss values were recorded.',
  });
}

/** Validation F2 (slice micro, slice macro, patient micro) over epochs, with the best epoch marked. */
export function f2Chart(history: ReadonlyArray<HistoryRecord>): string {
  const h = orderedHistory(history);
  const best = bestEpoch(h);
  return lineChart({
    title: 'Validation F2 over epochs',
    xLabel: 'Epoch',
    yLabel: 'F2',
    integerX: integerEpochs(h),
    yLimits: [0, 1],
    series: [
      { name: 'slice micro-F2', color: COLORS.f2Micro, points: series(h, 'valF2Micro') },
      { name: 'slice macro-F2', color: COLORS.f2Macro, points: series(h, 'valF2Macro'), dashed: true },
      { name: 'patient micro-F2', color: COLORS.patient, points: series(h, 'valPatientF2Micro') },
    ],
    ...(best ? { vLine: { x: best.epoch, label: `best: epoch ${Number(best.epoch.toPrecision(6))} (${fmtMetric(best.valF2Micro)})` } } : {}),
    emptyText: 'No validation F2 values were recorded.',
  });
}

/** Learning rate over epochs, or '' when the history has none. */
export function lrChart(history: ReadonlyArray<HistoryRecord>): string {
  const h = orderedHistory(history);
  if (!h.some((r) => isNum(r.lr))) return '';
  return lineChart({
    title: 'Learning rate over epochs',
    xLabel: 'Epoch',
    yLabel: 'Learning rate',
    integerX: integerEpochs(h),
    series: [{ name: 'learning rate', color: COLORS.lr, points: series(h, 'lr') }],
  });
}

const UNIT: Ticks = { min: 0, max: 1, step: 0.25, values: [0, 0.25, 0.5, 0.75, 1] };

/** Inputs of one small PR chart. */
export interface PrChartInput {
  label: string;
  curve: PrCurve | undefined;
  /** Precision and recall at the chosen threshold. */
  operating?: { precision: number | undefined; recall: number | undefined; threshold: number | undefined; f2: number | undefined };
  counts?: ConfusionCounts | undefined;
}

/** Precision for recall r on the iso-F2 curve F: F2 = 5PR / (4P + R) ⇒ P = F·R / (5R − 4F). */
function isoF2(f: number, sx: (v: number) => number, sy: (v: number) => number): string {
  if (!(f > 0 && f < 1)) return '';
  const pts: string[] = [];
  for (let i = 0; i <= 60; i++) {
    const r = (4 * f) / 5 + ((1 - (4 * f) / 5) * i) / 60;
    const denom = 5 * r - 4 * f;
    if (denom <= 0) continue;
    const p = (f * r) / denom;
    if (p > 1 || p < 0) continue;
    pts.push(`${pts.length ? 'L' : 'M'}${px(sx(r))} ${px(sy(p))}`);
  }
  return pts.length > 1 ? `<path class="iso" d="${pts.join('')}" fill="none"/>` : '';
}

/** One label's precision–recall curve (recall on x), with AP in the caption. */
export function prChart(o: PrChartInput): string {
  const ap = o.curve?.averagePrecision;
  const caption = `<figcaption><span class="lbl">${escapeHtml(o.label)}</span> <span class="ap">AP ${escapeHtml(fmtMetric(ap))}</span></figcaption>`;
  const pts: Point[] = o.curve ? o.curve.recall.map((r, i) => [r, o.curve?.precision[i]] as const) : [];
  const runs = segments(pts);
  if (runs.length === 0) return `<figure class="pr">${caption}<p class="empty">No PR curve.</p></figure>`;
  const f: Frame = { width: 240, height: 220, left: 40, right: 10, top: 10, bottom: 36 };
  const sx = linearScale(0, 1, f.left, f.width - f.right);
  const sy = linearScale(0, 1, f.height - f.bottom, f.top);
  const parts: string[] = [svgOpen(f.width, f.height, `Precision–recall curve of ${o.label}`, 'chart pr-chart')];
  parts.push(axes(f, UNIT, UNIT, sx, sy, { x: 'Recall', y: 'Precision', xTickEvery: 2 }));
  const c = o.counts;
  if (c && isNum(c.tp) && isNum(c.fn)) {
    const total = c.tp + c.fp + c.fn + c.tn;
    if (total > 0) {
      const prev = (c.tp + c.fn) / total;
      parts.push(`<line class="chance" x1="${px(sx(0))}" x2="${px(sx(1))}" y1="${px(sy(prev))}" y2="${px(sy(prev))}"><title>${escapeHtml(`prevalence ${prev.toFixed(3)}`)}</title></line>`);
    }
  }
  const op = o.operating;
  if (op && isNum(op.f2)) parts.push(isoF2(op.f2, sx, sy));
  const color = COLORS.pr;
  const longest = runs.reduce((a, b) => (b.length > a.length ? b : a));
  if (longest.length > 1) {
    const sorted = [...longest].sort((a, b) => a[0] - b[0]);
    const first = sorted[0] as [number, number];
    const last = sorted[sorted.length - 1] as [number, number];
    const d = sorted.map(([x, y], k) => `${k ? 'L' : 'M'}${px(sx(x))} ${px(sy(y))}`).join('');
    parts.push(`<path d="${d}L${px(sx(last[0]))} ${px(sy(0))}L${px(sx(first[0]))} ${px(sy(0))}Z" fill="${color}" fill-opacity="0.08" stroke="none"/>`);
  }
  for (const run of runs) {
    if (run.length === 1) {
      const [x, y] = run[0] as [number, number];
      parts.push(`<circle cx="${px(sx(x))}" cy="${px(sy(y))}" r="3" fill="${color}"/>`);
      continue;
    }
    const d = run.map(([x, y], k) => `${k ? 'L' : 'M'}${px(sx(x))} ${px(sy(y))}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"/>`);
  }
  if (op && isNum(op.recall) && isNum(op.precision)) {
    const t = `threshold ${fmtMetric(op.threshold, 2)}: precision ${fmtMetric(op.precision)}, recall ${fmtMetric(op.recall)}, F2 ${fmtMetric(op.f2)}`;
    parts.push(`<circle class="op" cx="${px(sx(op.recall))}" cy="${px(sy(op.precision))}" r="4.5" fill="${COLORS.point}" stroke="#fff" stroke-width="1.5"><title>${escapeHtml(t)}</title></circle>`);
  }
  parts.push('</svg>');
  return `<figure class="pr">${caption}${parts.join('')}</figure>`;
}

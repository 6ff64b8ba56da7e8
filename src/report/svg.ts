/**
 * Chart primitives: nice ticks, linear scales, axes with grid lines, and a line chart that copes
 * with one point, gaps (NaN / missing) and thousands of points. Output is inline SVG markup with
 * every piece of text escaped; no ids, scripts or external references.
 */
import { escapeHtml, isNum } from './escape.js';

/** Tick positions for an axis. */
export interface Ticks {
  /** Domain start (the first tick). */
  min: number;
  /** Domain end (the last tick). */
  max: number;
  step: number;
  values: number[];
}

function niceStep(raw: number, integer: boolean): number {
  const e = Math.floor(Math.log10(raw));
  const f = raw / 10 ** e;
  const steps = integer ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  const nf = steps.find((s) => f <= s + 1e-9) ?? 10;
  const step = nf * 10 ** e;
  return integer ? Math.max(1, Math.round(step)) : step;
}

/**
 * "Nice" ticks (1, 2, 2.5, 5 × 10^k) covering [min, max] with about `target` intervals. A
 * degenerate or non-finite range is widened so a single value still gets an axis.
 */
export function niceTicks(min: number, max: number, target = 5, integer = false): Ticks {
  let lo = isNum(min) ? min : 0;
  let hi = isNum(max) ? max : 1;
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) {
    const pad = integer ? 1 : lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep((hi - lo) / Math.max(1, target), integer);
  const first = Math.floor(lo / step + 1e-9) * step;
  const last = Math.ceil(hi / step - 1e-9) * step;
  const n = Math.max(1, Math.round((last - first) / step));
  const values: number[] = [];
  for (let i = 0; i <= n; i++) values.push(Number((first + i * step).toPrecision(12)));
  return { min: values[0] ?? first, max: values[values.length - 1] ?? last, step, values };
}

/** Formats a tick value with as many decimals as the step needs (exponential when tiny/huge). */
export function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const a = Math.max(Math.abs(v), step);
  if (step < 1e-3 || a >= 1e6) {
    const digits = Math.floor(Math.log10(Math.abs(v))) - Math.floor(Math.log10(step));
    return v.toExponential(Math.min(3, Math.max(0, digits)));
  }
  const s = Number(step.toPrecision(3)).toString();
  const dot = s.indexOf('.');
  const decimals = dot < 0 ? 0 : s.length - dot - 1;
  return v.toFixed(decimals);
}

/** A linear map from a domain onto a pixel range. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

/** Pixel coordinates rounded to 0.1 px keep the markup small. */
export function px(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

/** Plot geometry: the outer size and the inner plotting rectangle. */
export interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** Axes, grid lines, tick labels and axis titles for a frame and its tick sets. */
export function axes(
  f: Frame,
  xt: Ticks,
  yt: Ticks,
  sx: (v: number) => number,
  sy: (v: number) => number,
  labels: { x?: string; y?: string; xTickEvery?: number } = {},
): string {
  const parts: string[] = [];
  const x0 = f.left;
  const x1 = f.width - f.right;
  const y0 = f.height - f.bottom;
  const y1 = f.top;
  parts.push('<g class="grid">');
  for (const v of yt.values) parts.push(`<line x1="${px(x0)}" x2="${px(x1)}" y1="${px(sy(v))}" y2="${px(sy(v))}"/>`);
  for (const v of xt.values) parts.push(`<line x1="${px(sx(v))}" x2="${px(sx(v))}" y1="${px(y0)}" y2="${px(y1)}"/>`);
  parts.push('</g><g class="axis">');
  parts.push(`<line x1="${px(x0)}" x2="${px(x1)}" y1="${px(y0)}" y2="${px(y0)}"/>`);
  parts.push(`<line x1="${px(x0)}" x2="${px(x0)}" y1="${px(y0)}" y2="${px(y1)}"/>`);
  for (const v of yt.values) {
    const y = sy(v);
    parts.push(`<line x1="${px(x0 - 4)}" x2="${px(x0)}" y1="${px(y)}" y2="${px(y)}"/>`);
    parts.push(`<text x="${px(x0 - 7)}" y="${px(y)}" text-anchor="end" dominant-baseline="middle">${escapeHtml(formatTick(v, yt.step))}</text>`);
  }
  const every = Math.max(1, labels.xTickEvery ?? 1);
  xt.values.forEach((v, i) => {
    const x = sx(v);
    parts.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${px(y0)}" y2="${px(y0 + 4)}"/>`);
    if (i % every === 0) parts.push(`<text x="${px(x)}" y="${px(y0 + 16)}" text-anchor="middle">${escapeHtml(formatTick(v, xt.step))}</text>`);
  });
  if (labels.x) parts.push(`<text class="label" x="${px((x0 + x1) / 2)}" y="${px(f.height - 6)}" text-anchor="middle">${escapeHtml(labels.x)}</text>`);
  if (labels.y) {
    const cy = (y0 + y1) / 2;
    parts.push(`<text class="label" x="12" y="${px(cy)}" text-anchor="middle" transform="rotate(-90 12 ${px(cy)})">${escapeHtml(labels.y)}</text>`);
  }
  parts.push('</g>');
  return parts.join('');
}

/** Opening tag of an inline chart SVG scaled to its container's width. */
export function svgOpen(width: number, height: number, label: string, cls = 'chart'): string {
  return `<svg class="${escapeHtml(cls)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(label)}" preserveAspectRatio="xMidYMid meet">`;
}

/** A point of a series; a non-finite or missing y (or x) breaks the line there. */
export type Point = readonly [number, number | null | undefined];

/** Splits a series at its gaps into runs of finite points. */
export function segments(points: ReadonlyArray<Point>): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = [];
  let cur: Array<[number, number]> = [];
  for (const [x, y] of points) {
    if (isNum(x) && isNum(y)) cur.push([x, y]);
    else if (cur.length) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * Thins runs to about `budget` points in all by keeping each bucket's minimum and maximum (in
 * order), so spikes survive; runs under budget come back unchanged.
 */
export function decimate(runs: Array<Array<[number, number]>>, budget = 1200): Array<Array<[number, number]>> {
  const total = runs.reduce((n, r) => n + r.length, 0);
  if (total <= budget * 1.5) return runs;
  const bucket = Math.ceil(total / (budget / 2));
  return runs.map((run) => {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < run.length; i += bucket) {
      const chunk = run.slice(i, i + bucket);
      let lo = 0;
      let hi = 0;
      chunk.forEach((p, k) => {
        if (p[1] < (chunk[lo] as [number, number])[1]) lo = k;
        if (p[1] > (chunk[hi] as [number, number])[1]) hi = k;
      });
      const keep = [...new Set([0, Math.min(lo, hi), Math.max(lo, hi), chunk.length - 1])];
      for (const k of keep) out.push(chunk[k] as [number, number]);
    }
    return out;
  });
}

/** One line of a line chart. */
export interface LineSeries {
  name: string;
  color: string;
  points: ReadonlyArray<Point>;
  dashed?: boolean;
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  /** Accessible name of the chart. */
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  width?: number;
  height?: number;
  /** Whole-number x ticks (epochs). */
  integerX?: boolean;
  /** Bounds the automatic y domain never goes past (e.g. [0, 1] for F2). */
  yLimits?: [number, number];
  /** Point markers with hover tooltips: always, never, or 'auto' (when a series has ≤ 60 points). */
  markers?: boolean | 'auto';
  /** A dashed vertical marker, e.g. the best epoch. */
  vLine?: { x: number; label: string };
  /** Shown instead of the chart when no series has a finite point. */
  emptyText?: string;
}

/** Series name, x and y for a tooltip. */
function tip(name: string, xLabel: string, x: number, y: number): string {
  return `<title>${escapeHtml(`${name} — ${xLabel} ${Number(x.toPrecision(6))}: ${Number(y.toPrecision(5))}`)}</title>`;
}

/**
 * A line chart with axes, ticks, grid, legend and optional markers. Returns an `<svg>` element, or a
 * `<p class="empty">` when there is nothing to draw.
 */
export function lineChart(o: LineChartOptions): string {
  const runsBySeries = o.series.map((s) => decimate(segments(s.points)));
  const all = runsBySeries.flat(2);
  if (all.length === 0) return `<p class="empty">${escapeHtml(o.emptyText ?? `No values recorded for ${o.title}.`)}</p>`;
  const width = o.width ?? 560;
  const height = o.height ?? 300;
  const f: Frame = { width, height, left: 58, right: 18, top: 34, bottom: 44 };
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const xt = niceTicks(Math.min(...xs), Math.max(...xs), 8, o.integerX === true);
  let yt = niceTicks(Math.min(...ys), Math.max(...ys), 5);
  if (o.yLimits) {
    const [lo, hi] = o.yLimits;
    const values = yt.values.filter((v) => v >= lo - 1e-12 && v <= hi + 1e-12);
    if (values.length >= 2) yt = { ...yt, values, min: values[0] as number, max: values[values.length - 1] as number };
  }
  const sx = linearScale(xt.min, xt.max, f.left, width - f.right);
  const sy = linearScale(yt.min, yt.max, height - f.bottom, f.top);
  const xTickEvery = Math.ceil(xt.values.length / 11);
  const parts: string[] = [svgOpen(width, height, o.title)];
  parts.push(axes(f, xt, yt, sx, sy, { x: o.xLabel, y: o.yLabel, xTickEvery }));

  if (o.vLine && isNum(o.vLine.x) && o.vLine.x >= xt.min && o.vLine.x <= xt.max) {
    const x = sx(o.vLine.x);
    const anchor = x > width - 120 ? 'end' : 'start';
    const dx = anchor === 'end' ? -4 : 4;
    parts.push(`<g class="vline"><line x1="${px(x)}" x2="${px(x)}" y1="${px(f.top)}" y2="${px(height - f.bottom)}"/>`);
    parts.push(`<text x="${px(x + dx)}" y="${px(f.top + 11)}" text-anchor="${anchor}">${escapeHtml(o.vLine.label)}</text></g>`);
  }

  o.series.forEach((s, i) => {
    const runs = runsBySeries[i] ?? [];
    if (runs.length === 0) return;
    const n = runs.reduce((k, r) => k + r.length, 0);
    const markers = o.markers === true || ((o.markers ?? 'auto') === 'auto' && n <= 60);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const color = escapeHtml(s.color);
    parts.push(`<g class="series" stroke="${color}" fill="${color}">`);
    for (const run of runs) {
      if (run.length === 1) continue;
      const d = run.map(([x, y], k) => `${k ? 'L' : 'M'}${px(sx(x))} ${px(sy(y))}`).join('');
      parts.push(`<path d="${d}" fill="none" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"${dash}/>`);
    }
    for (const run of runs) {
      if (run.length !== 1 && !markers) continue;
      for (const [x, y] of run) {
        const r = run.length === 1 ? 3.5 : 2.6;
        parts.push(`<circle cx="${px(sx(x))}" cy="${px(sy(y))}" r="${r}" stroke="#fff" stroke-width="1">${tip(s.name, o.xLabel.toLowerCase(), x, y)}</circle>`);
      }
    }
    parts.push('</g>');
  });

  // Legend along the top, left to right, only for series that have data.
  let lx = f.left;
  const legend: string[] = ['<g class="legend">'];
  o.series.forEach((s, i) => {
    if ((runsBySeries[i] ?? []).length === 0) return;
    const color = escapeHtml(s.color);
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
    legend.push(`<line x1="${px(lx)}" x2="${px(lx + 18)}" y1="14" y2="14" stroke="${color}" stroke-width="2.5"${dash}/>`);
    legend.push(`<text x="${px(lx + 23)}" y="14" dominant-baseline="middle">${escapeHtml(s.name)}</text>`);
    lx += 36 + s.name.length * 6.6;
  });
  legend.push('</g>');
  parts.push(legend.join(''));
  parts.push('</svg>');
  return parts.join('');
}

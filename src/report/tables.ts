/** The report's tables: per-label metrics, confusion counts, skipped inputs and run facts. */
import { escapeHtml, fmtCount, fmtDuration, fmtMetric, fmtNumber, isNum } from './escape.js';
import type { ConfusionCounts, LevelMetrics, RunFacts, SkippedInput } from './types.js';

/** A metric cell with a proportional bar behind the number. */
function barCell(v: number | undefined, cls = 'bar'): string {
  if (!isNum(v)) return '<td class="num missing">—</td>';
  const pct = Math.max(0, Math.min(1, v)) * 100;
  return `<td class="num ${cls}" style="--v:${pct.toFixed(1)}%">${fmtMetric(v)}</td>`;
}

function metricCell(v: number | undefined): string {
  return isNum(v) ? `<td class="num">${fmtMetric(v)}</td>` : '<td class="num missing">—</td>';
}

function support(c: ConfusionCounts | undefined): number | undefined {
  return c && isNum(c.tp) && isNum(c.fn) ? c.tp + c.fn : undefined;
}

function totals(m: LevelMetrics, n: number): ConfusionCounts {
  const t: ConfusionCounts = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (let i = 0; i < n; i++) {
    const c = m.counts.perLabel[i];
    if (!c) continue;
    for (const k of ['tp', 'fp', 'fn', 'tn'] as const) if (isNum(c[k])) t[k] += c[k];
  }
  return t;
}

function ratio(a: number, b: number): number | undefined {
  return b > 0 ? a / b : undefined;
}

function levelCells(m: LevelMetrics, i: number): string {
  const c = m.counts.perLabel[i];
  return [
    `<td class="num">${fmtCount(support(c))}</td>`,
    metricCell(m.precision.perLabel[i]),
    metricCell(m.recall.perLabel[i]),
    barCell(m.f2.perLabel[i]),
    metricCell(m.auc.perLabel[i]),
  ].join('');
}

/**
 * Per-label F2, precision, recall, AUC, threshold and support at slice and patient level, with
 * micro / macro / samples summary rows.
 */
export function perLabelTable(labels: ReadonlyArray<string>, thresholds: ReadonlyArray<number>, slice: LevelMetrics, patient: LevelMetrics): string {
  const head = `<thead>
<tr><th rowspan="2" class="left">Label</th><th rowspan="2" title="Predicted positive when probability ≥ threshold">Threshold</th><th colspan="5" class="group">Slice level</th><th colspan="5" class="group">Patient level</th></tr>
<tr>${'<th title="Positive cases (TP + FN)">Support</th><th>Precision</th><th>Recall</th><th>F2</th><th>AUC</th>'.repeat(2)}</tr>
</thead>`;
  const rows = labels.map((label, i) => {
    const t = thresholds[i];
    return `<tr><th scope="row" class="left">${escapeHtml(label)}</th><td class="num">${isNum(t) ? t.toFixed(2) : '—'}</td>${levelCells(slice, i)}${levelCells(patient, i)}</tr>`;
  });
  const micro = (m: LevelMetrics): string => {
    const t = totals(m, labels.length);
    return `<td class="num">${fmtCount(t.tp + t.fn)}</td>${metricCell(ratio(t.tp, t.tp + t.fp))}${metricCell(ratio(t.tp, t.tp + t.fn))}${barCell(m.f2.micro, 'bar strong')}<td></td>`;
  };
  const macro = (m: LevelMetrics): string => `<td></td><td></td><td></td>${barCell(m.f2.macro)}${metricCell(m.auc.macro)}`;
  const samples = (m: LevelMetrics): string => `<td></td><td></td><td></td>${barCell(m.f2.samples)}<td></td>`;
  const foot = `<tfoot>
<tr class="micro"><th scope="row" class="left" title="Pooled over every label and case: the competition score">Micro (pooled)</th><td></td>${micro(slice)}${micro(patient)}</tr>
<tr><th scope="row" class="left" title="Unweighted mean over labels">Macro (mean of labels)</th><td></td>${macro(slice)}${macro(patient)}</tr>
<tr><th scope="row" class="left" title="Mean over cases; a case with no true and no predicted positives scores 1">Samples (mean of cases)</th><td></td>${samples(slice)}${samples(patient)}</tr>
</tfoot>`;
  return `<div class="table-wrap"><table class="metrics per-label">${head}<tbody>${rows.join('\n')}</tbody>${foot}</table></div>`;
}

function countCells(c: ConfusionCounts | undefined): string {
  if (!c) return '<td class="num missing">—</td>'.repeat(5);
  const spec = isNum(c.tn) && isNum(c.fp) ? ratio(c.tn, c.tn + c.fp) : undefined;
  return `<td class="num c-tp">${fmtCount(c.tp)}</td><td class="num c-fp">${fmtCount(c.fp)}</td><td class="num c-fn">${fmtCount(c.fn)}</td><td class="num c-tn">${fmtCount(c.tn)}</td>${metricCell(spec)}`;
}

/** TP / FP / FN / TN and specificity per label, at slice and patient level. */
export function confusionTable(labels: ReadonlyArray<string>, slice: LevelMetrics, patient: LevelMetrics): string {
  const sub = '<th class="c-tp">TP</th><th class="c-fp">FP</th><th class="c-fn">FN</th><th class="c-tn">TN</th><th title="TN / (TN + FP)">Specificity</th>';
  const head = `<thead><tr><th rowspan="2" class="left">Label</th><th colspan="5" class="group">Slice level</th><th colspan="5" class="group">Patient level</th></tr><tr>${sub}${sub}</tr></thead>`;
  const rows = labels.map((label, i) => `<tr><th scope="row" class="left">${escapeHtml(label)}</th>${countCells(slice.counts.perLabel[i])}${countCells(patient.counts.perLabel[i])}</tr>`);
  const foot = `<tfoot><tr><th scope="row" class="left">All labels</th>${countCells(totals(slice, labels.length))}${countCells(totals(patient, labels.length))}</tr></tfoot>`;
  return `<div class="table-wrap"><table class="metrics confusion">${head}<tbody>${rows.join('\n')}</tbody>${foot}</table></div>`;
}

/** At most this many skipped inputs are listed; the rest are counted. */
export const MAX_SKIPPED_ROWS = 1000;

/** The inputs left out under `on_error: skip`, with their reasons. */
export function skippedTable(skipped: ReadonlyArray<SkippedInput>): string {
  if (skipped.length === 0) return '<p class="ok">None: every input was read.</p>';
  const shown = skipped.slice(0, MAX_SKIPPED_ROWS);
  const rows = shown.map((s, i) => `<tr><td class="num">${i + 1}</td><td><code>${escapeHtml(s.path)}</code></td><td>${escapeHtml(s.reason)}</td></tr>`);
  const more = skipped.length > shown.length ? `<p class="note">… and ${fmtCount(skipped.length - shown.length)} more not listed here.</p>` : '';
  const open = skipped.length <= 50 ? ' open' : '';
  return `<p class="warn">${fmtCount(skipped.length)} input${skipped.length === 1 ? ' was' : 's were'} left out under <code>on_error: skip</code>.</p>
<details class="skipped"${open}><summary>List of skipped inputs</summary><div class="table-wrap"><table class="metrics skipped-list"><thead><tr><th>#</th><th class="left">Path</th><th class="left">Reason</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>${more}</details>`;
}

function factValue(v: unknown): string {
  if (v === undefined || v === null) return '—';
  if (typeof v === 'number') return escapeHtml(fmtNumber(v));
  if (typeof v === 'string') return escapeHtml(v);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (v instanceof Date) return escapeHtml(v.toISOString());
  return `<code>${escapeHtml(JSON.stringify(v))}</code>`;
}

const KNOWN_FACTS: ReadonlyArray<[keyof RunFacts & string, string, (v: unknown) => string]> = [
  ['device', 'Device', factValue],
  ['torchVersion', 'LibTorch', factValue],
  ['durationSeconds', 'Duration', (v) => escapeHtml(fmtDuration(v))],
  ['slicesPerSecond', 'Throughput', (v) => (isNum(v) ? `${escapeHtml(fmtNumber(v))} slices/s` : '—')],
];

/** A humanised key: `nativeVersion` → "native version". */
function humanKey(k: string): string {
  return k.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase().replace(/^./, (c) => c.toUpperCase());
}

/** Run facts as a definition list: device, LibTorch, duration, throughput, then any extra keys. */
export function runFacts(run: RunFacts, extra: ReadonlyArray<[string, string]> = []): string {
  const items: string[] = [];
  for (const [k, name, fmt] of KNOWN_FACTS) if (k in run || k === 'device' || k === 'durationSeconds') items.push(`<div><dt>${escapeHtml(name)}</dt><dd>${fmt(run[k])}</dd></div>`);
  const known = new Set(KNOWN_FACTS.map(([k]) => k));
  for (const [k, v] of Object.entries(run)) if (!known.has(k)) items.push(`<div><dt>${escapeHtml(humanKey(k))}</dt><dd>${factValue(v)}</dd></div>`);
  for (const [name, html] of extra) items.push(`<div><dt>${escapeHtml(name)}</dt><dd>${html}</dd></div>`);
  return `<dl class="facts">${items.join('')}</dl>`;
}

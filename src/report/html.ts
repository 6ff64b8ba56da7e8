/** Assembles the self-contained report page from its sections. */
import { stringify } from 'yaml';

import { COLORS, bestEpoch, f2Chart, lossChart, lrChart, orderedHistory, prChart } from './charts.js';
import { escapeHtml, fmtCount, fmtDuration, fmtMetric, fmtNumber, isNum } from './escape.js';
import { outcomes, sampleGrid } from './samples.js';
import { STYLE } from './style.js';
import { confusionTable, perLabelTable, runFacts, skippedTable } from './tables.js';
import type { LevelMetrics, ReportInput } from './types.js';

/** The page's sections: anchor id and navigation title, in page order. */
export const SECTIONS = [
  ['summary', 'Summary'],
  ['curves', 'Training curves'],
  ['labels', 'Per-label metrics'],
  ['pr', 'Precision–recall'],
  ['confusion', 'Confusion'],
  ['samples', 'Sample slices'],
  ['skipped', 'Skipped inputs'],
  ['run', 'Run'],
] as const;

function fmtDate(d: Date | string): string {
  if (d instanceof Date) return Number.isNaN(d.getTime()) ? '—' : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return String(d);
}

function caseCount(m: LevelMetrics): number | undefined {
  const c = m.counts.perLabel[0];
  return c && isNum(c.tp) ? c.tp + c.fp + c.fn + c.tn : undefined;
}

function kpi(k: string, v: string, s = '', cls = ''): string {
  return `<div class="kpi${cls ? ` ${cls}` : ''}"><div class="k">${escapeHtml(k)}</div><div class="v">${escapeHtml(v)}</div>${s ? `<div class="s">${escapeHtml(s)}</div>` : ''}</div>`;
}

function section(id: string, title: string, body: string, extraTitle = ''): string {
  return `<section id="${id}"><h2>${escapeHtml(title)}${extraTitle}</h2>\n${body}\n</section>`;
}

function summary(input: ReportInput): string {
  const { slice, patient } = input.final;
  const nSlices = caseCount(slice);
  const nPatients = caseCount(patient);
  const best = bestEpoch(input.history);
  const cards = [
    kpi('Slice micro-F2', fmtMetric(slice.f2.micro), `competition score${nSlices !== undefined ? ` · ${fmtCount(nSlices)} slices` : ''}`, 'main'),
    kpi('Patient micro-F2', fmtMetric(patient.f2.micro), nPatients !== undefined ? `${fmtCount(nPatients)} patients` : '', 'main patient'),
    kpi('Slice macro-F2', fmtMetric(slice.f2.macro), 'mean over labels'),
    kpi('Slice samples-F2', fmtMetric(slice.f2.samples), 'mean over slices'),
    kpi('Slice macro AUC', fmtMetric(slice.auc.macro), 'ROC, mean over labels'),
    kpi('Patient macro-F2', fmtMetric(patient.f2.macro), 'mean over labels'),
  ];
  if (isNum(slice.logLoss)) cards.push(kpi('Weighted log loss', fmtMetric(slice.logLoss, 4), 'RSNA, slice level'));
  if (best) cards.push(kpi('Best epoch', fmtNumber(best.epoch), `validation micro-F2 ${fmtMetric(best.valF2Micro)}`));
  return `<p class="intro">Validation results with the tuned per-label thresholds. F2 weighs recall four times as much as precision (F2 = 5·TP / (5·TP + 4·FN + FP)); micro pools every slice × label cell, and a patient is positive for a label when any of its slices is.</p>
<div class="kpis">${cards.join('')}</div>`;
}

function curves(input: ReportInput): string {
  const h = orderedHistory(input.history);
  const epochs = new Set(h.map((r) => r.epoch)).size;
  const figs = [
    ['Loss', lossChart(h)],
    ['Validation F2', f2Chart(h)],
    ['Learning rate', lrChart(h)],
  ].filter(([, svg]) => svg !== '');
  const body = figs.map(([t, svg]) => `<figure class="chart-fig"><figcaption>${escapeHtml(t as string)}</figcaption>${svg as string}</figure>`).join('');
  return `<p class="intro">${fmtCount(h.length)} record${h.length === 1 ? '' : 's'} from <code>metrics.jsonl</code> over ${fmtCount(epochs)} epoch${epochs === 1 ? '' : 's'}; a gap marks a value recorded as NaN or null (records without a value are passed over). Hover a point for its value.</p><div class="charts">${body}</div>`;
}

function prSection(input: ReportInput): string {
  const { slice } = input.final;
  const figs = input.labels.map((label, i) =>
    prChart({
      label,
      curve: input.prCurves[i],
      operating: { precision: slice.precision.perLabel[i], recall: slice.recall.perLabel[i], threshold: input.thresholds[i], f2: slice.f2.perLabel[i] },
      counts: slice.counts.perLabel[i],
    }),
  );
  const keys = `<p><span class="key"><i style="border-color:${COLORS.pr}"></i>PR curve (slice level)</span><span class="key"><i class="dot"></i>operating point at the threshold</span><span class="key"><i style="border-top:2px dashed #9ca3af"></i>prevalence (chance)</span><span class="key"><i style="border-top:2px dotted #f59e0b"></i>iso-F2 through the operating point</span></p>`;
  return `${keys}<div class="pr-grid">${figs.join('\n')}</div>`;
}

function configBlock(config: unknown): string {
  let text: string;
  try {
    text = stringify(config, { lineWidth: 0 }) ?? '';
  } catch {
    try {
      text = JSON.stringify(config, null, 2) ?? String(config);
    } catch {
      text = String(config);
    }
  }
  return `<details class="config"><summary>Resolved experiment config (YAML)</summary><pre class="config"><code>${escapeHtml(text)}</code></pre></details>`;
}

/**
 * Renders the run report: one self-contained HTML document (inline CSS and SVG, sample images as
 * `data:` URIs, no script, no external reference) with a headline, training curves, per-label
 * metrics, PR curves, confusion counts, sample slices, skipped inputs and run facts. Every string
 * from the input is escaped.
 */
export async function renderReport(input: ReportInput): Promise<string> {
  const { labels, thresholds } = input;
  const { slice, patient } = input.final;
  const h = orderedHistory(input.history);
  const lastEpoch = h.length ? h[h.length - 1]?.epoch : undefined;
  const sub = [
    `<span>${escapeHtml(fmtDate(input.createdAt))}</span>`,
    `<span>${escapeHtml(input.run.device)}</span>`,
    `<span>${escapeHtml(fmtDuration(input.run.durationSeconds))}</span>`,
    isNum(lastEpoch) ? `<span>${escapeHtml(`through epoch ${fmtNumber(lastEpoch)}`)}</span>` : '',
    `<span>${labels.length} labels: ${labels.map((l) => escapeHtml(l)).join(', ')}</span>`,
  ].join('');
  const nav = SECTIONS.map(([id, t]) => `<a href="#${id}">${escapeHtml(t)}</a>`).join('');
  const ok = input.samples.filter((s) => outcomes(s, labels.length, thresholds).every((o) => o === 'tp' || o === 'tn')).length;

  const body = [
    section('summary', 'Summary', summary(input)),
    section('curves', 'Training curves', curves(input)),
    section('labels', 'Per-label metrics', `<p class="intro">Support counts positive cases. Bars show F2 on a 0–1 scale. AUC is blank where a label has only one class.</p>${perLabelTable(labels, thresholds, slice, patient)}`),
    section('pr', 'Precision–recall curves', prSection(input)),
    section('confusion', 'Confusion counts', `<p class="intro">Cases counted at each label's threshold: slices, and patients (positive when any slice is).</p>${confusionTable(labels, slice, patient)}`),
    section(
      'samples',
      'Sample slices',
      `<p class="intro">Validation slices as the model saw them (windowed), with the true labels and the predictions at the tuned thresholds.</p>${sampleGrid(input.samples, labels, thresholds)}`,
      input.samples.length ? ` <span class="count">(${ok} of ${input.samples.length} fully correct)</span>` : '',
    ),
    section('skipped', 'Skipped inputs', skippedTable(input.skipped), ` <span class="count">(${fmtCount(input.skipped.length)})</span>`),
    section('run', 'Run', `${runFacts(input.run, [['Created', escapeHtml(fmtDate(input.createdAt))]])}${configBlock(input.config)}`),
  ].join('\n');

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${escapeHtml(input.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header class="top"><h1>${escapeHtml(input.title)}</h1><p class="sub">${sub}</p><nav class="toc">${nav}</nav></header>
${body}
<footer>ichnet run report · self-contained: no scripts, no network</footer>
</main>
</body>
</html>
`;
}

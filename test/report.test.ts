/** The run report: self-contained HTML, escaping, charts' edge cases, and a real render in Chromium. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';

import { escapeHtml, renderReport, SECTIONS, slicePng, writeReport } from '../src/report/index.js';
import { f2Chart, lossChart } from '../src/report/charts.js';
import { niceTicks } from '../src/report/svg.js';
import type { HistoryRecord, LevelMetrics, PrCurve, ReportInput, SampleSlice } from '../src/report/index.js';
import { rng } from './helpers/tiny.js';
import { tempDir } from './helpers/temp-dir.js';

const LABELS = ['ich', 'ivh', 'sah', 'sdh', 'edh'];
const HOSTILE_LABEL = `<img src=x onerror=alert(1)>&"'`;
const HOSTILE_PATH = `/data/train/ID_<b>bad</b>/"quoted" & 'single'.dcm`;
const CHROMIUM = '/usr/bin/chromium';

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Metrics as sklearn computes them (zero_division = 1), from truth and probabilities per case. */
function levelMetrics(truth: number[][], probs: number[][], thresholds: number[]): LevelMetrics {
  const L = thresholds.length;
  const counts = Array.from({ length: L }, () => ({ tp: 0, fp: 0, fn: 0, tn: 0 }));
  const f2 = (tp: number, fp: number, fn: number): number => (5 * tp + 4 * fn + fp === 0 ? 1 : (5 * tp) / (5 * tp + 4 * fn + fp));
  let samples = 0;
  truth.forEach((row, n) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    row.forEach((t, l) => {
      const pred = (probs[n]?.[l] ?? 0) >= (thresholds[l] ?? 0.5);
      const c = counts[l] as { tp: number; fp: number; fn: number; tn: number };
      if (t && pred) (c.tp++, tp++);
      else if (!t && pred) (c.fp++, fp++);
      else if (t && !pred) (c.fn++, fn++);
      else c.tn++;
    });
    samples += f2(tp, fp, fn);
  });
  const auc = counts.map((_, l) => {
    const pos = truth.flatMap((row, n) => (row[l] ? [probs[n]?.[l] ?? 0] : []));
    const neg = truth.flatMap((row, n) => (row[l] ? [] : [probs[n]?.[l] ?? 0]));
    if (!pos.length || !neg.length) return Number.NaN;
    let wins = 0;
    for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0;
    return wins / (pos.length * neg.length);
  });
  const perF2 = counts.map((c) => f2(c.tp, c.fp, c.fn));
  const tot = counts.reduce((a, c) => ({ tp: a.tp + c.tp, fp: a.fp + c.fp, fn: a.fn + c.fn }), { tp: 0, fp: 0, fn: 0 });
  const finiteAuc = auc.filter(Number.isFinite);
  return {
    f2: { micro: f2(tot.tp, tot.fp, tot.fn), macro: perF2.reduce((a, b) => a + b, 0) / L, samples: samples / truth.length, perLabel: perF2 },
    precision: { perLabel: counts.map((c) => (c.tp + c.fp ? c.tp / (c.tp + c.fp) : 1)) },
    recall: { perLabel: counts.map((c) => (c.tp + c.fn ? c.tp / (c.tp + c.fn) : 1)) },
    auc: { macro: finiteAuc.reduce((a, b) => a + b, 0) / finiteAuc.length, perLabel: auc },
    counts: { perLabel: counts },
  };
}

/** sklearn's precision_recall_curve (+ average_precision_score) for one label. */
function prCurve(truth: number[], probs: number[]): PrCurve {
  const order = probs.map((p, i) => [p, truth[i] ?? 0] as const).sort((a, b) => b[0] - a[0]);
  const P = truth.reduce((a, b) => a + b, 0);
  const recall: number[] = [0];
  const precision: number[] = [1];
  let tp = 0;
  let k = 0;
  let ap = 0;
  for (let i = 0; i < order.length; i++) {
    tp += order[i]?.[1] ?? 0;
    k++;
    if (i + 1 < order.length && order[i + 1]?.[0] === order[i]?.[0]) continue;
    const r = P ? tp / P : 1;
    const p = tp / k;
    ap += (r - (recall[recall.length - 1] ?? 0)) * p;
    recall.push(r);
    precision.push(p);
  }
  return { recall: recall.reverse(), precision: precision.reverse(), averagePrecision: ap };
}

/** A grey gradient with a bright disc (1 channel) or a coloured window-like RGB image (3 channels). */
function phantom(w: number, h: number, channels: 1 | 3, k: number): Uint8Array {
  const px = new Uint8Array(w * h * channels);
  const cx = w / 2 + ((k % 3) - 1) * w * 0.1;
  const cy = h / 2;
  const rad = Math.min(w, h) * (0.3 + 0.02 * k);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const d = Math.hypot(x - cx, y - cy);
      const inside = d < rad;
      const skull = Math.abs(d - rad) < 2.5;
      const base = inside ? 70 + Math.round((40 * x) / w) : 8;
      for (let c = 0; c < channels; c++) {
        const bleed = inside && Math.hypot(x - cx - rad * 0.4, y - cy) < rad * 0.18 && k % 2 === 0 ? 90 : 0;
        px[(y * w + x) * channels + c] = Math.min(255, skull ? 245 : base + bleed + c * 12);
      }
    }
  }
  return px;
}

interface FakeOptions {
  hostile?: boolean;
  history?: HistoryRecord[];
}

/** A realistic report input: a simulated validation set of 40 patients, 6 epochs of history. */
async function fakeInput(o: FakeOptions = {}): Promise<ReportInput> {
  const r = rng(7);
  const labels = o.hostile ? [LABELS[0] as string, HOSTILE_LABEL, ...LABELS.slice(2)] : [...LABELS];
  const thresholds = [0.5, 0.4, 0.35, 0.45, 0.3];
  const prevalence = [0.35, 0.2, 0.3, 0.3, 0.12];
  const skill = [2.6, 3.0, 1.6, 2.0, 1.2];
  const sliceTruth: number[][] = [];
  const sliceProbs: number[][] = [];
  const patTruth: number[][] = [];
  const patProbs: number[][] = [];
  const where: Array<[string, string]> = [];
  for (let p = 0; p < 40; p++) {
    const n = 8 + Math.floor(r() * 9);
    const runs = prevalence.map((q) => {
      if (r() >= q) return [-1, -1];
      const a = Math.floor(r() * n);
      return [a, Math.min(n - 1, a + 1 + Math.floor(r() * 4))];
    });
    const pt = [0, 0, 0, 0, 0];
    const pp = [0, 0, 0, 0, 0];
    for (let s = 0; s < n; s++) {
      const t = runs.map(([a, b]) => ((a as number) <= s && s <= (b as number) ? 1 : 0));
      const pr = t.map((v, l) => sigmoid((v ? 0.7 : -0.9) * (skill[l] as number) - (v ? 0 : 0.6) + gauss(r) * 1.1));
      t.forEach((v, l) => {
        pt[l] = Math.max(pt[l] as number, v);
        pp[l] = Math.max(pp[l] as number, pr[l] as number);
      });
      sliceTruth.push(t);
      sliceProbs.push(pr);
      where.push([`ID_${(p * 7919).toString(16).padStart(6, '0')}`, `ID_s${String(s).padStart(3, '0')}`]);
    }
    patTruth.push(pt);
    patProbs.push(pp);
  }
  const slice = levelMetrics(sliceTruth, sliceProbs, thresholds);
  const patient = levelMetrics(patTruth, patProbs, thresholds);
  const prCurves = labels.map((_, l) => prCurve(sliceTruth.map((t) => t[l] ?? 0), sliceProbs.map((q) => q[l] ?? 0)));

  // 8 samples: found bleeds, a missed one, a false alarm, clean negatives.
  const kind = (i: number): string => {
    const t = sliceTruth[i] as number[];
    const pred = (sliceProbs[i] as number[]).map((q, l) => q >= (thresholds[l] as number));
    if (t.some((v, l) => v === 1 && !pred[l])) return 'fn';
    if (t.some((v, l) => v === 0 && pred[l])) return 'fp';
    return t.some(Boolean) ? 'tp' : 'tn';
  };
  const pick = (k: string, n: number): number[] => sliceTruth.flatMap((_, i) => (kind(i) === k ? [i] : [])).filter((_, j) => j % 7 === 0).slice(0, n);
  const [tp, fn, fp, tn] = [pick('tp', 3), pick('fn', 2), pick('fp', 1), pick('tn', 2)];
  const picks = [tp[0], tn[0], fn[0], tp[1], fp[0], tn[1], tp[2], fn[1]].map((i) => i ?? 0);
  const samples: SampleSlice[] = [];
  for (const [k, i] of picks.entries()) {
    const channels = k % 3 === 2 ? 3 : 1;
    const [w, h] = k % 2 ? [96, 80] : [64, 64];
    const [pid, sid] = where[i] as [string, string];
    samples.push({
      patient: o.hostile && k === 1 ? `<script>alert("p")</script>` : pid,
      slice: sid,
      png: await slicePng(phantom(w, h, channels, k), w, h, channels),
      width: w,
      height: h,
      truth: sliceTruth[i] as number[],
      probs: sliceProbs[i] as number[],
    });
  }
  const history: HistoryRecord[] =
    o.history ??
    Array.from({ length: 6 }, (_, e) => ({
      epoch: e + 1,
      step: (e + 1) * 120,
      trainLoss: 0.9 * Math.exp(-0.35 * e) + 0.08,
      valLoss: e === 0 ? undefined : 0.8 * Math.exp(-0.25 * e) + 0.15 + (e === 5 ? 0.03 : 0),
      valF2Micro: 0.42 + 0.35 * (1 - Math.exp(-0.6 * e)) - (e === 5 ? 0.01 : 0),
      valF2Macro: e === 3 ? Number.NaN : 0.35 + 0.33 * (1 - Math.exp(-0.5 * e)),
      valPatientF2Micro: 0.5 + 0.36 * (1 - Math.exp(-0.6 * e)),
      lr: 3e-4 * (e < 1 ? 0.5 : Math.cos((Math.PI * e) / 12)),
    }));
  return {
    title: o.hostile ? `Run <i>evil</i> & "friends"` : 'ichnet · vgg16 → label-LSTM → slice-GRU · fold 0',
    createdAt: new Date('2025-03-14T09:26:53Z'),
    config: {
      model: { backbone: 'vgg16', label_rnn: 'lstm', slice_rnn: 'gru', width: 1 },
      loss: { name: 'asl', gamma_neg: 4, gamma_pos: 1, clip: 0.05 },
      data: { format: 'folders', root: o.hostile ? HOSTILE_PATH : '/data/course', on_error: 'skip', labels },
      train: { epochs: 6, lr: 3e-4, patients_per_batch: 4, max_slices: 32, seed: 42 },
    },
    labels,
    history,
    final: { slice, patient },
    thresholds,
    prCurves,
    samples,
    skipped: [
      { path: '/data/course/train/ID_0a1b2c/ID_77.jpg', reason: 'slice listed at row 812 of train.csv has no file' },
      { path: o.hostile ? HOSTILE_PATH : '/data/course/train/ID_ffee01/ID_03.png', reason: 'corrupt PNG: <unexpected end of file>' },
      { path: '/data/course/train/ID_stray', reason: 'patient folder has no labels in train.csv' },
    ],
    run: { device: 'cuda:0 (NVIDIA H100 80GB HBM3)', torchVersion: '2.5.1', durationSeconds: 3725.4, slicesPerSecond: 412.7, nativeVersion: '0.1.0', seed: 42 },
  };
}

/** `data:` URIs of the page's images, decoded. */
function dataImages(html: string): Buffer[] {
  return [...html.matchAll(/src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1] as string, 'base64'));
}

describe('report HTML', () => {
  it('escapes a hostile label, patient id, path and title everywhere', async () => {
    const html = await renderReport(await fakeInput({ hostile: true }));
    assert.ok(!html.includes(HOSTILE_LABEL), 'raw hostile label must not appear');
    assert.ok(!html.includes(HOSTILE_PATH), 'raw hostile path must not appear');
    assert.ok(!/<script/i.test(html), 'no <script> at all');
    assert.ok(!html.includes('<img src=x'));
    assert.ok(!html.includes('<b>bad</b>') && !html.includes('<i>evil</i>'));
    assert.ok(html.includes(escapeHtml(HOSTILE_LABEL)));
    assert.ok(html.includes(escapeHtml(HOSTILE_PATH)), 'the skipped path is listed, escaped');
    assert.ok(html.includes('&lt;script&gt;alert(&quot;p&quot;)&lt;/script&gt;'), 'patient id escaped');
    assert.equal(escapeHtml(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
    // Only the 8 sample images are <img> elements, and every attribute value stays quoted and intact.
    assert.equal((html.match(/<img /g) ?? []).length, 8);
  });

  it('has every section, the charts and the table rows', async () => {
    const input = await fakeInput();
    const html = await renderReport(input);
    assert.match(html, /^<!DOCTYPE html>/);
    for (const [id] of SECTIONS) assert.ok(html.includes(`<section id="${id}">`), `section ${id}`);
    // loss + F2 + lr charts and one PR chart per label
    assert.equal((html.match(/<svg class="chart"/g) ?? []).length, 3);
    assert.equal((html.match(/<svg class="chart pr-chart"/g) ?? []).length, 5);
    for (const l of LABELS) assert.match(html, new RegExp(`<th scope="row" class="left">${l}</th>`));
    const perLabel = html.slice(html.indexOf('<table class="metrics per-label">'), html.indexOf('</table>', html.indexOf('per-label')));
    assert.equal((perLabel.match(/<tbody>[\s\S]*<\/tbody>/)?.[0].match(/<tr>/g) ?? []).length, 5);
    assert.ok(html.includes(input.final.slice.f2.micro.toFixed(3)), 'headline slice micro-F2');
    assert.ok(html.includes(input.final.patient.f2.micro.toFixed(3)), 'headline patient micro-F2');
    for (const c of input.prCurves) assert.ok(html.includes(`AP ${c.averagePrecision.toFixed(3)}`), 'AP in the PR title');
    assert.ok(html.includes('Skipped inputs <span class="count">(3)</span>'));
    assert.ok(html.includes('1 h 02 min 05 s'), 'duration');
    assert.ok(html.includes('<details class="config">') && html.includes('gamma_neg: 4'), 'config as YAML');
    assert.ok(html.includes('class="chip fn"') || html.includes('class="chip fp"'), 'some misses are marked');
    assert.ok(html.includes('class="chip tp"'), 'some hits are marked');
    for (const svg of html.match(/<svg[\s\S]*?<\/svg>/g) ?? []) assert.ok(!/NaN|Infinity|undefined/.test(svg), 'no NaN/undefined in a chart');
    assert.ok(!/>\s*-?(NaN|Infinity|undefined)/.test(html), 'no NaN/undefined as a cell or label');
    assert.ok(!/="[^"]*(NaN|Infinity|undefined)[^"]*"/.test(html), 'no NaN/undefined in an attribute');
  });

  it('references nothing outside itself', async () => {
    const html = await renderReport(await fakeInput({ hostile: true }));
    assert.ok(!/https?:\/\//i.test(html), 'no http(s) URL anywhere');
    assert.ok(!/<(script|link|iframe|object|embed)\b/i.test(html));
    assert.ok(!/url\(|@import/i.test(html));
    for (const m of html.matchAll(/\b(?:src|href)="([^"]*)"/g)) assert.match(m[1] as string, /^(data:image\/png;base64,|#[a-z]+$)/);
  });

  it("embeds the samples as PNGs that decode to the sample's size", async () => {
    const input = await fakeInput();
    const imgs = dataImages(await renderReport(input));
    assert.equal(imgs.length, input.samples.length);
    for (const [i, buf] of imgs.entries()) {
      const meta = await sharp(buf).metadata();
      assert.equal(meta.format, 'png');
      assert.equal(meta.width, input.samples[i]?.width);
      assert.equal(meta.height, input.samples[i]?.height);
    }
  });

  it('slicePng encodes grey and RGB raw pixels and rejects a wrong length', async () => {
    const grey = await slicePng(phantom(20, 10, 1, 0), 20, 10, 1);
    const rgb = await slicePng(phantom(20, 10, 3, 1), 20, 10, 3);
    const gm = await sharp(grey).metadata();
    assert.deepEqual([gm.format, gm.width, gm.height, gm.channels], ['png', 20, 10, 1], 'stored as one grey channel');
    const g = await sharp(grey).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual(Uint8Array.from(g.data), phantom(20, 10, 1, 0), 'lossless');
    assert.equal((await sharp(rgb).metadata()).channels, 3);
    await assert.rejects(slicePng(new Uint8Array(10), 20, 10, 1), /needs 200 bytes, got 10/);
  });

  it('charts cope with one point, gaps, nothing, and thousands of points', async () => {
    const one = lossChart([{ epoch: 1, trainLoss: 0.7, valLoss: 0.8 }]);
    assert.equal((one.match(/<circle/g) ?? []).length, 2, 'a lone point is a dot');
    assert.ok(!one.includes('NaN'));
    const gaps = lossChart([1, 2, 3, 4, 5].map((e) => ({ epoch: e, trainLoss: e === 3 ? Number.NaN : 1 / e, valLoss: e === 4 ? null : 1.2 / e })));
    assert.equal((gaps.match(/<path d=/g) ?? []).length, 3, 'train: 1-2 and 4-5; validation: 1-3 and a lone dot at 5');
    assert.ok(!gaps.includes('NaN'));
    const sparse = lossChart([1, 2, 3, 4, 5, 6].map((e) => (e % 2 ? { epoch: e, trainLoss: 1 / e } : { epoch: e, trainLoss: 1 / e, valLoss: 1.1 / e })));
    assert.equal((sparse.match(/<path d=/g) ?? []).length, 2, 'a missing key is passed over, not a gap');
    assert.match(lossChart([]), /class="empty"/);
    assert.match(f2Chart([{ epoch: 1, trainLoss: 1 }]), /No validation F2/);
    const many = Array.from({ length: 5000 }, (_, i) => ({ epoch: i / 500, trainLoss: 1 / (1 + i / 300) + 0.05 * Math.sin(i), valF2Micro: i % 500 === 0 ? 0.5 + i / 20000 : undefined }));
    const big = lossChart(many);
    assert.ok(big.length < 60_000, `decimated (${big.length} chars)`);
    assert.ok(!big.includes('<circle'), 'no markers on a long series');
    assert.match(f2Chart(many), /best: epoch 9 \(0\.725\)/);
    const t = niceTicks(0.0123, 0.987, 5);
    assert.deepEqual(t.values, [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(3, 3, 5, true).values, [2, 2.5, 3, 3.5, 4].filter(Number.isInteger));
  });

  it('renders with the minimum: no history, no samples, nothing skipped', async () => {
    const input = await fakeInput({ history: [] });
    const slice = { ...input.final.slice, auc: { macro: Number.NaN, perLabel: [0.9, Number.NaN, 0.8] } };
    const html = await renderReport({ ...input, final: { ...input.final, slice }, samples: [], skipped: [], prCurves: [] });
    assert.ok(!/>\s*-?(NaN|Infinity|undefined)/.test(html), 'a NaN AUC and missing entries show as —');
    assert.ok(html.includes('<td class="num missing">—</td>'));
    for (const [id] of SECTIONS) assert.ok(html.includes(`<section id="${id}">`));
    assert.match(html, /None: every input was read/);
    assert.match(html, /No sample slices were recorded/);
    assert.match(html, /No PR curve/);
  });

  it('writeReport writes atomically, leaving no temporary file', async () => {
    const dir = tempDir('ichnet-report-');
    try {
      const path = join(dir, 'run', 'report.html');
      writeFileSync(join(dir, 'stale'), 'x');
      await writeReport(path, await fakeInput());
      await writeReport(path, await fakeInput());
      assert.match(readFileSync(path, 'utf8'), /<\/html>\n$/);
      assert.deepEqual(readdirSync(join(dir, 'run')), ['report.html']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function chromium(args: string[], timeout = 25_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, args, { timeout, maxBuffer: 256 * 1024 * 1024, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`chromium failed: ${err.message}\n${stderr.slice(-2000)}`));
      else resolve({ stdout, stderr });
    });
  });
}

describe('report in a browser', () => {
  const missing = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found (apt-get install chromium)`;
  it('renders in headless Chromium: DOM has the charts and rows, the screenshot is not blank', { skip: missing, timeout: 60_000 }, async (t) => {
    const dir = tempDir('ichnet-report-browser-');
    const keep = process.env.ICHNET_KEEP_REPORT === '1';
    try {
      const report = join(dir, 'report.html');
      await writeReport(report, await fakeInput());
      const shot = join(dir, 'report.png');
      const base = (profile: string) => [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${mkdtempSync(join(dir, profile))}`,
      ];
      const url = `file://${report}`;
      const [dom] = await Promise.all([
        chromium([...base('dom-'), '--dump-dom', url]),
        chromium([...base('shot-'), `--screenshot=${shot}`, '--window-size=1280,2400', '--hide-scrollbars', url]),
      ]);
      const html = dom.stdout;
      assert.match(html, /<svg class="chart"/);
      assert.equal((html.match(/<svg class="chart pr-chart"/g) ?? []).length, 5);
      assert.ok((html.match(/<path d="M/g) ?? []).length >= 8, 'chart lines are in the DOM');
      const perLabel = html.slice(html.indexOf('class="metrics per-label"'));
      assert.equal((perLabel.slice(0, perLabel.indexOf('</tbody>')).match(/<tr>/g) ?? []).length, 5 + 2, '2 header rows + 5 label rows');
      assert.equal((html.match(/<figure class="sample /g) ?? []).length, 8);
      for (const [id] of SECTIONS) assert.ok(html.includes(`id="${id}"`));

      const meta = await sharp(shot).metadata();
      assert.equal(meta.format, 'png');
      assert.deepEqual([meta.width, meta.height], [1280, 2400]);
      const { data, info } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const colours = new Set<number>();
      for (let i = 0; i < data.length; i += info.channels * 7) colours.add(((data[i] as number) << 16) | ((data[i + 1] as number) << 8) | (data[i + 2] as number));
      assert.ok(colours.size > 200, `screenshot has ${colours.size} distinct colours`);
      const stats = await sharp(shot).stats();
      assert.ok(stats.channels.every((c) => c.stdev > 5), 'not a flat image');
      if (keep) t.diagnostic(`report: ${report}\nscreenshot: ${shot}`);
    } finally {
      if (!keep) rmSync(dir, { recursive: true, force: true });
    }
  });
});

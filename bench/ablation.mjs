#!/usr/bin/env node
// The architecture ablation: trains every label-RNN × slice-RNN combination with the same preset
// and data, then prints one table (validation F2 of each run's best checkpoint, tuned thresholds).
//
//   node bench/ablation.mjs [--preset quickstart] [--out runs/ablation] [--set key=value ...]
//
// Extra --set options apply to every run (e.g. --set train.epochs=4 for a faster grid).
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '..', '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const args = process.argv.slice(2);
const take = (flag, fallback) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args.splice(i, 2)[1] : fallback;
};
const preset = take('--preset', 'quickstart');
const out = resolve(take('--out', 'runs/ablation'));
const extra = [];
for (let i = args.indexOf('--set'); i >= 0; i = args.indexOf('--set')) extra.push(...args.splice(i, 2));

const labelRnns = ['none', 'lstm', 'gru'];
const sliceRnns = ['none', 'gru', 'lstm'];
const rows = [];
for (const label of labelRnns) {
  for (const slice of sliceRnns) {
    const name = `ablation-${label}-${slice}`;
    const t0 = Date.now();
    // Each combination in one stage of 16 epochs (the quickstart preset's 10 + 6); extra --set options come last and win.
    const single = ['--set', 'stages=[]', '--set', 'train.epochs=16'];
    const r = spawnSync(process.execPath, [cli, 'train', '--preset', preset, '--out', out, '--set', `name=${name}`, '--set', `model.label_rnn=${label}`, '--set', `model.slice_rnn=${slice}`, ...single, ...extra], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      rows.push({ label, slice, error: `exit ${r.status}` });
      continue;
    }
    const runDir = /run: (.+)/.exec(r.stdout)?.[1]?.trim();
    const final = JSON.parse(readFileSync(join(runDir, 'final-metrics.json'), 'utf8'));
    rows.push({ label, slice, slice_f2: final.slice.f2.micro, patient_f2: final.patient.f2.micro, auc: final.slice.auc.macro, minutes: (Date.now() - t0) / 60000 });
    process.stderr.write(`${name}: slice F2 ${final.slice.f2.micro.toFixed(4)}\n`);
  }
}
const f = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(4) : '—');
console.log(`| label RNN | slice RNN | slice micro-F2 | patient micro-F2 | slice AUC (macro) | minutes |`);
console.log(`| --- | --- | --- | --- | --- | --- |`);
for (const r of rows) console.log(r.error ? `| ${r.label} | ${r.slice} | ${r.error} | | | |` : `| ${r.label} | ${r.slice} | ${f(r.slice_f2)} | ${f(r.patient_f2)} | ${f(r.auc)} | ${r.minutes.toFixed(1)} |`);

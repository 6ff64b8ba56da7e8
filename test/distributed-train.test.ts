/**
 * `ichnet train --nproc 2` end to end on the CPU (Gloo): one run directory written by rank 0,
 * validation sharded across the ranks equal to one process evaluating the same checkpoint,
 * Ctrl-C → every rank stops, one resumable checkpoint, exit 130, resumed on another number of
 * ranks, or on as many, continuing the same trajectory; a rank killed → the job fails naming it;
 * never an orphan.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import type { ExperimentConfigInput } from '../src/index.js';
import { openDataset } from '../src/data/datasets/index.js';
import { packageRoot } from '../src/package-root.js';
import { openCheckpoint } from '../src/train/checkpoint.js';
import { infer } from '../src/train/infer.js';
import { scoreInference, tuneThresholdsFor } from '../src/train/scores.js';
import { readSafetensors } from './helpers/safetensors.js';
import { tempDir } from './helpers/temp-dir.js';
import { tinyExperiment } from './helpers/tiny.js';

const cli = join(packageRoot, 'dist', 'src', 'cli', 'main.js');
const tmp = tempDir('ichnet-ddp-train-');
const dataRoot = join(tmp, 'data');

/** Writes a config file for a run under <tmp>/<name>/ and returns its path and the run parent. */
function config(name: string, overrides: Partial<ExperimentConfigInput> = {}): { path: string; out: string } {
  const out = join(tmp, name);
  const path = join(tmp, `${name}.json`);
  const base = tinyExperiment(dataRoot, out, { threads: 1, distributed: { timeout: 20 }, ...overrides });
  writeFileSync(path, JSON.stringify(base));
  return { path, out };
}

/** Runs the CLI; resolves with its exit code and output. */
function cliRun(args: string[], onSpawn?: (pid: number) => void, timeoutMs = 600_000): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
    if (child.pid) onSpawn?.(child.pid);
  });
}

/** Processes whose command line mentions `text` (ours: the config path), excluding pgrep itself. */
function processesMentioning(text: string): string[] {
  const r = spawnSync('pgrep', ['-f', text], { encoding: 'utf8' });
  return r.stdout.trim().split('\n').filter(Boolean);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once the only run directory under `out` has logged a training step. */
async function firstStep(out: string): Promise<string> {
  for (;;) {
    const runs = existsSync(out) ? readdirSync(out) : [];
    const metrics = runs.length === 1 ? join(out, runs[0] as string, 'metrics.jsonl') : '';
    if (metrics && existsSync(metrics) && readFileSync(metrics, 'utf8').includes('"kind":"step"')) return join(out, runs[0] as string);
    await sleep(25);
  }
}

/**
 * The runs that Ctrl-C interrupts and the one they are compared with: four epochs of three steps,
 * so that the interrupt, sent once the first step is logged, lands well before the last step.
 */
const LONGER = { train: { epochs: 4, patients_per_batch: 2, max_slices: 4, eval_max_slices: 4, validation: 0.25, report_samples: 2, log_every: 1 } };

/** The tiny experiment's four epochs straight through on 2 ranks, run once for the tests that read it. */
let straight: Promise<{ path: string; runDir: string }> | undefined;
function straightRun(): Promise<{ path: string; runDir: string }> {
  straight ??= (async () => {
    const { path, out } = config('full', LONGER);
    const r = await cliRun(['train', '--config', path, '--nproc', '2']);
    assert.equal(r.code, 0, r.stderr);
    const runs = readdirSync(out);
    assert.equal(runs.length, 1, `run directories: ${runs.join(', ')}`);
    return { path, runDir: join(out, runs[0] as string) };
  })();
  return straight;
}

/** Ctrl-C to the launcher of `config`'s run on 2 ranks once a step is logged; its run directory. */
async function interruptedRun(path: string, out: string): Promise<string> {
  let launcher = 0;
  const done = cliRun(['train', '--config', path, '--nproc', '2'], (pid) => (launcher = pid));
  const runDir = await firstStep(out);
  process.kill(launcher, 'SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.deepEqual(processesMentioning(path), [], 'no rank left running');
  return runDir;
}

describe('ichnet train --nproc 2 (Gloo on the CPU)', () => {
  it('trains with one run directory; the sharded validation equals one process evaluating the checkpoint', async () => {
    const { path, runDir } = await straightRun();
    const final = JSON.parse(readFileSync(join(runDir, 'final-metrics.json'), 'utf8')) as { thresholds: number[]; slice: { f2: { micro: number; macro: number } }; patient: { f2: { micro: number } } };
    const steps = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; slicesPerSecond?: number });
    assert.ok(steps.some((s) => s.kind === 'step' && (s.slicesPerSecond ?? 0) > 0));

    // One process: the best checkpoint on the run's validation patients.
    const opened = await openCheckpoint(runDir, { threads: 2 });
    try {
      const dataset = await openDataset(opened.config.data);
      const wanted = new Set(opened.state.validationPatients);
      const validation = dataset.patients.filter((p) => wanted.has(p.id));
      const c = opened.config;
      const inference = await infer(opened.session, validation, { labels: opened.state.labels.length, patientsPerBatch: c.train.patients_per_batch, maxSlices: c.train.eval_max_slices, prefetch: 2, onError: 'error', workers: 0 });
      const scores = scoreInference(opened.state.labels, validation, inference, final.thresholds);
      assert.ok(Math.abs(scores.slice.f2.micro - final.slice.f2.micro) < 1e-9, `slice F2 ${scores.slice.f2.micro} vs ${final.slice.f2.micro}`);
      assert.ok(Math.abs(scores.slice.f2.macro - final.slice.f2.macro) < 1e-9);
      assert.ok(Math.abs(scores.patient.f2.micro - final.patient.f2.micro) < 1e-9);
      // The thresholds tuned during training (on the gathered shards) are one process's.
      assert.deepEqual(tuneThresholdsFor(opened.state.labels, validation, inference), final.thresholds);
    } finally {
      await opened.session.close();
    }
    assert.deepEqual(processesMentioning(path), []);
  });

  it('Ctrl-C: every rank stops, one resumable checkpoint, exit 130; it resumes on 1 rank', async () => {
    const { path, out } = config('interrupt', { train: { epochs: 3, patients_per_batch: 2, max_slices: 4, eval_max_slices: 4, validation: 0.25, report_samples: 0, log_every: 1 } });
    const runDir = await interruptedRun(path, out);
    const state = JSON.parse(readFileSync(join(runDir, 'checkpoints', 'last', 'state.json'), 'utf8')) as { interrupted: boolean; worldSize: number; globalStep: number };
    assert.equal(state.interrupted, true);
    assert.equal(state.worldSize, 2);
    const resumed = await cliRun(['train', '--resume', runDir]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const after = JSON.parse(readFileSync(join(runDir, 'checkpoints', 'last', 'state.json'), 'utf8')) as { interrupted: boolean; globalStep: number; worldSize: number };
    assert.equal(after.worldSize, 1);
    assert.ok(after.globalStep > state.globalStep);
  });

  it('Ctrl-C, then --resume on 2 ranks: the final weights equal those of the run that went straight through', async () => {
    const { runDir: straightDir } = await straightRun();
    const { path, out } = config('resumed', LONGER);
    const runDir = await interruptedRun(path, out);
    const stopped = JSON.parse(readFileSync(join(runDir, 'checkpoints', 'last', 'state.json'), 'utf8')) as { interrupted: boolean; globalStep: number };
    assert.equal(stopped.interrupted, true);
    const resumed = await cliRun(['train', '--resume', runDir, '--nproc', '2']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(processesMentioning(runDir), [], 'no rank left running');
    const read = (dir: string) => ({
      state: JSON.parse(readFileSync(join(dir, 'checkpoints', 'last', 'state.json'), 'utf8')) as { globalStep: number; worldSize: number },
      weights: readSafetensors(join(dir, 'checkpoints', 'last', 'model.safetensors')),
    });
    const a = read(straightDir);
    const b = read(runDir);
    assert.ok(stopped.globalStep < a.state.globalStep, `stopped at step ${stopped.globalStep} of ${a.state.globalStep}`);
    assert.equal(b.state.globalStep, a.state.globalStep);
    assert.equal(b.state.worldSize, 2);
    // Exactly equal: the same batches, augmentation and order of floating-point operations (the
    // gradient sum of two ranks does not depend on their order), and the optimizer state restored.
    assert.deepEqual([...b.weights.keys()].sort(), [...a.weights.keys()].sort());
    for (const [key, t] of a.weights) assert.deepEqual(b.weights.get(key)?.data, t.data, `${key} differs after resuming`);
  });

  it('a rank killed: the job fails within the timeout, naming the rank; nothing left running', async () => {
    const { path, out } = config('killed', { train: { epochs: 30, patients_per_batch: 2, max_slices: 4, eval_max_slices: 4, validation: 0.25, report_samples: 0, log_every: 1 } });
    let launcher = 0;
    const done = cliRun(['train', '--config', path, '--nproc', '2'], (pid) => (launcher = pid));
    await firstStep(out);
    const ranks = spawnSync('pgrep', ['-P', String(launcher)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
    const rank1 = ranks.find((pid) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes('RANK=1'));
    assert.ok(rank1, `rank 1 among ${ranks.join(', ')}`);
    const t0 = Date.now();
    process.kill(Number(rank1), 'SIGKILL');
    const r = await done;
    assert.notEqual(r.code, 0);
    assert.ok(Date.now() - t0 < 20_000 + 15_000, `took ${Date.now() - t0} ms`);
    assert.match(r.stderr, new RegExp(`rank 1 \\(pid ${rank1}\\) was killed by SIGKILL`));
    assert.match(r.stderr, new RegExp(`rank 0 of 2: .* failed: .*rank 1 \\(pid ${rank1}\\) has exited`, 's'));
    assert.deepEqual(processesMentioning(path), [], 'no rank left running');
  });
});

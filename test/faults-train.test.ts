/**
 * Fault injection, training runs: concurrent runs, unreadable slices under `on_error: skip` in
 * training and validation (and every slice of a run), pretrained weights that match nothing,
 * interrupted and killed runs (first-stage checkpoints, leftovers of checkpoint writes), torn
 * state files, and a run directory on a full or read-only filesystem. Tiny shapes throughout.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';

import { IchnetError, openDataset, Trainer, type ExperimentConfigInput } from '../src/index.js';
import { trainValidationSplit } from '../src/data/split.js';
import { packageRoot } from '../src/package-root.js';
import { runPython } from './helpers/oracle.js';
import { tinyExperiment } from './helpers/tiny.js';
import { tempDir } from './helpers/temp-dir.js';
import { mountTmpfs, tmpfsUnavailable } from './helpers/tmpfs.js';

const cli = join(packageRoot, 'dist', 'src', 'cli', 'main.js');
const tmp = tempDir('ichnet-faults-train-');
const pristine = join(tmp, 'pristine');
const noTmpfs = tmpfsUnavailable();
let copies = 0;

/** 8 patients of 3–4 PNG slices, one epoch. */
function experiment(root: string, overrides: Partial<ExperimentConfigInput> = {}): ExperimentConfigInput {
  return tinyExperiment(root, join(tmp, 'runs'), {
    name: 'faults',
    synthetic: { patients: 8, slices: [3, 4], size: 32, format: 'png', seed: 5 },
    train: { epochs: 1, patients_per_batch: 2, max_slices: 4, eval_max_slices: 4, validation: 0.25, report_samples: 0, log_every: 1 },
    ...overrides,
  });
}

/** A fresh copy of the synthetic set (generated once), to damage. */
function dataCopy(): string {
  const root = join(tmp, `data-${copies++}`);
  cpSync(pristine, root, { recursive: true });
  return root;
}

function runCli(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The pid of a process that has exited (so leftovers named after it belong to nobody). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

before(async () => {
  // Generates the set once (Trainer.create does it for format: synthetic).
  await Trainer.create(experiment(pristine, { name: 'generate' }));
});

describe('run directories', () => {
  it('two runs started in the same second get two directories; a named one must be new', async () => {
    const root = dataCopy();
    // An aborted signal: fit() creates the run directory and writes the starting checkpoint only.
    const stop = AbortSignal.abort();
    const [a, b] = await Promise.all([Trainer.create(experiment(root, { name: 'twin' }), { signal: stop }), Trainer.create(experiment(root, { name: 'twin' }), { signal: stop })]);
    assert.equal(a.runDir, b.runDir); // the same generated name, until fit() creates it
    const [ra, rb] = await Promise.all([a.fit(), b.fit()]);
    assert.notEqual(ra.runDir, rb.runDir);
    assert.ok([ra.runDir, rb.runDir].some((d) => d === `${a.runDir.replace(/-2$/, '')}-2`), `${ra.runDir} ${rb.runDir}`);
    for (const dir of [ra.runDir, rb.runDir]) assert.ok(existsSync(join(dir, 'checkpoints', 'last', 'state.json')), dir);
    const named = await Trainer.create(experiment(root), { runDir: ra.runDir, signal: stop });
    await assert.rejects(named.fit(), (e: IchnetError) => {
      assert.match(e.message, /already exists; a new run needs a new directory/);
      assert.equal(e.code, 'RUN_DIR_INVALID');
      return true;
    });
  });

  it('--out on a read-only mount names the directory and the cause', { skip: noTmpfs }, () => {
    const fs = mountTmpfs(1 << 20, { readOnly: true });
    assert.ok(typeof fs !== 'string');
    const config = join(tmp, 'read-only.json');
    writeFileSync(config, JSON.stringify(experiment(dataCopy(), { name: 'ro' })));
    const r = runCli(['train', '--config', config, '--out', join(fs.dir, 'runs')]);
    assert.equal(r.code, 15, r.stderr); // WRITE_FAILED
    assert.match(r.stderr, new RegExp(`${fs.dir}/runs: cannot create the parent of the run directory \\(read-only file system\\)`));
  });
});

describe('skipped inputs', () => {
  it('unreadable slices in training and validation, and a patient with none readable: counted and listed everywhere', async () => {
    const root = dataCopy();
    const dataset = await openDataset({ root });
    const { train, validation } = trainValidationSplit(dataset.patients, 5, 0.25, 0);
    const broken = [
      (train[0]?.slices[1]?.path as string),
      (validation[0]?.slices[0]?.path as string),
      ...(train[1]?.slices.map((s) => s.path) ?? []), // every slice of one training patient
    ];
    for (const path of broken) truncateSync(path, 20);
    const trainer = await Trainer.create(experiment(root, { name: 'skips', seed: 0, data: { format: 'folders', root, on_error: 'skip' } }));
    const announced: string[] = [];
    trainer.on('skipped', (e) => announced.push(...e.items.map((i) => `${e.phase}:${i.path}`)));
    const result = await trainer.fit();
    assert.deepEqual(result.skipped.map((s) => s.path).sort(), [...broken].sort());
    assert.ok(announced.includes(`validation:${broken[1]}`), announced.join('\n'));
    const epochLine = readFileSync(join(result.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; skipped?: number }).find((l) => l.kind === 'epoch');
    assert.equal(epochLine?.skipped, broken.length);
    const report = readFileSync(join(result.runDir, 'report.html'), 'utf8');
    for (const path of broken) assert.ok(report.includes(path), `report.html lists ${path}`);
    const final = JSON.parse(readFileSync(join(result.runDir, 'final-metrics.json'), 'utf8')) as { skipped: { path: string }[] };
    assert.equal(final.skipped.length, broken.length);
  });

  it('a run whose every slice is unreadable says so', async () => {
    const root = dataCopy();
    const dataset = await openDataset({ root });
    for (const p of dataset.patients) for (const s of p.slices) truncateSync(s.path, 20);
    const trainer = await Trainer.create(experiment(root, { name: 'all-skipped', data: { format: 'folders', root, on_error: 'skip' } }));
    await assert.rejects(trainer.fit(), /every slice of the 6 training patient\(s\) was skipped \(data\.on_error: skip\), so there is nothing to train on; \d+ input\(s\) were left out, the first: .*\.png: /);
  });
});

describe('pretrained weights', () => {
  const file = (name: string) => join(tmp, name);
  before(() => {
    runPython(
      `import sys, torch
torch.manual_seed(0)
torch.save({'encoder.conv.weight': torch.randn(4, 3, 3, 3), 'head.bias': torch.randn(5)}, sys.argv[1])
torch.save({'features.0.weight': torch.randn(4, 3, 3, 3), 'features.0.bias': torch.randn(4), 'classifier.6.bias': torch.randn(10)}, sys.argv[2])`,
      [file('unrelated.pth'), file('partial.pth')],
    );
  });

  it('a file matching none of the backbone is an error with the counts', async () => {
    const trainer = await Trainer.create(experiment(dataCopy(), { name: 'pre-none', train: { epochs: 1, validation: 0.25, pretrained: file('unrelated.pth') } }));
    await assert.rejects(trainer.fit(), /unrelated\.pth: train\.pretrained matches none of the backbone's \d+ tensors \(0 loaded, \d+ missing, 2 unexpected, e\.g\. 'encoder\.conv\.weight'/);
  });

  it('a partial match trains and reports loaded / missing / unexpected', async () => {
    const trainer = await Trainer.create(experiment(dataCopy(), { name: 'pre-part', train: { epochs: 1, validation: 0.25, pretrained: file('partial.pth') } }));
    const reports: { loaded: number; unexpected: number; backboneLoaded: number; backboneTotal: number }[] = [];
    trainer.on('pretrained', (r) => reports.push(r));
    await trainer.fit();
    assert.equal(reports.length, 1);
    assert.deepEqual({ loaded: reports[0]?.loaded, unexpected: reports[0]?.unexpected, backboneLoaded: reports[0]?.backboneLoaded }, { loaded: 2, unexpected: 1, backboneLoaded: 2 });
    assert.ok((reports[0]?.backboneTotal ?? 0) > 2);
  });
});

describe('interrupted and killed runs', () => {
  const stages: ExperimentConfigInput['stages'] = [
    { name: 'cnn', epochs: 1, model: { label_rnn: 'none', slice_rnn: 'none' } },
    { name: 'full', epochs: 1 },
  ];

  it('a first-stage checkpoint is evaluated, predicted from and resumed; leftovers of checkpoint writes are cleaned', async () => {
    const root = dataCopy();
    const controller = new AbortController();
    const trainer = await Trainer.create(experiment(root, { name: 'stage1', stages }), { signal: controller.signal });
    trainer.on('step', () => controller.abort());
    const cut = await trainer.fit();
    assert.equal(cut.interrupted, true);
    const checkpoints = join(cut.runDir, 'checkpoints');

    for (const args of [['evaluate', '--checkpoint', cut.runDir, '--data', root, '--json'], ['predict', '--checkpoint', cut.runDir, '--data', root, '--out', join(tmp, 'stage1.csv')]]) {
      const r = runCli(args);
      assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
    }

    // What a killed checkpoint write leaves: a half-written new checkpoint, and (on filesystems
    // without atomic exchange) the previous one moved aside.
    const pid = deadPid();
    mkdirSync(join(checkpoints, `best.tmp-${pid}`));
    writeFileSync(join(checkpoints, `best.tmp-${pid}`, 'model.safetensors'), Buffer.alloc(4096));
    renameSync(join(checkpoints, 'last'), join(checkpoints, `last.old.tmp-${pid}`));
    const resumed = await Trainer.resume(cut.runDir);
    assert.deepEqual(readdirSync(checkpoints).sort(), ['last']);
    const done = await resumed.fit();
    assert.equal(done.interrupted, false);
    assert.deepEqual(readdirSync(checkpoints).sort(), ['best', 'last']);
  });

  it('a torn or empty state.json: resume names the file', async () => {
    const controller = new AbortController();
    const trainer = await Trainer.create(experiment(dataCopy(), { name: 'torn' }), { signal: controller.signal });
    trainer.on('step', () => controller.abort());
    const { runDir } = await trainer.fit();
    const state = join(runDir, 'checkpoints', 'last', 'state.json');
    const text = readFileSync(state, 'utf8');
    writeFileSync(state, '{}');
    await assert.rejects(Trainer.resume(runDir), new RegExp(`${state}: state format version undefined`));
    writeFileSync(state, text.slice(0, text.length / 2));
    await assert.rejects(Trainer.resume(runDir), new RegExp(`${state}: cannot read the checkpoint's state`));
  });

  it('SIGKILL at any moment: the run resumes from its last checkpoint, leaving no temporary directories', async () => {
    const root = dataCopy();
    const config = join(tmp, 'killed.json');
    writeFileSync(config, JSON.stringify(experiment(root, { name: 'killed', train: { epochs: 3, patients_per_batch: 1, max_slices: 4, eval_max_slices: 4, validation: 0.25, report_samples: 0 } })));
    const child = spawn(process.execPath, [cli, 'train', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exit = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // Killed while the second epoch's checkpoints are being written (or just after).
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/epoch 2 \(main\)/.test(stderr) && !child.killed) child.kill('SIGKILL');
    });
    await exit;
    const runDir = /run directory (\S+)/.exec(stderr)?.[1];
    assert.ok(runDir, stderr);
    const resumed = runCli(['train', '--resume', runDir]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(readdirSync(join(runDir, 'checkpoints')).sort(), ['best', 'last']);
  });
});

describe('a full disk under the run directory', { skip: noTmpfs }, () => {
  it('exits 1 naming the file; the last checkpoint stays loadable; no temporary files', () => {
    const root = dataCopy();
    // Room for config, log, one best and one last checkpoint (~2 × 0.9 MB), but not a third copy
    // while the second epoch's best is written.
    const fs = mountTmpfs(2_600_000);
    assert.ok(typeof fs !== 'string');
    const r = runCli(['train', '--data', root, '--out', fs.dir, '--set', 'train.epochs=3', '--set', 'stages=[]', '--set', 'model.width=0.0625', '--set', 'model.input_size=32', '--set', 'model.label_hidden=8', '--set', 'model.slice_hidden=8', '--set', 'threads=2', '--set', 'train.report_samples=0', '--set', 'device=cpu']);
    assert.equal(r.code, 15, `${r.stdout}\n${r.stderr}`); // WRITE_FAILED
    assert.match(r.stderr, /(model\.safetensors|optimizer\.pt|state\.json|metrics\.jsonl|\.tmp): .*(No space left on device|no space left on device)/);
    const runDir = /run directory (\S+)/.exec(r.stderr)?.[1] as string;
    const left = readdirSync(join(runDir, 'checkpoints'));
    assert.ok(left.every((n) => n === 'last' || n === 'best'), left.join());
    assert.ok(existsSync(join(runDir, 'checkpoints', 'last', 'state.json')));
    const evaluated = runCli(['evaluate', '--checkpoint', join(runDir, 'checkpoints', 'last'), '--data', root, '--json']);
    assert.equal(evaluated.code, 0, evaluated.stderr);
  });
});

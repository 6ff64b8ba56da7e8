/** End to end: synthetic data → training → checkpoints → predict → evaluate; resume; Ctrl-C. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import sharp from 'sharp';

import { Trainer, type ExperimentConfigInput } from '../src/index.js';
import { packageRoot } from '../src/package-root.js';
import { tempDir } from './helpers/temp-dir.js';
import { tinyExperiment as tinyExperimentIn } from './helpers/tiny.js';

const cli = join(packageRoot, 'dist', 'src', 'cli', 'main.js');
const tmp = tempDir('ichnet-trainer-');
const dataRoot = join(tmp, 'data');

function tinyExperiment(overrides: Partial<ExperimentConfigInput> = {}): ExperimentConfigInput {
  return tinyExperimentIn(dataRoot, join(tmp, 'runs'), overrides);
}

function runCli(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Trains `experiment`, stops it after `steps` steps, resumes it to the end: the losses of both parts. */
async function interruptAndResume(experiment: ExperimentConfigInput, steps: number): Promise<number[]> {
  const controller = new AbortController();
  const first = await Trainer.create(experiment, { signal: controller.signal });
  const losses: number[] = [];
  first.on('step', (e) => {
    losses.push(e.loss);
    if (losses.length === steps) controller.abort();
  });
  const cut = await first.fit();
  assert.equal(cut.interrupted, true);
  assert.equal(losses.length, steps);
  const resumed = await Trainer.resume(cut.runDir);
  resumed.on('step', (e) => losses.push(e.loss));
  const done = await resumed.fit();
  assert.equal(done.interrupted, false);
  return losses;
}

describe('trainer', () => {
  let runDir = '';

  it('trains, checkpoints, writes predictions and the report', async () => {
    const trainer = await Trainer.create(tinyExperiment());
    const steps: number[] = [];
    trainer.on('step', (e) => steps.push(e.loss));
    const result = await trainer.fit();
    runDir = result.runDir;
    assert.equal(result.interrupted, false);
    assert.ok(steps.length >= 2 * 5 && steps.every(Number.isFinite));
    for (const f of ['config.yaml', 'metrics.jsonl', 'predictions.csv', 'report.html', 'checkpoints/best/model.safetensors', 'checkpoints/best/optimizer.pt', 'checkpoints/last/state.json']) {
      assert.ok(existsSync(join(runDir, f)), f);
    }
    const lines = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; seconds?: number; dataWaitSeconds?: number });
    const epochs = lines.filter((l) => l.kind === 'epoch');
    assert.equal(epochs.length, 2);
    // How long the steps waited for data: measured, and part of the epoch's time.
    for (const e of epochs) assert.ok(typeof e.dataWaitSeconds === 'number' && e.dataWaitSeconds > 0 && e.dataWaitSeconds < (e.seconds as number), JSON.stringify(e));
    assert.equal(lines.filter((l) => l.kind === 'step').length, steps.length);
    const state = JSON.parse(readFileSync(join(runDir, 'checkpoints', 'best', 'state.json'), 'utf8')) as { thresholds: number[]; labels: string[] };
    assert.deepEqual(state.labels, ['ich', 'ivh', 'sah', 'sdh', 'edh']);
    assert.equal(state.thresholds.length, 5);
    assert.ok(result.final && result.final.slice.f2.micro >= 0 && result.final.slice.f2.micro <= 1);
    const predictions = readFileSync(join(runDir, 'predictions.csv'), 'utf8').trim().split('\n');
    assert.equal(predictions[0], 'patient,slice,ich,ivh,sah,sdh,edh,ich_pred,ivh_pred,sah_pred,sdh_pred,edh_pred');
    assert.match(readFileSync(join(runDir, 'report.html'), 'utf8'), /<svg/);

    // evaluate() on the run's own validation split reproduces the final scores; predict() covers every slice.
    const again = await trainer.evaluate();
    assert.ok(Math.abs(again.slice.f2.micro - (result.final?.slice.f2.micro ?? -1)) < 1e-9);
    const predicted = await trainer.predict({ root: dataRoot });
    assert.equal(predicted.probs.size, predicted.dataset.patients.length);
    for (const p of predicted.dataset.patients) assert.equal(predicted.probs.get(p.id)?.length, p.slices.length * 5);
  });

  it("shows a Grad-CAM overlay in report.html for each label present or predicted on a sample slice", async () => {
    const html = readFileSync(join(runDir, 'report.html'), 'utf8');
    const samples = html.match(/<figure class="sample [\s\S]*?<\/ul><\/figcaption><\/figure>/g) ?? [];
    assert.equal(samples.length, 2); // train.report_samples
    const pixels = async (uri: string) => (await sharp(Buffer.from(uri.replace(/^data:image\/png;base64,/, ''), 'base64')).raw().toBuffer({ resolveWithObject: true }));
    let hot = 0;
    for (const card of samples) {
      const [, image] = /<div class="img"><img src="([^"]+)"/.exec(card) ?? [];
      const cams = [...card.matchAll(/<figure class="cam"><img src="([^"]+)"[^>]*\/><figcaption>([^<]+)<\/figcaption><\/figure>/g)].map((m) => ({ uri: m[1] as string, label: m[2] as string }));
      const flagged = [...card.matchAll(/<li class="chip (tp|fn|fp)"[^>]*><span class="name">(\w+)/g)].map((m) => m[2]);
      // The labels present or predicted; on a slice with neither, its most probable label.
      if (flagged.length > 0) assert.deepEqual(cams.map((c) => c.label), flagged);
      else assert.equal(cams.length, 1);
      const plain = await pixels(image as string);
      for (const cam of cams) {
        const overlay = await pixels(cam.uri);
        assert.deepEqual([overlay.info.width, overlay.info.height, overlay.info.channels], [32, 32, 3]);
        assert.deepEqual([plain.info.width, plain.info.height, plain.info.channels], [32, 32, 3]);
        // The heat map shows where it is non-zero; elsewhere the slice is untouched.
        if (!overlay.data.equals(plain.data)) hot++;
      }
    }
    assert.ok(hot > 0, 'some overlay shows a heat map');
  });

  it('scores a run whose best checkpoint is its last epoch as a fresh session of that checkpoint does', async () => {
    // One epoch: the best checkpoint holds the training session's final weights, so the final
    // evaluation reuses that session and its validation; evaluate() opens the checkpoint anew.
    const trainer = await Trainer.create(tinyExperiment({ name: 'one-epoch', train: { epochs: 1, patients_per_batch: 2, max_slices: 6, validation: 0.25, report_samples: 1 } }));
    const result = await trainer.fit();
    assert.equal(result.best?.epoch, 0);
    const fresh = await trainer.evaluate();
    for (const level of ['slice', 'patient'] as const) {
      assert.equal(result.final?.[level].f2.micro, fresh[level].f2.micro, level);
      assert.deepEqual(result.final?.[level].f2.perLabel, fresh[level].f2.perLabel, level);
      const [a, b] = [result.final?.[level].auc.macro ?? Number.NaN, fresh[level].auc.macro ?? Number.NaN];
      assert.ok(Math.abs(a - b) < 1e-6 || (Number.isNaN(a) && Number.isNaN(b)), `${level} AUC ${a} vs ${b}`);
    }
    assert.match(readFileSync(join(result.runDir, 'report.html'), 'utf8'), /<figure class="cam">/);
  });

  it('predicts and evaluates from the command line, and both evaluation paths agree', () => {
    const out = join(tmp, 'pred.csv');
    const predict = runCli(['predict', '--checkpoint', runDir, '--data', dataRoot, '--out', out]);
    assert.equal(predict.code, 0, predict.stderr);
    const rows = readFileSync(out, 'utf8').trim().split('\n');
    const truth = readFileSync(join(dataRoot, 'train.csv'), 'utf8').trim().split('\n');
    assert.equal(rows.length, truth.length, 'one row per slice');
    assert.ok(existsSync(join(tmp, 'pred.patients.csv')));

    const fromCheckpoint = runCli(['evaluate', '--checkpoint', runDir, '--data', dataRoot, '--json']);
    assert.equal(fromCheckpoint.code, 0, fromCheckpoint.stderr);
    const a = JSON.parse(fromCheckpoint.stdout) as { slice: { f2: { micro: number }; auc: { perLabel: Record<string, number | null> } } };

    const labels = join(tmp, 'labels.csv');
    writeFileSync(labels, ['patient,slice,ich,ivh,sah,sdh,edh', ...truth.slice(1)].join('\n'));
    const fromFiles = runCli(['evaluate', '--predictions', out, '--labels', labels, '--json']);
    assert.equal(fromFiles.code, 0, fromFiles.stderr);
    const b = JSON.parse(fromFiles.stdout) as typeof a;
    for (const [label, auc] of Object.entries(a.slice.auc.perLabel)) {
      const other = b.slice.auc.perLabel[label];
      if (auc === null) assert.equal(other, null);
      else assert.ok(Math.abs(auc - (other as number)) < 1e-5, `${label}: ${auc} vs ${other}`);
    }

    const course = join(tmp, 'submission.csv');
    assert.equal(runCli(['predict', '--checkpoint', runDir, '--data', dataRoot, '--out', course, '--format', 'course']).code, 0);
    const sub = readFileSync(course, 'utf8').trim().split('\n');
    assert.equal(sub[0], 'ID,Predicted');
    assert.equal(sub.length - 1, (truth.length - 1) * 5);
    assert.match(sub[1] ?? '', /^[\w.-]+_ich,[01]$/);
  });

  it('resumes an interrupted run on the same trajectory', async () => {
    const reference = await Trainer.create(tinyExperiment({ name: 'ref' }));
    const full: number[] = [];
    reference.on('step', (e) => full.push(e.loss));
    await reference.fit();

    assert.deepEqual(await interruptAndResume(tinyExperiment({ name: 'cut' }), 3), full);
  });

  it('resumes inside the second stage of a two-stage recipe on the same trajectory', async () => {
    // The quickstart preset's shape: the CNN alone, then the whole model from it at a lower backbone rate.
    const stages: ExperimentConfigInput['stages'] = [
      { name: 'cnn', epochs: 1, model: { label_rnn: 'none', slice_rnn: 'none' } },
      { name: 'full', epochs: 2, optim: { backbone_lr_mult: 0.1 } },
    ];
    const reference = await Trainer.create(tinyExperiment({ name: 'staged-ref', stages }));
    const full: number[] = [];
    const seen: string[] = [];
    reference.on('step', (e) => full.push(e.loss));
    reference.on('stage', (e) => seen.push(`${e.name}:${e.epochs}`));
    await reference.fit();
    assert.deepEqual(seen, ['cnn:1', 'full:2']);
    const perEpoch = full.length / 3;

    // Stopped two steps into the second stage.
    assert.deepEqual(await interruptAndResume(tinyExperiment({ name: 'staged-cut', stages }), perEpoch + 2), full);
  });

  it('Ctrl-C writes a resumable checkpoint and exits with 130', async () => {
    const config = join(tmp, 'sigint.json');
    writeFileSync(config, JSON.stringify(tinyExperiment({ name: 'sigint', train: { epochs: 3, patients_per_batch: 1, max_slices: 4, validation: 0.25, report_samples: 0 } })));
    const child = spawn(process.execPath, [cli, 'train', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/stage main/.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    assert.equal(await exit, 130, stderr);
    const m = /Resume with: ichnet train --resume (\S+)/.exec(stderr);
    assert.ok(m, stderr);
    const state = JSON.parse(readFileSync(join(m[1] as string, 'checkpoints', 'last', 'state.json'), 'utf8')) as { interrupted: boolean };
    assert.equal(state.interrupted, true);
    const resumed = runCli(['train', '--resume', m[1] as string]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /Validation \(best checkpoint/);
  });
});

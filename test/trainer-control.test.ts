/**
 * Controlling a Trainer as a Lightning or tfjs user expects: an aborted signal runs no step,
 * `onAbort: 'reject'` rejects with the signal's reason, `stopTraining` ends training early, a
 * throwing or rejecting listener or callback stops training with a resumable checkpoint and
 * rejects with its error, stages are named alike in events and results with a best epoch each,
 * nothing is written before `fit()`, the logger receives the data generation lines, and `step`
 * events carry the run's total steps and an ETA.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';

import { Trainer, type ExperimentConfigInput, type StepEvent } from '../src/index.js';
import { tempDir } from './helpers/temp-dir.js';
import { tinyExperiment } from './helpers/tiny.js';

const tmp = tempDir('ichnet-control-');
const dataRoot = join(tmp, 'data');
const experiment = (name: string, overrides: Partial<ExperimentConfigInput> = {}) => tinyExperiment(dataRoot, join(tmp, 'runs'), { name, ...overrides });

interface SavedState {
  interrupted: boolean;
  globalStep: number;
  batchInEpoch: number;
}
const lastState = (runDir: string) => JSON.parse(readFileSync(join(runDir, 'checkpoints', 'last', 'state.json'), 'utf8')) as SavedState;

describe('trainer control', () => {
  it('creates nothing before fit(), and hands the data generation lines to the logger', async () => {
    const lines: string[] = [];
    const trainer = await Trainer.create(experiment('lazy'), { logger: (line) => lines.push(line) });
    assert.match(lines.join('\n'), /generating the synthetic CT set \(12 patients/);
    assert.equal(existsSync(trainer.runDir), false, 'no run directory before fit()');
  });

  it('runs no step for an already aborted signal, and resumes from the checkpoint it writes', async () => {
    const controller = new AbortController();
    controller.abort();
    const trainer = await Trainer.create(experiment('pre-aborted'), { signal: controller.signal });
    let steps = 0;
    trainer.on('step', () => steps++);
    const result = await trainer.fit();
    assert.equal(steps, 0);
    assert.equal(result.interrupted, true);
    assert.deepEqual([lastState(result.runDir).globalStep, lastState(result.runDir).interrupted], [0, true]);
    const resumed = await Trainer.resume(result.runDir);
    const done = await resumed.fit();
    assert.equal(done.interrupted, false);
    assert.ok(done.final);
  });

  it("rejects with the signal's reason under onAbort: 'reject', after writing the checkpoint", async () => {
    const controller = new AbortController();
    const reason = new Error('stop here');
    const trainer = await Trainer.create(experiment('reject'), { signal: controller.signal, onAbort: 'reject' });
    trainer.on('step', (e) => {
      if (e.step === 2) controller.abort(reason);
    });
    await assert.rejects(trainer.fit(), (e: unknown) => e === reason);
    const state = lastState(trainer.runDir);
    assert.deepEqual([state.interrupted, state.globalStep, state.batchInEpoch], [true, 2, 2]);
  });

  it('ends training early when stopTraining is set, and still scores the best checkpoint', async () => {
    const trainer = await Trainer.create(experiment('stopped'));
    const steps: StepEvent[] = [];
    trainer.on('step', (e) => {
      steps.push(e);
      if (e.step === 3) trainer.stopTraining = true;
    });
    const result = await trainer.fit();
    assert.equal(steps.length, 3);
    assert.equal(result.interrupted, false);
    assert.equal(result.history.filter((h) => h.kind === 'epoch').length, 1, 'the partial epoch was validated');
    assert.ok(result.final && existsSync(join(result.runDir, 'report.html')));
  });

  for (const kind of ['a throwing listener', 'a rejecting async listener', 'a failing callback'] as const) {
    it(`stops at ${kind} with a resumable checkpoint and rejects with its error`, async () => {
      const failure = new Error(`${kind} failed`);
      const failAt2 = (e: StepEvent) => {
        if (e.step === 2) throw failure;
      };
      const trainer = await Trainer.create(experiment(kind.replaceAll(' ', '-')), kind === 'a failing callback' ? { callbacks: { onStep: failAt2 } } : {});
      let steps = 0;
      trainer.on('step', () => steps++);
      if (kind === 'a throwing listener') trainer.on('step', failAt2);
      if (kind === 'a rejecting async listener') trainer.on('step', async (e) => failAt2(e));
      await assert.rejects(trainer.fit(), (e: unknown) => e === failure);
      assert.equal(steps, 2, 'no step after the failure');
      const state = lastState(trainer.runDir);
      assert.deepEqual([state.interrupted, state.globalStep], [true, 2]);
      const done = await (await Trainer.resume(trainer.runDir)).fit();
      assert.equal(done.interrupted, false);
    });
  }

  it('awaits async callbacks before the next step', async () => {
    const order: string[] = [];
    const trainer = await Trainer.create(experiment('awaited', { train: { epochs: 1, patients_per_batch: 3, max_slices: 4, validation: 0.25, report_samples: 0 } }), {
      callbacks: {
        onStep: async (e) => {
          await delay(20);
          order.push(`callback ${e.step}`);
        },
      },
    });
    trainer.on('step', (e) => order.push(`event ${e.step}`));
    await trainer.fit();
    assert.deepEqual(order, ['event 1', 'callback 1', 'event 2', 'callback 2', 'event 3', 'callback 3']);
  });

  it('names stages alike in events and the result, with a best epoch per stage, total steps and an ETA', async () => {
    const stages: ExperimentConfigInput['stages'] = [
      { name: 'cnn', epochs: 1, model: { label_rnn: 'none', slice_rnn: 'none' } },
      { name: 'full', epochs: 2 },
    ];
    const trainer = await Trainer.create(experiment('staged', { stages }));
    const seen = { stage: new Set<string>(), best: [] as Array<[string, boolean]>, steps: [] as StepEvent[] };
    trainer.on('stage', (e) => seen.stage.add(e.name));
    trainer.on('best', (e) => seen.best.push([e.stage, e.checkpoint]));
    trainer.on('step', (e) => seen.steps.push(e));
    const result = await trainer.fit();

    assert.deepEqual([...seen.stage], ['cnn', 'full']);
    assert.deepEqual(result.stages.map((s) => s.name), ['cnn', 'full']);
    assert.deepEqual(new Set(seen.steps.map((s) => s.stage)), seen.stage);
    assert.equal(result.best?.stage, 'full');
    assert.equal(result.best?.stageIndex, 1);
    assert.deepEqual(result.stages.map((s) => s.best?.stage), ['cnn', 'full']);
    assert.ok(seen.best.some(([stage, checkpoint]) => stage === 'cnn' && !checkpoint), 'the first stage has a best epoch, not a best checkpoint');
    assert.ok(seen.best.some(([stage, checkpoint]) => stage === 'full' && checkpoint));

    const total = seen.steps.length;
    assert.ok(seen.steps.every((s, i) => s.step === i + 1 && s.totalSteps === total));
    assert.ok(seen.steps.every((s) => Number.isFinite(s.etaSeconds) && s.etaSeconds >= 0));
    assert.equal(seen.steps.at(-1)?.etaSeconds, 0);
    assert.ok((seen.steps[0]?.etaSeconds ?? 0) > 0);
  });
});

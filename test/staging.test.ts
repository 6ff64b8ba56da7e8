/**
 * Staging (`train.overlap`, docs/ARCHITECTURE.md §9): batch k+1's input is prepared on the
 * session's staging thread while step k runs. Staged and unstaged runs agree bit for bit — training
 * steps with augmentation and CLAHE (host and device pipelines), evaluation and prediction, and a
 * whole Trainer run; an error while staging rejects the step that uses the batch; a run stopped with
 * a batch staged leaves no staging running; the data wait counts only waits no step covered.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';

import { augmentSchema, IchnetError, Rng, sampleAugmentation, Session, Trainer, type Batch, type SessionConfigInput, type StepResult } from '../src/index.js';
import { awaitData } from '../src/train/data-wait.js';
import { randomBatch, tinyConfig, tinyExperiment } from './helpers/tiny.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('ichnet-staging-');

/** Every patient augmented at full strength, gamma included. */
const augment = augmentSchema.parse({ p: 1, flip: 0.5, gamma: 0.2, schedule: { kind: 'constant' } });
/** Four training batches of 40² HU slices (resampled to 32², CLAHE on), each with augmentation. */
const batches: Batch[] = [0, 1, 2, 3].map((k) => ({ ...randomBatch(100 + k, [3, 2], { pixels: 'int16', size: 40 }), aug: sampleAugmentation(augment, 0, 2, new Rng(k)) }));

const config = (where: 'host' | 'device'): SessionConfigInput => tinyConfig({ prep: { clahe: { enabled: true }, where } });

/** Runs `batches` through the session's step, staging batch k+1 while step k runs when `staged`. */
async function runSteps(session: Session, step: (b: Batch) => Promise<StepResult>, mode: 'train' | 'eval', staged: boolean): Promise<StepResult[]> {
  const results: StepResult[] = [];
  let staging = staged ? session.stage(batches[0] as Batch, mode) : Promise.resolve();
  for (let k = 0; k < batches.length; k++) {
    const pending = step(batches[k] as Batch);
    if (staged && k + 1 < batches.length) staging = session.stage(batches[k + 1] as Batch, mode);
    results.push(await pending);
  }
  await staging;
  return results;
}

/** Everything a run produced: losses, logits, probabilities, and (for training) the weights file's bytes. */
async function outcome(where: 'host' | 'device', staged: boolean, tag: string): Promise<{ steps: StepResult[]; evals: StepResult[]; predictions: StepResult[]; weights: Buffer }> {
  const session = await Session.create(config(where));
  try {
    const steps = await runSteps(session, (b) => session.trainStep(b), 'train', staged);
    const evals = await runSteps(session, (b) => session.evalStep(b), 'eval', staged);
    const predictions = await runSteps(session, (b) => session.predict(b), 'eval', staged);
    const file = join(tmp, `${tag}-${where}-${staged ? 'staged' : 'inline'}.safetensors`);
    await session.saveWeights(file);
    return { steps, evals, predictions, weights: readFileSync(file) };
  } finally {
    await session.close();
  }
}

const same = (a: StepResult[], b: StepResult[], what: string): void => {
  assert.deepEqual(a.map((r) => r.loss), b.map((r) => r.loss), `${what}: losses`);
  a.forEach((r, k) => {
    assert.deepEqual(Buffer.from((b[k] as StepResult).logits.buffer), Buffer.from(r.logits.buffer), `${what} ${k}: logits`);
    assert.deepEqual(Buffer.from((b[k] as StepResult).patientProbs.buffer), Buffer.from(r.patientProbs.buffer), `${what} ${k}: probabilities`);
  });
};

describe('staging a batch while a step runs', () => {
  for (const where of ['host', 'device'] as const) {
    it(`gives bit-identical training steps, evaluation and predictions (prep.where: ${where})`, async () => {
      const inline = await outcome(where, false, 'session');
      const staged = await outcome(where, true, 'session');
      same(staged.steps, inline.steps, 'trainStep');
      same(staged.evals, inline.evals, 'evalStep');
      same(staged.predictions, inline.predictions, 'predict');
      assert.ok(staged.weights.equals(inline.weights), 'the weights after 4 staged steps equal those after 4 inline steps');
    });
  }

  // Skipped where the process already runs at the lowest priority (nothing lower to go to).
  it('prepares on the CPU at the lowest scheduling priority, so that it takes the cores the step leaves idle', { skip: process.platform !== 'linux' || getPriority() === 19 }, async () => {
    // The nice value of each of this process's threads (/proc/self/task/TID/stat, field 19).
    const niceValues = (): number[] =>
      readdirSync('/proc/self/task').flatMap((tid) => {
        try {
          const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
          return [Number(fields[16])];
        } catch {
          return []; // a thread that ended meanwhile
        }
      });
    const lowest = (): number => niceValues().filter((n) => n === 19).length;
    const session = await Session.create(config('host'));
    try {
      await session.trainStep(batches[0] as Batch);
      const before = lowest();
      const staging = session.stage(batches[1] as Batch, 'train');
      await session.trainStep(batches[1] as Batch);
      await staging;
      assert.equal(lowest(), before + 1, 'one more thread at nice 19: the staging thread');
      assert.ok(niceValues().filter((n) => n === getPriority()).length > 1, "the main thread and the step's threads keep the process's priority");
    } finally {
      await session.close();
    }
  });

  it('uses a staged input only for the batch object and mode it was staged for', async () => {
    const a = await Session.create(config('host'));
    const b = await Session.create(config('host'));
    try {
      const batch = batches[0] as Batch;
      // Staged for evaluation, then trained on: the step must prepare its own augmented input.
      const staging = a.stage(batch, 'eval');
      const [x, y] = await Promise.all([a.trainStep(batch), b.trainStep(batch)]);
      await staging;
      same([x], [y], 'a train step after an eval staging');
      // Staged for one batch object, evaluated on an equal copy: the copy is preprocessed itself.
      const copy: Batch = { ...batch, images: (batch.images as Int16Array).slice() };
      a.stage(batch, 'eval');
      same([await a.evalStep(copy)], [await b.evalStep(batch)], 'an eval of another batch object');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('rejects the step that uses a batch whose staging failed, and the session stays usable', async () => {
    // An input size whose model input cannot be allocated anywhere (3 × 2²⁴ × 2²⁴ floats per slice,
    // more than a 64-bit address space holds): preparing it fails on the staging thread.
    const session = await Session.create(tinyConfig({ prep: { input_size: 2 ** 24 } }));
    try {
      const batch = randomBatch(5, [2], { pixels: 'int16', size: 32 });
      const staging = session.stage(batch, 'eval');
      await assert.rejects(session.predict(batch), (e: unknown) => e instanceof IchnetError && e.code === 'NATIVE_FAILURE' && /allocat/i.test(e.message));
      await staging; // resolved: the failure belongs to the step
      await assert.rejects(session.trainStep(batch), /allocat/i); // unstaged, the same error from the step itself
      assert.equal((await session.info()).step, 0);
    } finally {
      await session.close();
    }
  });

  it('closes a session with a batch still staged, and ignores staging after close', async () => {
    const session = await Session.create(config('host'));
    const staging = session.stage(batches[0] as Batch, 'train');
    await session.close();
    await staging;
    await session.stage(batches[1] as Batch, 'train'); // a closed session stages nothing, and says so at the step
    await assert.rejects(session.trainStep(batches[1] as Batch), (e: unknown) => e instanceof IchnetError && e.code === 'SESSION_CLOSED');
  });
});

describe('the Trainer with and without overlap', () => {
  const dataRoot = join(tmp, 'data');
  /** Stage promises the sessions handed out, with whether each had settled, in order. */
  const watchStaging = (): { settled: boolean[]; restore: () => void } => {
    const original = Session.prototype.stage;
    const settled: boolean[] = [];
    Session.prototype.stage = function (this: Session, batch: Batch, mode: 'train' | 'eval') {
      const k = settled.push(false) - 1;
      return original.call(this, batch, mode).then(() => void (settled[k] = true));
    };
    return { settled, restore: () => void (Session.prototype.stage = original) };
  };

  it('trains and validates bit-identically staged and unstaged, and reports its data wait', async () => {
    const run = async (overlap: boolean) => {
      const trainer = await Trainer.create(
        tinyExperiment(dataRoot, join(tmp, `runs-${overlap}`), {
          prep: { input_size: 32, clahe: { enabled: true } },
          train: { epochs: 2, patients_per_batch: 2, max_slices: 4, eval_max_slices: 4, validation: 0.25, report_samples: 0, log_every: 1, overlap },
        }),
      );
      const losses: number[] = [];
      trainer.on('step', (e) => losses.push(e.loss));
      const result = await trainer.fit();
      const read = (p: string) => readFileSync(join(result.runDir, p));
      const epochs = read('metrics.jsonl').toString().trim().split('\n').map((l) => JSON.parse(l) as { kind: string; dataWaitSeconds?: number; seconds?: number }).filter((l) => l.kind === 'epoch');
      return { losses, weights: read('checkpoints/last/model.safetensors'), predictions: read('predictions.csv').toString(), epochs };
    };
    const watch = watchStaging();
    let staged;
    try {
      staged = await run(true);
    } finally {
      watch.restore();
    }
    const inline = await run(false);
    assert.ok(watch.settled.length >= staged.losses.length, `${watch.settled.length} batches staged for ${staged.losses.length} steps`);
    assert.deepEqual(staged.losses, inline.losses);
    assert.ok(staged.weights.equals(inline.weights), 'the last checkpoints are byte-identical');
    assert.equal(staged.predictions, inline.predictions);
    for (const e of staged.epochs) assert.ok(typeof e.dataWaitSeconds === 'number' && e.dataWaitSeconds > 0 && e.dataWaitSeconds < (e.seconds as number), JSON.stringify(e));
  });

  for (const how of ['stopTraining', 'the signal'] as const) {
    it(`leaves no staging running when ${how} stops it with a batch staged`, async () => {
      const controller = new AbortController();
      const watch = watchStaging();
      try {
        const trainer = await Trainer.create(tinyExperiment(dataRoot, join(tmp, `stop-${how === 'stopTraining' ? 'flag' : 'signal'}`)), { signal: controller.signal });
        trainer.on('step', (e) => {
          if (e.step !== 1) return;
          if (how === 'stopTraining') trainer.stopTraining = true;
          else controller.abort();
        });
        let stagedAtStop = 0;
        trainer.on('step', () => (stagedAtStop = watch.settled.length));
        const result = await trainer.fit();
        // Batch 2 was staged while step 1 ran and never trained on; fit() waited for its staging.
        assert.ok(stagedAtStop >= 2, `batches staged by the first step's end: ${stagedAtStop}`);
        assert.ok(watch.settled.every(Boolean), `every staging settled before fit() returned: ${JSON.stringify(watch.settled)}`);
        assert.equal(result.interrupted, how === 'the signal');
      } finally {
        watch.restore();
      }
    });
  }
});

describe('the data wait of a step loop', () => {
  it('counts only the part of a wait that no step covered', async () => {
    const clock = { seconds: 0 };
    // The batch arrives while the step still runs: no wait.
    await awaitData(sleep(20), clock, sleep(80));
    assert.equal(clock.seconds, 0);
    // The step ends first: the loop waits from then until the batch arrives (~60 ms).
    await awaitData(sleep(90), clock, sleep(30));
    assert.ok(clock.seconds >= 0.045 && clock.seconds < 0.09, `${clock.seconds}`);
    // No step in flight (the first batch of a loop): all of it.
    const before = clock.seconds;
    await awaitData(sleep(30), clock);
    assert.ok(clock.seconds - before >= 0.025, `${clock.seconds - before}`);
  });
});

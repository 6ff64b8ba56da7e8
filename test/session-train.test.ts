/** Real training on the CPU: learning, checkpoints, learning rates, a free event loop. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { Session } from '../src/index.js';
import { concretePrecision } from '../src/session/precision.js';
import { relError } from './helpers/compare.js';
import { readSafetensors } from './helpers/safetensors.js';
import { randomBatch, tinyConfig } from './helpers/tiny.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('ichnet-train-');

describe('training', () => {
  it('overfits a tiny batch: the loss falls by 10x', async () => {
    const session = await Session.create(tinyConfig({ optim: { lr: 3e-3 } }));
    const batch = randomBatch(3, [4, 3], { pixels: 'uint8' });
    const first = (await session.trainStep(batch)).loss;
    let last = first;
    for (let i = 0; i < 150 && last > first / 10; i++) last = (await session.trainStep(batch)).loss;
    assert.ok(last < first / 10, `loss went from ${first} to ${last}`);
  });

  it('keeps the event loop free while a step runs', async () => {
    const session = await Session.create(tinyConfig({ prep: { input_size: 96 } }));
    const batch = randomBatch(4, [8, 8], { pixels: 'int16', size: 96 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    await session.trainStep(batch);
    const elapsed = performance.now() - t0;
    clearInterval(timer);
    // A step that blocked the loop would let no timer fire before it resolved.
    assert.ok(ticks >= 2, `only ${ticks} timer ticks during a ${elapsed.toFixed(0)} ms step`);
  });

  it('resumes from a checkpoint on the same trajectory', async () => {
    const batches = [0, 1, 2, 3, 4, 5].map((k) => randomBatch(10 + k, [3, 2], { pixels: 'uint8' }));
    const a = await Session.create(tinyConfig());
    for (const b of batches.slice(0, 3)) await a.trainStep(b);
    const ckpt = join(dir, 'ckpt');
    await a.saveCheckpoint(ckpt, { 'state.json': '{"epoch":1}' });
    await a.saveCheckpoint(ckpt, { 'state.json': '{"epoch":2}' }); // overwriting is atomic too
    const continued: number[] = [];
    for (const b of batches.slice(3)) continued.push((await a.trainStep(b)).loss);

    const b = await Session.create(tinyConfig({ seed: 99 })); // other initial weights
    await b.loadCheckpoint(ckpt);
    assert.equal((await b.info()).step, 3);
    const resumed: number[] = [];
    for (const batch of batches.slice(3)) resumed.push((await b.trainStep(batch)).loss);
    assert.deepEqual(resumed, continued);

    assert.deepEqual(readdirSync(ckpt).sort(), ['model.safetensors', 'optimizer.pt', 'state.json']);
    assert.equal(readFileSync(join(ckpt, 'state.json'), 'utf8'), '{"epoch":2}');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('ckpt')), ['ckpt'], 'no temporary directories left');
  });

  it('a checkpoint of another architecture is refused by name', async () => {
    const ckpt = join(dir, 'gru-ckpt');
    await (await Session.create(tinyConfig({ model: { label_rnn: 'gru' } }))).saveCheckpoint(ckpt);
    const lstm = await Session.create(tinyConfig());
    await assert.rejects(lstm.loadCheckpoint(ckpt), /does not match this model's configuration .*label_rnn\.(lstm|gru)/);
  });

  it('learning rate 0 leaves the model unchanged; setLearningRate takes effect', async () => {
    const session = await Session.create(tinyConfig({ model: { backbone: 'vgg16' }, optim: { name: 'sgd', lr: 0.1 } }));
    const batch = randomBatch(5, [3, 3]);
    const before = (await session.predict(batch)).logits;
    await session.setLearningRate(0);
    await session.trainStep(batch);
    assert.deepEqual((await session.predict(batch)).logits, before);
    assert.equal((await session.info()).learningRate, 0);
    await session.setLearningRate(0.1);
    await session.trainStep(batch);
    assert.notDeepEqual((await session.predict(batch)).logits, before);
  });

  it('a backbone learning-rate multiplier of 0 freezes only the backbone', async () => {
    const session = await Session.create(tinyConfig({ optim: { name: 'sgd', lr: 0.1, backbone_lr_mult: 0 }, model: { backbone: 'vgg16' }, loss: { aux_weight: 0.5 } }));
    const before = join(dir, 'before.safetensors');
    const afterPath = join(dir, 'after.safetensors');
    await session.saveWeights(before);
    await session.trainStep(randomBatch(6, [2, 2]));
    await session.saveWeights(afterPath);
    const [w0, w1] = [readSafetensors(before), readSafetensors(afterPath)];
    for (const [name, t] of w0) {
      // The label RNN's input is all zeros, so its input weights never receive a gradient.
      if (/^label_rnn\.(lstm|gru)\.weight_ih/.test(name)) continue;
      const same = t.data.every((v, i) => v === w1.get(name)?.data[i]);
      assert.equal(same, name.startsWith('backbone.'), `${name} ${same ? 'unchanged' : 'changed'}`);
    }
  });

  for (const name of ['adam', 'adamw'] as const) {
    it(`the multi-tensor ${name} (optim.foreach) follows LibTorch's ${name} step for step`, async () => {
      const batches = [0, 1, 2, 3].map((k) => randomBatch(50 + k, [3, 2], { pixels: 'uint8' }));
      const weights: string[] = [];
      const losses: number[][] = [];
      for (const foreach of ['off', 'on'] as const) {
        // weight decay and a backbone multiplier exercise both groups and both decay forms
        const session = await Session.create(tinyConfig({ optim: { name, lr: 3e-3, weight_decay: 0.05, backbone_lr_mult: 0.5, foreach } }));
        const run: number[] = [];
        for (const b of batches) run.push((await session.trainStep(b)).loss);
        losses.push(run);
        const file = join(dir, `${name}-foreach-${foreach}.safetensors`);
        await session.saveWeights(file);
        weights.push(file);
        // and the checkpoint's optimizer state is LibTorch's: the other form resumes from it
        await session.saveCheckpoint(join(dir, `${name}-foreach-${foreach}`));
      }
      assert.deepEqual(losses[1], losses[0]);
      const [a, b] = weights.map(readSafetensors);
      for (const [key, t] of a!) assert.deepEqual(b!.get(key)?.data, t.data, key);
      const resumed = await Session.create(tinyConfig({ optim: { name, lr: 3e-3, weight_decay: 0.05, backbone_lr_mult: 0.5, foreach: 'off' } }));
      await resumed.loadCheckpoint(join(dir, `${name}-foreach-on`));
      const continued = await Session.create(tinyConfig({ optim: { name, lr: 3e-3, weight_decay: 0.05, backbone_lr_mult: 0.5, foreach: 'on' } }));
      await continued.loadCheckpoint(join(dir, `${name}-foreach-off`));
      // the second loss depends on the optimizer state both loaded
      for (const k of [60, 61]) {
        const next = randomBatch(k, [2, 3], { pixels: 'uint8' });
        assert.equal((await continued.trainStep(next)).loss, (await resumed.trainStep(next)).loss);
      }
    });
  }

  it('bf16 autocast on the CPU: close to float32 but not float32, and it learns', async () => {
    const fp32 = await Session.create(tinyConfig());
    const weights = join(dir, 'bf16-twin.safetensors');
    await fp32.saveWeights(weights);
    const bf16 = await Session.create(tinyConfig({ precision: 'bf16' }));
    await bf16.loadWeights(weights);
    assert.equal((await bf16.info()).precision, 'bf16');
    const { labels: _, ...batch } = randomBatch(70, [3, 2], { pixels: 'int16' });
    const [a, b] = [(await fp32.predict(batch)).logits, (await bf16.predict(batch)).logits];
    const rel = relError(b, a);
    assert.ok(rel > 1e-5, `bf16 logits equal float32's (rel. difference ${rel}): autocast did not run`);
    assert.ok(rel < 5e-2, `bf16 logits differ from float32's by ${rel}`);
    const train = randomBatch(3, [4, 3], { pixels: 'uint8' });
    const first = (await bf16.trainStep(train)).loss;
    let last = first;
    for (let i = 0; i < 150 && last > first / 10; i++) last = (await bf16.trainStep(train)).loss;
    assert.ok(last < first / 10, `loss went from ${first} to ${last}`);
  });

  it("precision 'auto': bf16 on CUDA and on CPUs with native bf16, float32 otherwise", () => {
    assert.equal(concretePrecision('auto', 'cpu', true, false), 'fp32');
    assert.equal(concretePrecision('auto', 'cpu', true, true), 'bf16');
    assert.equal(concretePrecision('auto', 'cuda:1', false, false), 'bf16');
    assert.equal(concretePrecision('auto', 'auto', true, false), 'bf16');
    assert.equal(concretePrecision('auto', 'auto', false, false), 'fp32');
    assert.equal(concretePrecision('auto', 'auto', false, true), 'bf16');
    for (const p of ['fp32', 'bf16', 'fp16'] as const) assert.equal(concretePrecision(p, 'cpu', false, true), p);
  });

  it('reports its runtime facts', async () => {
    const session = await Session.create(tinyConfig());
    const info = await session.info();
    const weights = join(dir, 'w.safetensors');
    await session.saveWeights(weights);
    let params = 0;
    for (const [name, t] of readSafetensors(weights)) if (!/running_|num_batches/.test(name)) params += t.data.length;
    assert.equal(info.parameters, params);
    assert.equal(info.device, 'cpu');
    assert.equal(info.threads, 2);
    assert.equal(info.precision, 'fp32');
    assert.match(info.torchVersion, /^\d+\.\d+\.\d+/);
    assert.ok(existsSync(weights));
  });
});

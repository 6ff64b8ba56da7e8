/**
 * The native model, loss and optimizer step against an independent PyTorch implementation of
 * docs/ARCHITECTURE.md §3–§5 (test/oracle/reference.py), loaded from the same safetensors file.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { Session, type Batch } from '../src/index.js';
import { oracleDir, runOracle } from './helpers/oracle.js';
import { readSafetensors, relativeError } from './helpers/safetensors.js';
import { randomBatch, tinyConfig, type ModelCase } from './helpers/tiny.js';

const TOLERANCE = 1e-4;

type Case = ModelCase;

// Every label/slice RNN combination, both backbones, 1..3 patients of unequal lengths, all three
// input kinds (raw 8-bit and HU inputs are resized from another size).
const cases: Case[] = [
  { backbone: 'vgg16_bn', label_rnn: 'lstm', slice_rnn: 'gru', lengths: [4, 1, 3], pixels: 'float32', size: 32 },
  { backbone: 'vgg16', label_rnn: 'lstm', slice_rnn: 'lstm', lengths: [2, 3], pixels: 'int16', size: 40 },
  { backbone: 'vgg16', label_rnn: 'lstm', slice_rnn: 'none', lengths: [3], pixels: 'uint8', size: 48 },
  { backbone: 'vgg16_bn', label_rnn: 'gru', slice_rnn: 'gru', lengths: [1, 4], pixels: 'int16', size: 32 },
  { backbone: 'vgg16', label_rnn: 'gru', slice_rnn: 'lstm', lengths: [2, 2, 1], pixels: 'float32', size: 32 },
  { backbone: 'vgg16_bn', label_rnn: 'gru', slice_rnn: 'none', lengths: [3, 1], pixels: 'uint8', size: 36 },
  { backbone: 'vgg16', label_rnn: 'none', slice_rnn: 'gru', lengths: [4, 2], pixels: 'float32', size: 32 },
  { backbone: 'vgg16_bn', label_rnn: 'none', slice_rnn: 'lstm', lengths: [1, 3, 2], pixels: 'int16', size: 28 },
  { backbone: 'vgg16_bn', label_rnn: 'none', slice_rnn: 'none', lengths: [2, 1], pixels: 'uint8', size: 32 },
];

function name(c: Case): string {
  return `${c.backbone} → ${c.label_rnn} → ${c.slice_rnn}, lengths [${c.lengths}], ${c.pixels} ${c.size}²`;
}

async function setup(c: Case, seed: number, optim: object = {}) {
  const session = await Session.create(
    tinyConfig({
      seed,
      model: { backbone: c.backbone, label_rnn: c.label_rnn, slice_rnn: c.slice_rnn },
      optim,
      loss: { aux_weight: c.label_rnn !== 'none' && c.slice_rnn !== 'none' ? 0.3 : 0 },
    }),
  );
  const batch: Batch = randomBatch(seed, c.lengths, { pixels: c.pixels, size: c.size });
  const dir = oracleDir(session.config, batch);
  const weights = join(dir, 'weights.safetensors');
  if (seed % 2 === 0) {
    // PyTorch's weights (random BatchNorm statistics and conv biases) loaded into ichnet...
    runOracle('make-weights', dir);
    const report = await session.loadWeights(weights);
    assert.deepEqual([report.missing, report.unexpected], [[], []]);
  } else {
    // ...or ichnet's own initial weights loaded into PyTorch.
    await session.saveWeights(weights);
  }
  return { session, batch, dir };
}

describe('model parity with PyTorch', () => {
  cases.forEach((c, k) => {
    it(`forward: ${name(c)}`, async () => {
      const { session, batch, dir } = await setup(c, 100 + k);
      const ours = await session.evalStep(batch);
      runOracle('forward', dir);
      const ref = readSafetensors(join(dir, 'out.safetensors'));
      const logits = ref.get('logits');
      assert.ok(logits);
      assert.deepEqual(logits.shape, [c.lengths.length, Math.max(...c.lengths), 5]);
      const err = relativeError(ours.logits, logits.data);
      assert.ok(err < TOLERANCE, `slice logits relative error ${err}`);
      const probs = relativeError(ours.patientProbs, ref.get('patient_probs')?.data ?? []);
      assert.ok(probs < TOLERANCE, `patient probabilities relative error ${probs}`);
      const loss = relativeError([ours.loss], ref.get('loss')?.data ?? []);
      assert.ok(loss < TOLERANCE, `loss ${ours.loss} vs ${ref.get('loss')?.data[0]}`);
    });
  });

  cases.forEach((c, k) => {
    it(`one SGD step (lr 1): ${name(c)}`, async () => {
      const { session, batch, dir } = await setup(c, 200 + k, { name: 'sgd', lr: 1, momentum: 0, weight_decay: 0, grad_clip: 0 });
      const ours = await session.trainStep(batch);
      await session.saveWeights(join(dir, 'ours-after.safetensors'));
      runOracle('sgd-step', dir);
      const refOut = readSafetensors(join(dir, 'out.safetensors'));
      const lossErr = relativeError([ours.loss], refOut.get('loss')?.data ?? []);
      assert.ok(lossErr < TOLERANCE, `ASL ${ours.loss} vs ${refOut.get('loss')?.data[0]}`);
      const before = readSafetensors(join(dir, 'weights.safetensors'));
      const mine = readSafetensors(join(dir, 'ours-after.safetensors'));
      const theirs = readSafetensors(join(dir, 'after.safetensors'));
      assert.deepEqual([...mine.keys()].sort(), [...theirs.keys()].sort());
      for (const [key, ref] of theirs) {
        const got = mine.get(key)?.data ?? [];
        // Compare the updates (w_after - w_before = -grad): this checks every gradient, not just
        // that large weights barely moved.
        const start = before.get(key)?.data ?? [];
        const dOurs = Array.from(got, (v, i) => v - (start[i] as number));
        const dRef = Array.from(ref.data, (v, i) => v - (start[i] as number));
        if (dRef.every((v) => v === 0)) {
          // A true gradient of 0 (a conv bias before BatchNorm): PyTorch's NCHW sums give exactly 0,
          // ichnet's channels_last sums (the default) may leave rounding noise.
          const noise = Math.sqrt(dOurs.reduce((a, x) => a + x * x, 0));
          assert.ok(noise <= 1e-5, `${key}: PyTorch left it unchanged, ichnet moved it by ${noise}`);
          continue;
        }
        // allclose-style on the whole update: relative 1e-3, plus an absolute 1e-5 for gradients
        // that are rounding noise only (a conv bias followed by BatchNorm has a true gradient of 0).
        const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));
        const diff = norm(dOurs.map((v, i) => v - (dRef[i] as number)));
        assert.ok(diff <= TOLERANCE * 10 * norm(dRef) + 1e-5, `${key}: update differs by ${diff} (|update| ${norm(dRef)})`);
        const wdiff = norm(Array.from(got, (v, i) => v - (ref.data[i] as number)));
        assert.ok(wdiff <= TOLERANCE * norm(ref.data) + 1e-6, `${key}: weights differ by ${wdiff}`);
      }
    });
  });
});

/**
 * Grad-CAM in the addon against an independent PyTorch Grad-CAM (test/oracle/reference.py
 * `grad-cam`: autograd of each slice/label logit with respect to the last convolution block) on the
 * same weights and inputs, for every label/slice RNN combination the gradient can flow through.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { Session, type Batch } from '../src/index.js';
import { oracleDir, runOracle } from './helpers/oracle.js';
import { readSafetensors, relativeError } from './helpers/safetensors.js';
import { randomBatch, tinyConfig, type ModelCase } from './helpers/tiny.js';

const TOLERANCE = 1e-4;

/** A case; `crop` runs it under `prep.crop: head` on int16 slices whose "head" leaves a frame of air. */
type Case = ModelCase & { crop?: boolean };

const cases: Case[] = [
  { backbone: 'vgg16_bn', label_rnn: 'lstm', slice_rnn: 'gru', lengths: [3, 1, 2], pixels: 'int16', size: 64 },
  { backbone: 'vgg16', label_rnn: 'gru', slice_rnn: 'lstm', lengths: [2, 3], pixels: 'float32', size: 64 },
  { backbone: 'vgg16_bn', label_rnn: 'none', slice_rnn: 'gru', lengths: [3], pixels: 'uint8', size: 64 },
  { backbone: 'vgg16', label_rnn: 'lstm', slice_rnn: 'none', lengths: [2, 1], pixels: 'float32', size: 64 },
  { backbone: 'vgg16_bn', label_rnn: 'none', slice_rnn: 'none', lengths: [2], pixels: 'int16', size: 64 },
  { backbone: 'vgg16_bn', label_rnn: 'lstm', slice_rnn: 'gru', lengths: [3, 2], pixels: 'int16', size: 72, crop: true },
];

/**
 * Air (-1000 HU) around each patient's head: frames of different widths per patient (the last
 * slice of patient 0 one row larger, so the series' box is the union), and on padding slices.
 */
function airFrame(batch: Batch): Batch {
  const [B, S, , H, W] = batch.shape;
  const images = Int16Array.from(batch.images as Int16Array);
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) {
      const [top, left, bottom, right] = b === 0 ? [6 - (s === 2 ? 1 : 0), 15, 20, 4] : [25, 3, 2, 30];
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const air = y < top || x < left || y >= H - bottom || x >= W - right || s >= (batch.lengths[b] as number);
          if (air) images[((b * S + s) * H + y) * W + x] = -1000;
        }
      }
    }
  }
  return { ...batch, images };
}

async function setup(c: Case, seed: number) {
  // 64×64 inputs give 4×4 maps; the oracle's weights (random BatchNorm statistics, conv biases).
  const session = await Session.create(tinyConfig({ seed, model: { backbone: c.backbone, label_rnn: c.label_rnn, slice_rnn: c.slice_rnn }, prep: { input_size: 64, crop: c.crop ? 'head' : 'none' } }));
  const random = randomBatch(seed, c.lengths, { pixels: c.pixels, size: c.size });
  const batch = c.crop ? airFrame(random) : random;
  const dir = oracleDir(session.config, batch);
  runOracle('make-weights', dir);
  await session.loadWeights(join(dir, 'weights.safetensors'));
  return { session, batch, dir };
}

describe('Grad-CAM parity with PyTorch', () => {
  cases.forEach((c, k) => {
    it(`${c.backbone} → ${c.label_rnn} → ${c.slice_rnn}, lengths [${c.lengths}]${c.crop ? ', head crop' : ''}`, async () => {
      const { session, batch, dir } = await setup(c, 300 + k);
      try {
        const ours = await session.gradCam(batch);
        runOracle('grad-cam', dir);
        const ref = readSafetensors(join(dir, 'out.safetensors'));
        const maps = ref.get('maps');
        assert.ok(maps);
        const valid = c.lengths.reduce((a, b) => a + b, 0);
        assert.deepEqual(ours.mapShape, [valid * 5, 4, 4]);
        assert.deepEqual(maps.shape, ours.mapShape);
        assert.deepEqual(Array.from(ours.targets), Array.from(ref.get('targets')?.data ?? []));
        const err = relativeError(ours.maps, maps.data);
        assert.ok(err < TOLERANCE, `maps relative error ${err}`);
        // Each map on its own, where it is not negligible next to the largest one.
        const plane = 16;
        const norms = Array.from({ length: valid * 5 }, (_, t) => Math.hypot(...Array.from(maps.data).slice(t * plane, (t + 1) * plane)));
        const largest = Math.max(...norms);
        assert.ok(largest > 0, 'every reference map is zero: the case explains nothing');
        norms.forEach((n, t) => {
          if (n < 1e-3 * largest) return;
          const e = relativeError(ours.maps.subarray(t * plane, (t + 1) * plane), Array.from(maps.data).slice(t * plane, (t + 1) * plane));
          assert.ok(e < TOLERANCE, `map ${t} relative error ${e}`);
        });
        assert.ok(relativeError(ours.logits, ref.get('logits')?.data ?? []) < TOLERANCE, 'logits differ');
        // The region each map covers: the head box with prep.crop, else the whole slice.
        const boxes = c.crop ? Array.from(ref.get('boxes')?.data ?? []) : c.lengths.flatMap(() => [0, 0, c.size, c.size]);
        assert.deepEqual(Array.from(ours.boxes), boxes);
      } finally {
        await session.close();
      }
    });
  });

  it('explains chosen targets only, with the same maps; rejects targets outside the batch', async () => {
    const { session, batch } = await setup(cases[0] as Case, 300);
    try {
      const all = await session.gradCam(batch);
      // (patient 2, slice 1, label 4) and (patient 0, slice 2, label 0): rows 5·5+4 and 2·5+0 of the full run.
      const some = await session.gradCam(batch, Int32Array.from([2, 1, 4, 0, 2, 0]));
      assert.deepEqual(some.mapShape, [2, 4, 4]);
      assert.deepEqual(Array.from(some.maps.subarray(0, 16)), Array.from(all.maps.subarray(29 * 16, 30 * 16)));
      assert.deepEqual(Array.from(some.maps.subarray(16, 32)), Array.from(all.maps.subarray(10 * 16, 11 * 16)));
      await assert.rejects(session.gradCam(batch, Int32Array.from([1, 1, 0])), /not a valid \(patient, slice, label\)/);
      await assert.rejects(session.gradCam(batch, Int32Array.from([0, 0])), /multiple of 3/);
    } finally {
      await session.close();
    }
  });
});

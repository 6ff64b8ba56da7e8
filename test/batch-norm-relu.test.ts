/**
 * VGG16-BN's BatchNorm + ReLU pairs on the CPU run as one fused layer, and with the max-pool that
 * closes a block as one more (native/model/batch_norm_relu.h), in training and prediction. The oracle is LibTorch's own two layers, which `ICHNET_FUSED_BN_RELU=0`
 * selects: from the same weights and batch, one SGD step must give the same update of every weight
 * and BatchNorm running statistic up to float rounding, and the same predictions — and the default
 * must differ from the oracle by rounding somewhere, which shows that the fused layer, not the
 * fallback, ran. (test/model-parity.test.ts checks the same path against PyTorch.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { packageRoot } from '../src/package-root.js';
import { readSafetensors } from './helpers/safetensors.js';

interface ChildReport {
  loss: number;
  /** Patient probabilities of a prediction after the step. */
  probs: number[];
}

const dir = mkdtempSync(join(tmpdir(), 'ichnet-bn-relu-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** One SGD step (lr 1) of a small VGG16-BN at size² in float32, channels_last, then a prediction; weights before and after. */
function child(name: string, size: number, env: NodeJS.ProcessEnv): ChildReport {
  const dist = join(packageRoot, 'dist');
  const script = `
    const { Session } = await import(${JSON.stringify(join(dist, 'src/index.js'))});
    const { randomBatch, tinyConfig } = await import(${JSON.stringify(join(dist, 'test/helpers/tiny.js'))});
    const session = await Session.create(tinyConfig({
      seed: 5, threads: 2, precision: 'fp32', channels_last: true,
      model: { backbone: 'vgg16_bn', width: 1 / 4 }, prep: { input_size: ${size} },
      optim: { name: 'sgd', lr: 1, momentum: 0, weight_decay: 0, grad_clip: 0 },
    }));
    const batch = randomBatch(9, [6, 3, 5], { size: ${size} });
    await session.saveWeights(${JSON.stringify(join(dir, `before-${size}.safetensors`))});
    const { loss } = await session.trainStep(batch);
    await session.saveWeights(${JSON.stringify(join(dir, `${name}-${size}.safetensors`))});
    const { labels: _, ...unlabelled } = batch;
    const { patientProbs } = await session.predict(unlabelled);
    await session.close();
    console.log(JSON.stringify({ loss, probs: Array.from(patientProbs) }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ChildReport;
}

const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));

/**
 * At 48² every fused max-pool sees an even size (48, 24, 12, 6); at 40² the fourth sees 5 × 5, whose
 * last row and column lie in no window.
 */
function compare(size: number): void {
  const fused = child('fused', size, { ICHNET_FUSED_BN_RELU: '' });
  const layers = child('layers', size, { ICHNET_FUSED_BN_RELU: '0' });
  assert.ok(Math.abs(fused.loss - layers.loss) <= 1e-5 * Math.abs(layers.loss), `loss ${fused.loss} against ${layers.loss}`);
  const before = readSafetensors(join(dir, `before-${size}.safetensors`));
  const a = readSafetensors(join(dir, `fused-${size}.safetensors`));
  const b = readSafetensors(join(dir, `layers-${size}.safetensors`));
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  let differs = false;
  let checked = 0;
  for (const [key, ref] of b) {
    const got = a.get(key)?.data ?? [];
    const start = before.get(key)?.data ?? [];
    const dRef = Array.from(ref.data, (v, i) => v - (start[i] as number));
    const dGot = Array.from(got, (v, i) => v - (start[i] as number));
    const diff = norm(dGot.map((v, i) => v - (dRef[i] as number)));
    if (diff > 0) differs = true;
    // A conv bias before BatchNorm has a true gradient of 0: both updates are rounding noise.
    assert.ok(diff <= 1e-4 * norm(dRef) + 1e-5, `${key}: update differs by ${diff} (|update| ${norm(dRef)})`);
    checked++;
  }
  assert.ok(checked > 50, `${checked} tensors compared`);
  assert.ok(differs, 'the default run equals the fallback bit for bit: the fused layer did not run');
  assert.equal(fused.probs.length, layers.probs.length);
  const probDiff = Math.max(...fused.probs.map((p, i) => Math.abs(p - (layers.probs[i] as number))));
  assert.ok(probDiff < 1e-5, `predictions differ by ${probDiff}`);
}

describe('fused BatchNorm + ReLU (+ max-pool) on the CPU', () => {
  for (const size of [48, 40]) {
    it(`equals LibTorch's BatchNorm, ReLU and max-pool layers up to rounding at ${size}²: loss, every update, running statistics, predictions`, () => compare(size));
  }
});

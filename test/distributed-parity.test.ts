/**
 * Data-parallel training (c10d, Gloo, 2 ranks on the CPU) against two oracles, after 3 SGD steps on
 * fixed global batches from the same initial weights (with the auxiliary loss on, and once off, where
 * the label RNN's own head gets no gradient and both sides find unused parameters):
 *  (a) ichnet in one process over the concatenated global batches, and
 *  (b) PyTorch DDP (torch.distributed, Gloo, 2 processes) on test/oracle/reference.py's model.
 * Each rank's loss is its mean over its valid slices, and DDP averages the ranks' gradients: that
 * equals the global batch's mean only when every rank holds as many valid slices, so each step's
 * batches are chosen that way (5 + 5, 4 + 4, 5 + 5 slices). With `sync_bn`, BatchNorm covers the
 * global batch, as in (a); the PyTorch DDP oracle's BatchNorm layers then all-reduce their
 * statistics with torch.distributed.nn.functional.all_reduce (nn.SyncBatchNorm runs on CUDA only in
 * Debian's PyTorch), and ranks holding different numbers of slices are compared with it too.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

import { Session } from '../src/index.js';
import { packageRoot } from '../src/package-root.js';
import { rankScript, writeJobBatches, writeSpec } from './helpers/ddp-job.js';
import { python, readOracleBatch, runOracle } from './helpers/oracle.js';
import { freePort, runRanks } from './helpers/ranks.js';
import { readSafetensors, relativeError } from './helpers/safetensors.js';
import { tempDir } from './helpers/temp-dir.js';
import { tinyConfig } from './helpers/tiny.js';

/** Per step: the global batch's series lengths; rank 0 takes the first two patients, rank 1 the rest. */
const STEPS = [
  [3, 2, 4, 1],
  [2, 2, 1, 3],
  [4, 1, 2, 3],
];
/** As STEPS, with ranks holding different numbers of valid slices (7 + 2, 3 + 8, 4 + 4). */
const UNEQUAL_STEPS = [
  [3, 4, 1, 1],
  [1, 2, 4, 4],
  [2, 2, 3, 1],
];
const WORLD = 2;
const oracleScript = resolve(packageRoot, 'test', 'oracle', 'reference.py');

async function parityCase(
  backbone: 'vgg16' | 'vgg16_bn',
  { syncBn = false, steps = STEPS, auxWeight = 0.3, weightDecay = 0 }: { syncBn?: boolean; steps?: number[][]; auxWeight?: number; weightDecay?: number } = {},
) {
  const config = tinyConfig({
    seed: 3,
    threads: 1,
    model: { backbone, label_rnn: 'lstm', slice_rnn: 'gru' },
    optim: { name: 'sgd', lr: 0.5, momentum: 0, weight_decay: weightDecay, grad_clip: 0 },
    loss: { aux_weight: auxWeight },
  });
  const dir = tempDir('ichnet-ddp-');
  const single = await Session.create(config);
  // The oracle reads distributed.sync_bn; the one-process session has no distributed section.
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...single.config, distributed: { sync_bn: syncBn } }));
  // PyTorch's initial weights (random BatchNorm statistics, so that broadcasting them matters).
  runOracle('make-weights', dir);
  const weights = join(dir, 'weights.safetensors');
  await single.loadWeights(weights);
  writeJobBatches(dir, steps, WORLD);

  // (a) one process, global batches
  for (let k = 0; k < steps.length; k++) await single.trainStep(readOracleBatch(join(dir, `step${k}-global`)));
  await single.saveWeights(join(dir, 'single-after.safetensors'));
  await single.close();

  // ichnet, 2 ranks
  const spec = writeSpec(join(dir, 'spec.json'), { config, weights, dir, out: join(dir, 'ichnet-after-rank{rank}.safetensors'), syncBn });
  const ours = await runRanks(process.execPath, () => [rankScript, spec], WORLD, { port: await freePort() });
  for (const e of ours) assert.equal(e.code, 0, `ichnet rank ${e.rank} exited with ${e.code ?? e.signal}: ${e.stderr}`);

  // (b) PyTorch DDP, 2 ranks
  const theirs = await runRanks(python, () => [oracleScript, 'ddp-steps', dir], WORLD, {
    port: await freePort(),
    env: () => ({ ICHNET_ORACLE_THREADS: '1' }),
  });
  for (const e of theirs) assert.equal(e.code, 0, `PyTorch DDP rank ${e.rank} exited with ${e.code ?? e.signal}: ${e.stderr}`);

  return {
    before: readSafetensors(weights),
    rank0: readSafetensors(join(dir, 'ichnet-after-rank0.safetensors')),
    rank1: readSafetensors(join(dir, 'ichnet-after-rank1.safetensors')),
    single: readSafetensors(join(dir, 'single-after.safetensors')),
    ddp: readSafetensors(join(dir, 'ddp-after.safetensors')),
  };
}

type Weights = Map<string, { data: Float64Array }>;

/** Every floating-point tensor of `ours` within `tolerance` of `ref`; returns how many moved. */
function assertSame(ours: Weights, ref: Weights, before: Weights, tolerance: number, what: string): number {
  assert.deepEqual([...ours.keys()].sort(), [...ref.keys()].sort());
  let moved = 0;
  for (const [key, r] of ref) {
    if (key.endsWith('num_batches_tracked')) {
      assert.deepEqual(Array.from(ours.get(key)?.data ?? []), Array.from(r.data), `${what}: ${key}`);
      continue;
    }
    const got = ours.get(key)?.data ?? new Float64Array();
    const err = relativeError(got, r.data);
    assert.ok(err < tolerance, `${what}: ${key} relative error ${err}`);
    // The updates too (w_after - w_before): weights that barely moved would hide a wrong gradient.
    const start = before.get(key)?.data ?? new Float64Array();
    const dRef = r.data.map((v, i) => v - (start[i] as number));
    // allclose-style: relative 1e-3, plus an absolute 1e-6 for updates that are rounding noise (a
    // conv bias followed by BatchNorm has a true gradient of 0).
    const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));
    const dOurs = got.map((v, i) => v - (start[i] as number));
    const diff = norm(dOurs.map((v, i) => v - (dRef[i] as number)));
    assert.ok(diff <= 1e-3 * norm(dRef) + 1e-6, `${what}: ${key} update differs by ${diff} (|update| ${norm(dRef)})`);
    if (relativeError(r.data, start) > 1e-3) moved++;
  }
  return moved;
}

describe('data-parallel training (Gloo, 2 ranks) against one process and PyTorch DDP', () => {
  it('VGG16 → LSTM → GRU: every weight after 3 steps equals one process over the global batch and PyTorch DDP', async () => {
    const w = await parityCase('vgg16');
    assertSame(w.rank1, w.rank0, w.before, 1e-12, 'rank 1 vs rank 0');
    const moved = assertSame(w.rank0, w.single, w.before, 1e-5, 'ichnet DDP vs one process');
    assertSame(w.rank0, w.ddp, w.before, 1e-5, 'ichnet DDP vs PyTorch DDP');
    // The comparison means something only if training moved the weights well beyond the tolerance.
    assert.ok(moved >= w.ddp.size / 2, `only ${moved} of ${w.ddp.size} tensors moved by more than 1e-3`);
  });

  it('VGG16 → LSTM → GRU, auxiliary loss off (the label RNN\'s own head gets no gradient: find_unused): equals one process and PyTorch DDP', async () => {
    // With weight decay, a parameter moves whenever it has a gradient, even a zero one: the label
    // RNN's head must keep none, as in one process and in PyTorch DDP, or its weights shrink.
    const w = await parityCase('vgg16', { auxWeight: 0, weightDecay: 0.1 });
    assertSame(w.rank1, w.rank0, w.before, 1e-12, 'rank 1 vs rank 0');
    const moved = assertSame(w.rank0, w.single, w.before, 1e-5, 'ichnet DDP vs one process');
    assertSame(w.rank0, w.ddp, w.before, 1e-5, 'ichnet DDP vs PyTorch DDP');
    assert.ok(moved >= w.ddp.size / 2, `only ${moved} of ${w.ddp.size} tensors moved by more than 1e-3`);
  });

  it('VGG16-BN (BatchNorm statistics per rank, broadcast from rank 0 each step) equals PyTorch DDP', async () => {
    const w = await parityCase('vgg16_bn');
    assertSame(w.rank1, w.rank0, w.before, 1e-12, 'rank 1 vs rank 0');
    const moved = assertSame(w.rank0, w.ddp, w.before, 1e-5, 'ichnet DDP vs PyTorch DDP');
    assert.ok(moved >= w.ddp.size / 2, `only ${moved} of ${w.ddp.size} tensors moved by more than 1e-3`);
  });

  it('VGG16-BN with sync_bn: weights and BatchNorm running statistics equal one process over the global batch and PyTorch DDP', async () => {
    const w = await parityCase('vgg16_bn', { syncBn: true });
    assertSame(w.rank1, w.rank0, w.before, 1e-12, 'rank 1 vs rank 0');
    const moved = assertSame(w.rank0, w.single, w.before, 1e-5, 'ichnet DDP vs one process');
    assertSame(w.rank0, w.ddp, w.before, 1e-5, 'ichnet DDP vs PyTorch DDP');
    assert.ok(moved >= w.ddp.size / 2, `only ${moved} of ${w.ddp.size} tensors moved by more than 1e-3`);
  });

  it('VGG16-BN with sync_bn, ranks holding different numbers of slices: equals PyTorch DDP', async () => {
    const w = await parityCase('vgg16_bn', { syncBn: true, steps: UNEQUAL_STEPS });
    assertSame(w.rank1, w.rank0, w.before, 1e-12, 'rank 1 vs rank 0');
    const moved = assertSame(w.rank0, w.ddp, w.before, 1e-5, 'ichnet DDP vs PyTorch DDP');
    assert.ok(moved >= w.ddp.size / 2, `only ${moved} of ${w.ddp.size} tensors moved by more than 1e-3`);
  });
});

/**
 * The CUDA path against the CPU path of the same build: skipped where LibTorch sees no GPU (CI),
 * run on GPU machines (`npm test` there, or `node --test dist/test/gpu.test.js`).
 *
 * cuDNN convolutions use TF32 by default (as in PyTorch), so float32 CUDA results agree with the CPU
 * to ~1e-3 relative, not 1e-6; bf16/fp16 autocast to ~1e-2.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { augParamNames, clahe, preprocess, runtimeInfo, Session, type Batch } from '../src/index.js';
import { relError } from './helpers/compare.js';
import { freeLoopbackPort } from '../src/distributed/launcher.js';
import { randomBatch, tinyConfig } from './helpers/tiny.js';
import { tempDir } from './helpers/temp-dir.js';

const cuda = runtimeInfo().cudaAvailable;
const dir = tempDir('ichnet-gpu-');


/** A CUDA session with the CPU session's weights (written and read through a safetensors file). */
async function twin(cpu: Session, overrides: Parameters<typeof tinyConfig>[0], name: string): Promise<Session> {
  const file = join(dir, `${name}.safetensors`);
  await cpu.saveWeights(file);
  const gpu = await Session.create(tinyConfig({ ...overrides, device: 'cuda' }));
  await gpu.loadWeights(file);
  return gpu;
}

describe('CUDA', { skip: cuda ? false : 'LibTorch sees no CUDA device' }, () => {
  it('reports the device it runs on', async () => {
    const info = await (await Session.create(tinyConfig({ device: 'cuda' }))).info();
    assert.match(info.device, /^cuda/);
    assert.ok(runtimeInfo().cudnnAvailable, 'cuDNN is available with CUDA');
  });

  it('float32 forward on CUDA matches the CPU (logits and patient probabilities)', async () => {
    for (const model of [{}, { label_rnn: 'gru', slice_rnn: 'lstm' }, { backbone: 'vgg16', label_rnn: 'none', slice_rnn: 'none' }]) {
      const cpu = await Session.create(tinyConfig({ model }));
      const gpu = await twin(cpu, { model }, 'fwd');
      const { labels: _, ...batch } = randomBatch(5, [4, 2, 3], { pixels: 'int16' });
      const a = await cpu.predict(batch);
      const b = await gpu.predict(batch);
      assert.ok(relError(b.logits, a.logits) < 5e-3, `logits differ by ${relError(b.logits, a.logits)} (${JSON.stringify(model)})`);
      assert.ok(relError(b.patientProbs, a.patientProbs) < 5e-3);
    }
  });

  it('one float32 training step on CUDA gives the CPU loss and the same next-step loss', async () => {
    const batches = [randomBatch(11, [3, 2], { pixels: 'uint8' }), randomBatch(12, [3, 3], { pixels: 'uint8' })];
    const cpu = await Session.create(tinyConfig({ optim: { name: 'sgd', lr: 1e-2 } }));
    const gpu = await twin(cpu, { optim: { name: 'sgd', lr: 1e-2 } }, 'step');
    for (const batch of batches) {
      const a = (await cpu.trainStep(batch)).loss;
      const b = (await gpu.trainStep(batch)).loss;
      assert.ok(Math.abs(a - b) <= 5e-3 * Math.abs(a), `loss ${b} on CUDA, ${a} on the CPU`);
    }
  });

  for (const precision of ['bf16', 'fp16'] as const) {
    for (const channelsLast of [false, true]) {
      it(`learns with ${precision} autocast${channelsLast ? ' and channels_last' : ''}: the loss falls by 10x`, async () => {
        const session = await Session.create(tinyConfig({ device: 'cuda', precision, channels_last: channelsLast, optim: { lr: 3e-3 } }));
        const batch = randomBatch(3, [4, 3], { pixels: 'uint8' });
        const first = (await session.trainStep(batch)).loss;
        let last = first;
        for (let i = 0; i < 200 && last > first / 10; i++) last = (await session.trainStep(batch)).loss;
        assert.ok(Number.isFinite(last) && last < first / 10, `loss went from ${first} to ${last}`);
      });
    }
  }

  it('bf16 autocast forward stays close to float32', async () => {
    const cpu = await Session.create(tinyConfig());
    const gpu = await twin(cpu, { precision: 'bf16' }, 'bf16');
    const { labels: _, ...batch } = randomBatch(6, [3, 3], { pixels: 'int16' });
    const a = await cpu.predict(batch);
    const b = await gpu.predict(batch);
    assert.ok(relError(b.logits, a.logits) < 5e-2, `bf16 logits differ by ${relError(b.logits, a.logits)}`);
  });

  it('a checkpoint written on CUDA resumes on the CPU with the same predictions', async () => {
    const gpu = await Session.create(tinyConfig({ device: 'cuda' }));
    for (let k = 0; k < 3; k++) await gpu.trainStep(randomBatch(20 + k, [3, 2], { pixels: 'uint8' }));
    const ckpt = join(dir, 'cuda-ckpt');
    await gpu.saveCheckpoint(ckpt);
    const cpu = await Session.create(tinyConfig());
    await cpu.loadCheckpoint(ckpt);
    assert.equal((await cpu.info()).step, 3);
    const { labels: _, ...batch } = randomBatch(30, [2, 3], { pixels: 'uint8' });
    const a = await gpu.predict(batch);
    const b = await cpu.predict(batch);
    assert.ok(relError(a.logits, b.logits) < 5e-3, `logits differ by ${relError(a.logits, b.logits)}`);
  });

  it('preprocessing on CUDA matches the CPU (windows, augmentation, normalisation)', async () => {
    const batch: Batch = randomBatch(40, [3, 2], { pixels: 'int16', size: 48 });
    // Both patients flipped, rotated, scaled, shifted and jittered.
    const names = augParamNames();
    const value: Record<string, number> = { flip: 1, rotation: 0.2, scale: 1.05, translate_x: 0.03, translate_y: -0.02, brightness: 0.05, contrast: 0.95, gamma: 1.1 };
    const aug = new Float32Array(2 * names.length);
    for (let b = 0; b < 2; b++) names.forEach((n, j) => (aug[b * names.length + j] = value[n] ?? 0));
    batch.aug = aug;
    for (const clahe of [false, true]) {
      const a = await preprocess(batch, { device: 'cpu', prep: { clahe: { enabled: clahe }, where: 'host', input_size: 32 } });
      // CLAHE on the host, its levels uploaded, the rest on the GPU.
      const b = await preprocess(batch, { device: 'cuda', prep: { clahe: { enabled: clahe }, where: 'host', input_size: 32 } });
      assert.ok(relError(b, a) < 1e-5, `CLAHE ${clahe}: CUDA differs from the CPU by ${relError(b, a)}`);
      // Everything on the GPU from the raw int16 pixels (the default there), CLAHE included.
      const c = await preprocess(batch, { device: 'cuda', prep: { clahe: { enabled: clahe }, where: 'auto', input_size: 32 } });
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((c[i] as number) - (a[i] as number)));
      assert.ok(worst < 1e-3, `CLAHE ${clahe}: the device pipeline on CUDA differs from the host path by ${worst}`);
    }
  });

  it('CLAHE as tensor operations on CUDA equals the host kernel', async () => {
    for (const [width, height] of [[512, 512], [97, 61]] as const) {
      const image = Uint8Array.from({ length: width * height }, (_, i) => (i * 7919 + (i % width) * 13) % 256);
      const host = await clahe(image, { width, height });
      const gpu = await clahe(image, { width, height, device: 'cuda' });
      let within = 0;
      for (let i = 0; i < host.length; i++) if (Math.abs((gpu[i] as number) - (host[i] as number)) <= 1) within++;
      assert.ok(within / host.length >= 0.995, `${width}x${height}: ${within} of ${host.length} pixels within ±1`);
    }
  });
  it('staging on CUDA (the upload on the side stream) gives the unstaged steps and predictions', async () => {
    const batches = [21, 22, 23, 24].map((seed) => randomBatch(seed, [3, 2], { pixels: 'int16', size: 40 }));
    const overrides = { prep: { clahe: { enabled: true } }, optim: { name: 'sgd' as const, lr: 1e-2 } };
    const cpu = await Session.create(tinyConfig(overrides));
    const inline = await twin(cpu, overrides, 'inline');
    const staged = await twin(cpu, overrides, 'staged');
    let staging = staged.stage(batches[0] as Batch, 'train');
    for (let k = 0; k < batches.length; k++) {
      const b = staged.trainStep(batches[k] as Batch);
      if (k + 1 < batches.length) staging = staged.stage(batches[k + 1] as Batch, 'train');
      const a = (await inline.trainStep(batches[k] as Batch)).loss;
      const got = (await b).loss;
      // Two CUDA sessions may pick different cuDNN algorithms: equal to float32-on-CUDA precision.
      assert.ok(Math.abs(got - a) <= 1e-3 * Math.abs(a), `step ${k}: loss ${got} staged, ${a} not`);
    }
    await staging;
    await staged.stage(batches[0] as Batch, 'eval');
    const [p, q] = [await staged.predict(batches[0] as Batch), await inline.predict(batches[0] as Batch)];
    assert.ok(relError(p.logits, q.logits) < 1e-3, `logits differ by ${relError(p.logits, q.logits)}`);
    for (const s of [cpu, inline, staged]) await s.close();
  });
  it('a data-parallel job of world size 1 on NCCL, with and without sync_bn: the same training steps as without it', { skip: runtimeInfo().c10dBackends.includes('nccl') ? false : 'this addon has no NCCL backend' }, async () => {
    const port = await freeLoopbackPort();
    const plain = await Session.create(tinyConfig({ device: 'cuda', seed: 21 }));
    const file = join(dir, 'nccl.safetensors');
    await plain.saveWeights(file);
    // Both sessions share the process's one group; the second's BatchNorm all-reduces its statistics over it.
    const jobSession = async (syncBn: boolean) => {
      const s = await Session.create(
        tinyConfig({ device: 'cuda', seed: 21, distributed: { backend: 'nccl', master_addr: '127.0.0.1', master_port: port, rank: 0, world_size: 1, sync_bn: syncBn } }),
      );
      await s.loadWeights(file);
      await s.syncReplicas();
      assert.equal((await s.info()).backend, 'nccl');
      return s;
    };
    const ddp = await jobSession(false);
    const synced = await jobSession(true);
    // Each session's cuDNN may pick its own convolution algorithm (TF32 on CUDA), and sync_bn's
    // statistics come from float64 sums rather than cuDNN's kernel: float32 losses agree to ~1e-4
    // relative (1.2e-4 seen on an H200), not bit for bit. A wrong gradient average or BatchNorm is far off.
    for (const seed of [31, 32, 33]) {
      const batch = randomBatch(seed, [3, 2], { pixels: 'uint8' });
      const a = await plain.trainStep(batch);
      for (const [name, s] of [['ddp', ddp], ['sync_bn', synced]] as const) {
        const b = await s.trainStep(batch);
        assert.ok(Math.abs(a.loss - b.loss) <= 1e-3 * Math.abs(a.loss), `batch ${seed}, ${name}: loss ${b.loss} vs ${a.loss} without DDP`);
        assert.equal(b.globalLoss, b.loss);
      }
    }
    await plain.close();
    await ddp.close();
    await synced.close();
  });
});

/** Every bad input is a JS Error naming the problem, and the session stays usable afterwards. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { IchnetError, Session, runtimeInfo, type Batch, type IchnetErrorCode } from '../src/index.js';
import { randomBatch, tinyConfig } from './helpers/tiny.js';
import { tempDir } from './helpers/temp-dir.js';

describe('bad input', () => {
  let session: Session;
  const good = randomBatch(1, [3, 2]);
  const dir = tempDir('ichnet-errors-');
  let reference: Float32Array;

  before(async () => {
    session = await Session.create(tinyConfig());
    reference = (await session.predict(good)).logits;
  });

  after(async () => {
    // After every rejection above, the session still trains and its weights never changed.
    assert.deepEqual((await session.predict(good)).logits, reference);
    const r = await session.trainStep(good);
    assert.ok(Number.isFinite(r.loss));
  });

  const rejects = (fn: () => Promise<unknown>, pattern: RegExp, code: IchnetErrorCode) =>
    assert.rejects(fn, (e: unknown) => {
      assert.ok(e instanceof IchnetError, `expected an IchnetError, got ${String(e)}`);
      assert.equal(e.code, code);
      assert.match(e.message, pattern);
      return true;
    });

  it('rejects images of an unsupported element type', async () => {
    const batch = { ...good, images: new Float64Array(good.images.length) } as unknown as Batch;
    await rejects(() => session.trainStep(batch), /batch\.images: expected a Uint8Array.*Int16Array.*Float32Array/, 'INVALID_ARGUMENT');
  });

  it('rejects images whose length does not match the shape', async () => {
    const batch = { ...good, images: good.images.subarray(1) };
    await rejects(() => session.trainStep(batch), /batch\.images: holds \d+ values but shape \[2,3,3,32,32\] needs \d+/, 'INVALID_ARGUMENT');
  });

  it('rejects a shape without five positive integers', async () => {
    const batch = { ...good, shape: [2, 3, 3, 32] } as unknown as Batch;
    await rejects(() => session.predict(batch), /batch\.shape: expected \[patients, slices, channels, height, width\]/, 'INVALID_ARGUMENT');
  });

  it('rejects channel counts the dtype cannot have', async () => {
    const hu = randomBatch(2, [2], { pixels: 'int16', channels: 3 });
    await rejects(() => session.predict(hu), /Hounsfield-unit images need 1 channel/, 'INVALID_ARGUMENT');
  });

  it('rejects lengths outside 1..S', async () => {
    await rejects(() => session.trainStep({ ...good, lengths: Int32Array.from([3, 0]) }), /batch\.lengths\[1\]: 0 is outside 1\.\.3/, 'INVALID_ARGUMENT');
    await rejects(() => session.trainStep({ ...good, lengths: Int32Array.from([4, 1]) }), /batch\.lengths\[0\]: 4 is outside 1\.\.3/, 'INVALID_ARGUMENT');
  });

  it('rejects lengths of the wrong type or count', async () => {
    const asArray = { ...good, lengths: [3, 2] } as unknown as Batch;
    await rejects(() => session.trainStep(asArray), /batch\.lengths: expected an Int32Array/, 'INVALID_ARGUMENT');
    await rejects(() => session.trainStep({ ...good, lengths: Int32Array.from([3]) }), /expected 2 lengths \(one per patient\), got 1/, 'INVALID_ARGUMENT');
  });

  it('requires labels for training and evaluation, not for prediction', async () => {
    const { labels: _unused, ...unlabelled } = good;
    await rejects(() => session.trainStep(unlabelled), /batch\.labels: required/, 'INVALID_ARGUMENT');
    await rejects(() => session.evalStep(unlabelled), /batch\.labels: required/, 'INVALID_ARGUMENT');
    assert.ok(Number.isNaN((await session.predict(unlabelled)).loss));
  });

  it('rejects labels that are not 0/1 or of the wrong size', async () => {
    const labels = Uint8Array.from(good.labels ?? []);
    labels[4] = 2;
    await rejects(() => session.trainStep({ ...good, labels }), /batch\.labels\[4\]: expected 0 or 1, got 2/, 'INVALID_ARGUMENT');
    await rejects(() => session.trainStep({ ...good, labels: new Uint8Array(7) }), /batch\.labels: expected 30 values .* got 7/, 'INVALID_ARGUMENT');
  });

  it('rejects a NaN loss without touching the weights', async () => {
    const poisoned = randomBatch(1, [3, 2]);
    (poisoned.images as Float32Array)[5] = Number.NaN;
    await rejects(() => session.trainStep(poisoned), /loss is NaN at step \d+; the weights were not updated/, 'LOSS_NOT_FINITE');
  });

  it('names a missing weights file', async () => {
    const path = join(dir, 'nope.safetensors');
    await rejects(() => session.loadWeights(path), new RegExp(`${path}: cannot open weights file`), 'WEIGHTS_UNREADABLE');
    await rejects(() => session.loadCheckpoint(join(dir, 'no-checkpoint')), /not a checkpoint directory/, 'WEIGHTS_UNREADABLE');
  });

  it('names a corrupt weights file', async () => {
    const path = join(dir, 'corrupt.safetensors');
    writeFileSync(path, Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 123, 34]));
    await rejects(() => session.loadWeights(path), new RegExp(`${path}: not a valid safetensors file: header length 200 exceeds`), 'WEIGHTS_UNREADABLE');
    const pth = join(dir, 'corrupt.pth');
    writeFileSync(pth, Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(64, 7)]));
    await rejects(() => session.loadWeights(pth), new RegExp(pth.replace(/[.]/g, '\\.')), 'WEIGHTS_UNREADABLE');
  });

  it('rejects weights of another shape and loads nothing', async () => {
    const wider = await Session.create(tinyConfig({ model: { width: 1 / 8 } }));
    const path = join(dir, 'wider.safetensors');
    await wider.saveWeights(path);
    await rejects(() => session.loadWeights(path), /shape mismatch, nothing was loaded:\n  backbone\.features\.0\.weight: file has \[8, 3, 3, 3\], model expects \[4, 3, 3, 3\]/, 'WEIGHTS_MISMATCH');
  });

  it('rejects invalid configs, naming each bad key', async () => {
    await rejects(
      () => Session.create(tinyConfig({ model: { label_rnn: 'transformer' }, optim: { lr: -1 } })),
      /config\.model\.label_rnn: Invalid option: expected one of "lstm"\|"gru"\|"none"\nconfig\.optim\.lr: Too small/,
      'CONFIG_INVALID',
    );
    await rejects(() => Session.create(tinyConfig({ model: { widht: 2 } })), /config\.model: Unrecognized key: "widht"/, 'CONFIG_INVALID');
  });

  it('rejects a CUDA device on a machine without CUDA', { skip: runtimeInfo().cudaAvailable }, async () => {
    await rejects(() => Session.create(tinyConfig({ device: 'cuda' })), /device 'cuda' requested but CUDA is not available/, 'CUDA_UNAVAILABLE');
    await rejects(() => Session.create(tinyConfig({ device: 'cuda:1' })), /device 'cuda:1' requested but CUDA is not available/, 'CUDA_UNAVAILABLE');
  });
});

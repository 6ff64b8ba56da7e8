/**
 * Fault injection, native writes and reads: a disk that fills up (a small tmpfs) in the middle of a
 * checkpoint, a read-only mount, a directory where a file was meant, a torn optimizer state, and
 * Session misuse. Every one is a rejected promise naming the file — never a process abort — and a
 * failed checkpoint leaves the previous one loadable and no temporary files.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { IchnetError, Session } from '../src/index.js';
import { randomBatch, tinyConfig } from './helpers/tiny.js';
import { tempDir } from './helpers/temp-dir.js';
import { mountTmpfs, tmpfsUnavailable } from './helpers/tmpfs.js';

const tmp = tempDir('ichnet-faults-native-');
const batch = randomBatch(3, [3, 2]);
const noTmpfs = tmpfsUnavailable();
if (noTmpfs) console.log(`# disk-full and read-only cases skipped: ${noTmpfs}`);

describe('native writes on failing filesystems', () => {
  let session: Session;
  /** Sizes of a checkpoint's two large files, measured on a normal disk. */
  let sizes: { model: number; optimizer: number };

  before(async () => {
    session = await Session.create(tinyConfig());
    await session.trainStep(batch);
    const probe = join(tmp, 'probe');
    await session.saveCheckpoint(probe, { 'state.json': '{}' });
    sizes = { model: statSync(join(probe, 'model.safetensors')).size, optimizer: statSync(join(probe, 'optimizer.pt')).size };
  });
  after(() => session.close());

  /** Fills the tmpfs with a filler file until only `left` bytes remain free. */
  const fillUntil = (fs: { dir: string; free(): number }, left: number) => {
    writeFileSync(join(fs.dir, 'filler'), Buffer.alloc(Math.max(0, fs.free() - left)));
    assert.ok(Math.abs(fs.free() - left) <= 8192, `free ${fs.free()}, wanted ${left}`);
  };

  for (const where of ['model.safetensors', 'optimizer.pt'] as const) {
    it(`a disk that fills up in ${where}: a rejection naming it; the previous 'last' still loads; no temporary files`, { skip: noTmpfs }, async () => {
      const fs = mountTmpfs(4 * (sizes.model + sizes.optimizer) + (1 << 20));
      assert.ok(typeof fs !== 'string', String(fs));
      const last = join(fs.dir, 'checkpoints', 'last');
      await session.saveCheckpoint(last, { 'state.json': '{"epoch":1}' });
      const saved = (await session.predict(batch)).logits;
      await session.trainStep(batch); // the weights move on; the next save fails
      fillUntil(fs, where === 'model.safetensors' ? sizes.model / 2 : sizes.model + sizes.optimizer / 2);
      await assert.rejects(session.saveCheckpoint(last, { 'state.json': '{"epoch":2}' }), (e: Error) => {
        assert.match(e.message, new RegExp(`last\\.tmp-\\d+/${where.replace('.', '\\.')}: write failed \\(No space left on device\\)`));
        assert.equal((e as IchnetError).code, 'WRITE_FAILED');
        return true;
      });
      assert.deepEqual(readdirSync(join(fs.dir, 'checkpoints')), ['last']);
      assert.equal(readFileSync(join(last, 'state.json'), 'utf8'), '{"epoch":1}');
      const reopened = await Session.create(tinyConfig());
      await reopened.loadCheckpoint(last);
      assert.deepEqual((await reopened.predict(batch)).logits, saved);
      await reopened.close();
      // saveWeights on a disk without room for the weights: a rejection naming the file, no orphan.
      rmSync(join(fs.dir, 'filler'));
      fillUntil(fs, sizes.model / 2);
      await assert.rejects(session.saveWeights(join(fs.dir, 'w.safetensors')), /w\.safetensors\.tmp-\d+: write failed \(No space left on device\)/);
      assert.deepEqual(readdirSync(fs.dir).sort(), ['checkpoints', 'filler']);
    });
  }

  it('a read-only mount: saveCheckpoint and saveWeights reject naming the path and the cause', { skip: noTmpfs }, async () => {
    const fs = mountTmpfs(1 << 20, { readOnly: true });
    assert.ok(typeof fs !== 'string', String(fs));
    await assert.rejects(session.saveCheckpoint(join(fs.dir, 'run', 'last')), /run: cannot create the checkpoint's directory \(Read-only file system\)/);
    await assert.rejects(session.saveWeights(join(fs.dir, 'w.safetensors')), /w\.safetensors\.tmp-\d+: cannot create file \(Read-only file system\)/);
  });

  it('saveWeights onto a directory rejects, naming it, and leaves no temporary file', async () => {
    const dir = join(tmp, 'a-directory');
    mkdirSync(dir);
    await assert.rejects(session.saveWeights(dir), /a-directory: is a directory; saveWeights needs a file name/);
    assert.deepEqual(readdirSync(tmp).filter((f) => f.includes('.tmp-')), []);
  });

  it('a truncated optimizer.pt or model.safetensors: loadCheckpoint names the file; the session still works', async () => {
    for (const file of ['optimizer.pt', 'model.safetensors']) {
      const dir = join(tmp, `torn-${file}`);
      await session.saveCheckpoint(dir);
      const path = join(dir, file);
      truncateSync(path, Math.floor(statSync(path).size / 2));
      const fresh = await Session.create(tinyConfig());
      await assert.rejects(fresh.loadCheckpoint(dir), (e: Error) => {
        assert.ok(e.message.startsWith(path), e.message);
        return true;
      });
      assert.ok(Number.isFinite((await fresh.trainStep(batch)).loss));
      await fresh.close();
    }
  });
});

describe('Session misuse', () => {
  it("precision 'fp16' on the CPU is an error naming the fix, not a silent fp32 run", async () => {
    await assert.rejects(Session.create(tinyConfig({ precision: 'fp16' })), /precision: 'fp16' runs on CUDA only.*use 'bf16', 'fp32' or 'auto'/);
  });

  it('calls after close() reject; close() twice is fine', async () => {
    const session = await Session.create(tinyConfig());
    await session.close();
    await session.close();
    await assert.rejects(session.trainStep(batch), /closed/);
    await assert.rejects(session.saveCheckpoint(join(tmp, 'closed')), /closed/);
  });

  it('calls racing on one session run in order and all settle', async () => {
    const session = await Session.create(tinyConfig());
    const results = await Promise.allSettled([
      session.trainStep(batch),
      session.saveCheckpoint(join(tmp, 'race')),
      session.loadWeights(join(tmp, 'does-not-exist.safetensors')),
      session.trainStep(batch),
      session.info(),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    assert.match(String((results[2] as PromiseRejectedResult).reason), /does-not-exist\.safetensors: cannot open/);
    assert.equal((results[4] as PromiseFulfilledResult<{ step: number }>).value.step, 2);
    await session.close();
  });
});

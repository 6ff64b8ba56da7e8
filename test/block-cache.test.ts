/**
 * LibTorch's CPU allocator in the addon (native/memory/block_cache.h), seen from outside: a training
 * step whose activations exceed glibc's largest mmap threshold (32 MiB) faults none of them in again
 * on later steps, the kept memory stays under its bound, and Session.close hands it back. The
 * kernel's count of minor page faults (`process.resourceUsage()`) is the oracle; with
 * `ICHNET_BLOCK_CACHE=0` the same steps fault every such activation in anew.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { platform } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { packageRoot } from '../src/package-root.js';
import type { RuntimeInfo } from '../src/session/binding.js';

/** What runtimeInfo().blockCache reports. */
type Cache = NonNullable<RuntimeInfo['blockCache']>;

interface ChildReport {
  /** Minor page faults of the whole process in each of the steps after two warm-up steps. */
  faults: number[];
  /** runtimeInfo().blockCache after the steps and after Session.close. */
  busy: Cache | null;
  closed: Cache | null;
}

/**
 * Bytes of the model's largest activation: 2 × 24 slices of 16 channels at 160² in float32 (79 MB).
 * Above 64 MiB on purpose: glibc's heaps for threads other than the main one are at most 64 MiB, so
 * without the cache a block this large is always a mapping of its own, unmapped when freed; a
 * smaller one may be carved from a heap that earlier steps grew (on some machines the control then
 * stopped faulting after a step or two).
 */
const ACTIVATION = 2 * 24 * 16 * 160 * 160 * 4;

/** Trains a quarter-width VGG16 at 160² in float32 in a fresh process and reports. */
function child(env: NodeJS.ProcessEnv): ChildReport {
  const dist = join(packageRoot, 'dist');
  const script = `
    const { Session } = await import(${JSON.stringify(join(dist, 'src/index.js'))});
    const { runtimeInfo } = await import(${JSON.stringify(join(dist, 'src/session/runtime.js'))});
    const { randomBatch, tinyConfig } = await import(${JSON.stringify(join(dist, 'test/helpers/tiny.js'))});
    const session = await Session.create(tinyConfig({ model: { backbone: 'vgg16', width: 1 / 4 }, prep: { input_size: 160 }, precision: 'fp32', channels_last: true }));
    const batch = randomBatch(4, [24, 24], { size: 160 });
    for (let i = 0; i < 2; i++) await session.trainStep(batch);
    const faults = [];
    for (let i = 0; i < 3; i++) {
      const before = process.resourceUsage().minorPageFault;
      await session.trainStep(batch);
      faults.push(process.resourceUsage().minorPageFault - before);
    }
    const busy = runtimeInfo().blockCache;
    await session.close();
    console.log(JSON.stringify({ faults, busy, closed: runtimeInfo().blockCache }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ChildReport;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

describe('CPU block cache', { skip: platform() !== 'linux' }, () => {
  const pages = ACTIVATION / 4096;

  it('faults no activation in again on later steps, keeps memory under its bound and returns it on close', () => {
    const { faults, busy, closed } = child({ ICHNET_BLOCK_CACHE: '' });
    assert.ok(busy, 'runtimeInfo().blockCache is reported');
    assert.ok(median(faults) < pages / 4, `minor faults per step ${faults.join(', ')}: fewer than a quarter of one activation's ${pages} pages`);
    assert.ok(busy.reuses > 0 && busy.cachedBytes > 0, `kept blocks are reused: ${JSON.stringify(busy)}`);
    assert.ok(busy.liveBytes + busy.cachedBytes <= 2 * busy.peakLiveBytes, `live + kept within twice the peak of live: ${JSON.stringify(busy)}`);
    assert.ok(closed, 'still reported after close');
    assert.equal(closed.cachedBytes, 0, 'Session.close unmaps every kept block');
    assert.equal(closed.peakLiveBytes, closed.liveBytes, 'and lowers the bound to the blocks still live');
  });

  it('is left out with ICHNET_BLOCK_CACHE=0, and then every step faults its activations in again', () => {
    const { faults, busy } = child({ ICHNET_BLOCK_CACHE: '0' });
    assert.equal(busy, null);
    assert.ok(median(faults) > pages, `minor faults per step ${faults.join(', ')}: more than one activation's ${pages} pages`);
  });
});

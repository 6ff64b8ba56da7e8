/** Session.close(): frees the model and the session's threads; later calls reject clearly. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Session } from '../src/index.js';
import { randomBatch, tinyConfig } from './helpers/tiny.js';

const batch = randomBatch(3, [3, 2]);

/** The process's thread count, from /proc (Linux). */
function threads(): number {
  const m = /^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m?.[1]);
}

/** Polls until the thread count is at most `target` (a thread exits shortly after it is told to). */
async function threadsSettle(target: number): Promise<number> {
  let n = threads();
  for (let i = 0; i < 100 && n > target; i++) {
    await sleep(10);
    n = threads();
  }
  return n;
}

describe('Session.close', () => {
  it('rejects every later call with "this session is closed", and closing twice is fine', async () => {
    const session = await Session.create(tinyConfig());
    await session.close();
    for (const call of [() => session.trainStep(batch), () => session.predict(batch), () => session.info(), () => session.setLearningRate(1e-3)]) {
      await assert.rejects(call, /this session is closed/);
    }
    await session.close();
  });

  it('lets calls made before it finish first', async () => {
    const session = await Session.create(tinyConfig());
    const step = session.trainStep(batch);
    const predicted = session.predict(batch);
    await session.close();
    assert.ok(Number.isFinite((await step).loss));
    assert.equal((await predicted).logits.length, 2 * 3 * 5);
  });

  it('ends the session’s compute thread and its OpenMP team', { skip: existsSync('/proc/self/status') ? false : 'needs /proc' }, async () => {
    const warm = await Session.create(tinyConfig({ threads: 2 }));
    await warm.trainStep(batch);
    await warm.close();
    await sleep(200); // the first session's threads are gone; libuv's pool has started
    const base = threads();
    const session = await Session.create(tinyConfig({ threads: 2 }));
    await session.trainStep(batch);
    const busy = threads();
    assert.ok(busy > base, `a session with 2 threads adds threads (${base} → ${busy})`);
    await session.close();
    const after = await threadsSettle(base);
    assert.equal(after, base, `after close the process is back to ${base} threads, has ${after}`);
  });

  it('gives the memory a closed session kept for its steps back to the system', { skip: existsSync('/proc/self/status') ? false : 'needs /proc' }, async () => {
    // Freed activations stay in the process between steps (native/binding/malloc_tuning.h); once
    // the session is closed they must not stay resident. The kernel's count of resident pages is
    // the oracle: 2 × 24 slices of 64² at width 1/4 keep tens of MiB of activations.
    const big = randomBatch(5, [24, 24], { size: 64 });
    const config = tinyConfig({ model: { width: 1 / 4 }, prep: { input_size: 64 } });
    const rss = () => process.memoryUsage.rss() / 2 ** 20;
    const warm = await Session.create(config);
    await warm.trainStep(big);
    await warm.close();
    const base = rss();
    const session = await Session.create(config);
    for (let i = 0; i < 2; i++) await session.trainStep(big);
    const busy = rss();
    assert.ok(busy - base > 20, `two steps keep more than 20 MiB resident (${base.toFixed(0)} → ${busy.toFixed(0)} MiB)`);
    await session.close();
    const after = rss();
    assert.ok(after - base < (busy - base) / 2, `after close at most half of the ${(busy - base).toFixed(0)} MiB stays resident (${after.toFixed(0)} MiB, was ${base.toFixed(0)} before the session)`);
  });
});

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
});

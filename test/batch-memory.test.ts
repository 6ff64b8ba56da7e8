/**
 * Batch memory: SharedArrayBuffers counted so V8 collects them as it collects ArrayBuffers, and
 * allocated (zero-filled) on the batch-memory thread rather than the thread that asks for them.
 * Each test file runs in a process of its own, so the heaps here hold little else.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { allocateShared, sharedPixelArray } from '../src/data/decode/batch-memory.js';

describe('batch memory', () => {
  // First: the heap has freed no memory yet that an allocation here could reuse without faulting it in.
  it('is allocated and zeroed off the calling thread, and freed once dropped on both threads', async () => {
    // Zeroing fresh memory is page faults and a memset, counted as the allocating thread's CPU time.
    const mainThreadMs = () => {
      const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, 100 Hz ticks
    };
    const bytes = 24 << 20;
    await allocateShared(1); // starts the thread
    let t = mainThreadMs();
    const there = await Promise.all(Array.from({ length: 8 }, () => allocateShared(bytes)));
    const thereMs = mainThreadMs() - t;
    t = mainThreadMs();
    const here = Array.from({ length: 8 }, () => sharedPixelArray('uint8', bytes));
    const hereMs = mainThreadMs() - t;
    assert.ok(there.every((b) => b instanceof SharedArrayBuffer && b.byteLength === bytes));
    assert.ok(new Uint8Array(there[3] as SharedArrayBuffer).every((v) => v === 0), 'zeroed');
    assert.ok(hereMs >= 40 && thereMs < hereMs / 2, `main thread CPU: ${hereMs} ms allocating here, ${thereMs} ms with the batch-memory thread`);
    here.length = 0;
    there.length = 0;
    // 1 GiB of 16 MiB buffers from the batch-memory thread, each written and dropped: neither the
    // thread's heap nor this one keeps them.
    const before = process.memoryUsage.rss();
    let peak = before;
    for (let i = 0; i < 64; i++) {
      new Uint8Array(await allocateShared(16 << 20)).fill(1);
      await new Promise((r) => setImmediate(r));
      peak = Math.max(peak, process.memoryUsage.rss());
    }
    const grewMiB = (peak - before) / 2 ** 20;
    assert.ok(grewMiB < 512, `resident memory grew by ${grewMiB.toFixed(0)} MiB for 1024 MiB allocated on the thread and dropped`);
  });

  it('is collected like an ArrayBuffer when unreferenced, though V8 does not count shared memory itself', async () => {
    // 1 GiB of 16 MiB arrays, each written and dropped: uncounted, nothing makes V8 collect them
    // and the process grows by all of it; counted, V8 collects them as it would ArrayBuffers.
    const before = process.memoryUsage.rss();
    let peak = before;
    for (let i = 0; i < 64; i++) {
      sharedPixelArray('uint8', 16 << 20).fill(1);
      await new Promise((r) => setImmediate(r));
      peak = Math.max(peak, process.memoryUsage.rss());
    }
    const grewMiB = (peak - before) / 2 ** 20;
    assert.ok(grewMiB < 512, `resident memory grew by ${grewMiB.toFixed(0)} MiB for 1024 MiB allocated and dropped`);
  });
});

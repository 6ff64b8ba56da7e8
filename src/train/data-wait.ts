/**
 * How long a loop waited for its data: the time spent inside the source's `next()`, i.e. the
 * decoding and batching that prefetching did not hide behind the previous step.
 */
import { performance } from 'node:perf_hooks';

/** Accumulated waiting time, in seconds. */
export interface WaitClock {
  seconds: number;
}

/** Yields what `source` yields, adding the time each `next()` took to `clock.seconds`. */
export async function* timeWaits<T>(source: AsyncIterable<T>, clock: WaitClock): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const t0 = performance.now();
      const next = await it.next();
      clock.seconds += (performance.now() - t0) / 1000;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await it.return?.();
  }
}

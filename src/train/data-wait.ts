/**
 * How long a step loop waited for its data: the time it spent waiting for the loader's next batch
 * while no step of its own was running, i.e. the decoding and batching that neither prefetching
 * nor the step in flight hid.
 */
import { performance } from 'node:perf_hooks';

/** Accumulated waiting time, in seconds. */
export interface WaitClock {
  seconds: number;
}

/**
 * Awaits `next` and adds the wait to `clock.seconds`: all of it, or with `during` (the step that
 * runs meanwhile) only what remained after `during` settled.
 */
export async function awaitData<T>(next: Promise<T>, clock: WaitClock, during?: Promise<unknown>): Promise<T> {
  const t0 = performance.now();
  let busyUntil = during ? Number.POSITIVE_INFINITY : t0;
  const settled = (): void => {
    busyUntil = performance.now();
  };
  during?.then(settled, settled);
  const value = await next;
  const now = performance.now();
  if (busyUntil < now) clock.seconds += (now - Math.max(t0, busyUntil)) / 1000;
  return value;
}

/**
 * A pool of worker threads that decode slices (`readSlice`: DICOM parsing, pixel codecs, HU
 * rescaling, PNG/JPEG/TIFF decoding), so the main thread only schedules and batches. The slices of
 * a sequence go out as one request per worker (first come first served), and each slice is written
 * by its worker straight into the batch memory laid out for it. A worker holds up to two requests:
 * the next one waits in its message queue while it runs one, so it starts on it without waiting
 * for this thread to see the reply and send more.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

// sharp is loaded here, on the main thread, before any worker: libvips must stay loaded for the
// process's lifetime, or a worker that exits unloads it under the others.
import 'sharp';

import { IchnetError } from '../../errors/ichnet-error.js';
import type { SlicePixels } from '../types.js';
import type { DecodeReply, DecodeRequest, DecodeTarget, SliceJob, SliceOutcome } from './protocol.js';
import { runRequest } from './request.js';

/** Work done by a pool so far. */
export interface DecodeStats {
  /** Slices decoded (or failed) by the workers. */
  slices: number;
  /** Requests (messages) the workers answered. */
  requests: number;
  /** Milliseconds the workers spent decoding, summed over workers. */
  workerBusyMs: number;
}

interface Job {
  request: DecodeRequest;
  resolve: (outcomes: SliceOutcome[]) => void;
}

interface Slot {
  worker: Worker;
  /** Requests sent to the worker and not yet answered, in the order it runs them. */
  jobs: Job[];
}

/** Requests a worker holds at most: the one it runs and the next. */
const DEPTH = 2;

const WORKER_URL = new URL('./worker.js', import.meta.url);

/** The default pool size: the cores this process may use. */
export function defaultDecodeWorkers(): number {
  return availableParallelism();
}

export class DecodePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed = false;
  private readonly counters: DecodeStats = { slices: 0, requests: 0, workerBusyMs: 0 };
  private drainWaiters: Array<() => void> = [];

  /**
   * @param size - Worker threads (an integer ≥ 0); 0 decodes on the calling thread, in the
   *   caller's event loop (for comparisons, and where threads are unwanted).
   */
  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 0) throw new IchnetError('INVALID_ARGUMENT', `decode workers: expected an integer >= 0, got ${size}`);
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** Work done so far (a copy). */
  get stats(): DecodeStats {
    return { ...this.counters };
  }

  /** Decodes one slice; rejects with an IchnetError (readSlice's) whose message starts with the path. */
  async decode(path: string, { rsnaFix = false }: { rsnaFix?: boolean } = {}): Promise<SlicePixels> {
    const [outcome] = (await this.decodeSlices([{ path, rsnaFix }])) as [SliceOutcome];
    if (!outcome.ok) throw new IchnetError(outcome.code, outcome.message);
    if (!outcome.placed) return outcome.pixels;
    throw new IchnetError('INVALID_ARGUMENT', `${path}: decoded into a target that was not given`); // unreachable: no target
  }

  /**
   * Decodes slices, those with an `offset` into `target` when they have its shape: split into one
   * request per worker (consecutive slices), so a sequence costs the main thread a few messages,
   * not one per slice. The outcomes come in the jobs' order; a slice that fails is an outcome, not a
   * rejection (only a closed pool rejects).
   */
  async decodeSlices(jobs: SliceJob[], target?: DecodeTarget): Promise<SliceOutcome[]> {
    if (this.closed) throw new IchnetError('INVALID_ARGUMENT', `${jobs[0]?.path ?? 'decode'}: the decode pool is closed`);
    if (this.size === 0) return (await runRequest({ id: this.nextId++, jobs, target })).reply.outcomes;
    const per = Math.ceil(jobs.length / this.size);
    const parts: Promise<SliceOutcome[]>[] = [];
    for (let from = 0; from < jobs.length; from += per) parts.push(this.submit(jobs.slice(from, from + per), target));
    return (await Promise.all(parts)).flat();
  }

  /** Lets the decodes already asked for finish, then stops the workers; later decodes reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.busy) await new Promise<void>((r) => this.drainWaiters.push(r));
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private get busy(): boolean {
    return this.queue.length > 0 || this.slots.some((s) => s.jobs.length > 0);
  }

  private submit(jobs: SliceJob[], target: DecodeTarget | undefined, front = false): Promise<SliceOutcome[]> {
    return new Promise((resolve) => {
      const job = { request: { id: this.nextId++, jobs, target }, resolve };
      if (front) this.queue.unshift(job);
      else this.queue.push(job);
      this.dispatch();
    });
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL);
    const slot: Slot = { worker, jobs: [] };
    worker.unref(); // idle workers never keep the process alive; busy ones are ref'd in dispatch
    worker.on('message', (reply: DecodeReply) => this.finish(slot, reply));
    // A worker that dies (out of memory, a crash in a codec) fails only its own slice: the slices
    // of the request it was running go again one per request, the request it had not started goes
    // again as it was, both ahead of the queue, and a fresh worker takes its place.
    const replace = (why: string) => {
      const index = this.slots.indexOf(slot);
      if (index < 0) return; // already replaced ('error' is followed by 'exit')
      const [running, ...waiting] = slot.jobs.splice(0);
      this.queue.unshift(...waiting);
      if (this.closed && !this.busy && !running) {
        this.settle();
        return;
      }
      this.slots[index] = this.spawn(); // first: nothing may be sent to the dead worker
      if (running) this.retry(running, why);
      this.dispatch();
    };
    worker.on('error', (e: Error) => replace(e.message));
    worker.on('exit', (code) => replace(`exited with code ${code}`));
    return slot;
  }

  private retry(job: Job, why: string): void {
    const { jobs, target } = job.request;
    if (jobs.length === 1) {
      const { path } = jobs[0] as SliceJob;
      job.resolve([{ ok: false, code: 'DATA_UNREADABLE', message: `${path}: decode worker failed: ${why}` }]);
      return;
    }
    const alone = [...jobs].reverse().map((one) => this.submit([one], target, true)); // ahead of the queue, in order
    void Promise.all(alone.reverse()).then((outcomes) => job.resolve(outcomes.flat()));
  }

  private finish(slot: Slot, reply: DecodeReply): void {
    const job = slot.jobs[0];
    if (!job || job.request.id !== reply.id) return;
    slot.jobs.shift();
    if (slot.jobs.length === 0) slot.worker.unref();
    this.counters.slices += reply.outcomes.length;
    this.counters.requests++;
    this.counters.workerBusyMs += reply.busyMs;
    job.resolve(reply.outcomes);
    this.dispatch();
    this.settle();
  }

  /** Wakes close() once nothing is queued or running. */
  private settle(): void {
    if (this.busy) return;
    for (const wake of this.drainWaiters.splice(0)) wake();
  }

  /** Sends queued requests: first one to each idle worker, then a next one to each busy worker. */
  private dispatch(): void {
    for (let held = 0; held < DEPTH; held++) {
      for (const slot of this.slots) {
        if (this.queue.length === 0) return;
        if (slot.jobs.length !== held) continue;
        const job = this.queue.shift() as Job;
        slot.jobs.push(job);
        slot.worker.ref();
        slot.worker.postMessage(job.request);
      }
    }
  }
}

let shared: DecodePool | undefined;

/**
 * The process's decode pool of `size` workers (default: {@link defaultDecodeWorkers}), created on
 * first use and shared by every loader; asking for another size replaces it once its work is done.
 */
export function sharedDecodePool(size = defaultDecodeWorkers()): DecodePool {
  if (shared?.size !== size) {
    const old = shared;
    shared = new DecodePool(size);
    void old?.close();
  }
  return shared;
}

/**
 * A pool of decode threads, so the main thread only schedules and batches. Slices bound for int16
 * HU batch memory go first to the addon's native threads (native-slices.ts: the common case of
 * uncompressed grey DICOM, with no JavaScript isolate); every slice they decline, and every other
 * slice, goes to worker threads that run `readSlice` (DICOM parsing, pixel codecs, HU rescaling,
 * PNG/JPEG/TIFF decoding), started on first need. The slices of a sequence go out as one call to
 * the native threads (which share them slice by slice) or one request per worker (first come first
 * served), and each slice is written straight into the batch memory laid out for it. A worker
 * holds up to two requests: the next one waits in its message queue while it runs one, so it
 * starts on it without waiting for this thread to see the reply and send more.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

// sharp is loaded here, on the main thread, before any worker: libvips must stay loaded for the
// process's lifetime, or a worker that exits unloads it under the others.
import 'sharp';

import { IchnetError } from '../../errors/ichnet-error.js';
import type { SlicePixels } from '../types.js';
import { NativeSlices } from './native-slices.js';
import type { DecodeReply, DecodeRequest, DecodeTarget, PixelShape, SliceJob, SliceOutcome } from './protocol.js';
import { runRequest, shapeOf } from './request.js';

/** Work done by a pool so far. */
export interface DecodeStats {
  /** Slices decoded (or failed) by the native threads and the workers. */
  slices: number;
  /** Of those, slices the native threads wrote into batch memory. */
  nativeSlices: number;
  /** Requests (messages) the workers answered, and calls the native threads answered. */
  requests: number;
  /** Milliseconds the native threads and the workers spent decoding, summed over threads. */
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
  private readonly counters: DecodeStats = { slices: 0, nativeSlices: 0, requests: 0, workerBusyMs: 0 };
  private drainWaiters: Array<() => void> = [];
  /** The native threads: started on the first slice bound for HU batch memory; null when not used. */
  private native: NativeSlices | undefined | null;
  /** Native calls not yet answered. */
  private nativeCalls = 0;

  /**
   * @param size - Decode threads (an integer ≥ 0): native threads for the common-case DICOM slices,
   *   and as many worker threads for the rest; 0 decodes on the calling thread, in the caller's
   *   event loop (for comparisons, and where threads are unwanted).
   * @param options.native - Use the native threads (default true); false sends every slice to the
   *   worker threads.
   */
  constructor(
    readonly size: number,
    { native = true }: { native?: boolean } = {},
  ) {
    if (!Number.isInteger(size) || size < 0) throw new IchnetError('INVALID_ARGUMENT', `decode workers: expected an integer >= 0, got ${size}`);
    this.native = native && size > 0 ? undefined : null;
  }

  /** Whether slices bound for HU batch memory go to native threads (not yet started, perhaps). */
  get readsNatively(): boolean {
    return this.size > 0 && this.native !== null;
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
    const native = NativeSlices.serves(target) && jobs.every((j) => j.offset !== undefined) ? this.nativeSlices() : undefined;
    if (!native || !target) return this.onWorkers(jobs, target);
    const { placed, busyMs } = await this.track(native.place(jobs, target));
    const written = placed.filter(Boolean).length;
    this.counters.slices += written;
    this.counters.nativeSlices += written;
    this.counters.requests++;
    this.counters.workerBusyMs += busyMs;
    if (written === jobs.length) return jobs.map(() => ({ ok: true, placed: true }));
    // The declined slices go to the workers, which give their pixels or their errors.
    const rest = await this.onWorkers(jobs.filter((_, k) => !placed[k]), target);
    return jobs.map((_, k) => (placed[k] ? { ok: true, placed: true } : (rest.shift() as SliceOutcome)));
  }

  /**
   * The shape a slice decodes to (what the loader lays its batches out for): read by the native
   * threads when they can, else decoded by a worker; undefined when it cannot be decoded.
   */
  async shapeOf(job: SliceJob): Promise<PixelShape | undefined> {
    const native = this.size > 0 ? this.nativeSlices() : undefined;
    const shape = native && (await this.track(native.shapeOf(job)));
    if (shape) return shape;
    const [outcome] = await this.decodeSlices([job]);
    return outcome?.ok && !outcome.placed ? shapeOf(outcome.pixels) : undefined;
  }

  /** The native threads, started on first use; undefined when this pool does not use them. */
  private nativeSlices(): NativeSlices | undefined {
    if (this.native === undefined) {
      try {
        this.native = new NativeSlices(this.size);
      } catch {
        // No addon here: the workers decode everything, and say so if they need the addon too.
        this.native = null;
      }
    }
    return this.native ?? undefined;
  }

  /** Counts a native call as in flight until it settles (close() waits for it). */
  private async track<T>(call: Promise<T>): Promise<T> {
    this.nativeCalls++;
    try {
      return await call;
    } finally {
      this.nativeCalls--;
      this.settle();
    }
  }

  /** Decodes on the worker threads (started on first use), one request per worker. */
  private async onWorkers(jobs: SliceJob[], target: DecodeTarget | undefined): Promise<SliceOutcome[]> {
    while (this.slots.length < this.size) this.slots.push(this.spawn());
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
    this.native?.close();
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private get busy(): boolean {
    return this.nativeCalls > 0 || this.queue.length > 0 || this.slots.some((s) => s.jobs.length > 0);
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

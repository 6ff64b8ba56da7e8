/**
 * A pool of worker threads that decode slices (`readSlice`: DICOM parsing, pixel codecs, HU
 * rescaling, PNG/JPEG/TIFF decoding), so the main thread only schedules and batches. One slice
 * per worker at a time, first come first served; the pixels come back transferred, not copied.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

// sharp is loaded here, on the main thread, before any worker: libvips must stay loaded for the
// process's lifetime, or a worker that exits unloads it under the others.
import 'sharp';

import { IchnetError } from '../../errors/ichnet-error.js';
import { readSlice } from '../slices.js';
import type { SlicePixels } from '../types.js';
import type { DecodeReply, DecodeRequest } from './protocol.js';

/** Work done by a pool so far. */
export interface DecodeStats {
  /** Slices decoded (or failed) by the workers. */
  slices: number;
  /** Milliseconds the workers spent inside `readSlice`, summed over workers. */
  workerBusyMs: number;
}

interface Job {
  request: DecodeRequest;
  resolve: (pixels: SlicePixels) => void;
  reject: (error: IchnetError) => void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
}

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
  private readonly counters: DecodeStats = { slices: 0, workerBusyMs: 0 };
  private drainWaiters: Array<() => void> = [];
  private readonly spares: ArrayBuffer[] = [];

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
  decode(path: string, { rsnaFix = false }: { rsnaFix?: boolean } = {}): Promise<SlicePixels> {
    if (this.closed) return Promise.reject(new IchnetError('INVALID_ARGUMENT', `${path}: the decode pool is closed`));
    if (this.size === 0) return readSlice(path, { rsnaFix });
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, path, rsnaFix }, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Hands back the buffer of a decoded slice's pixels once nothing reads them any more (the loader
   * does after copying them into a batch): a worker decodes a later slice of the same size into it.
   * Only whole buffers are kept (a view of part of one is ignored), at most a few per worker.
   */
  recycle(pixels: SlicePixels): void {
    const { buffer, byteOffset, byteLength } = pixels.data;
    if (this.size === 0 || this.closed || byteOffset !== 0 || byteLength !== buffer.byteLength || buffer instanceof SharedArrayBuffer) return;
    if (this.spares.length < 4 * this.size) this.spares.push(buffer);
  }

  /** Lets the decodes already asked for finish, then stops the workers; later decodes reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.queue.length > 0 || this.slots.some((s) => s.job)) await new Promise<void>((r) => this.drainWaiters.push(r));
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL);
    const slot: Slot = { worker, job: undefined };
    worker.unref(); // idle workers never keep the process alive; busy ones are ref'd in dispatch
    worker.on('message', (reply: DecodeReply) => this.finish(slot, reply));
    // A worker that dies (out of memory, a crash in a codec) fails only its own slice; a fresh
    // worker takes its place.
    const replace = (why: string) => {
      const job = slot.job;
      slot.job = undefined;
      job?.reject(new IchnetError('DATA_UNREADABLE', `${job.request.path}: decode worker failed: ${why}`));
      const index = this.slots.indexOf(slot);
      if (index < 0) return; // already replaced ('error' is followed by 'exit')
      if (this.closed && this.queue.length === 0) {
        this.settle();
        return;
      }
      this.slots[index] = this.spawn();
      this.dispatch();
    };
    worker.on('error', (e: Error) => replace(e.message));
    worker.on('exit', (code) => replace(`exited with code ${code}`));
    return slot;
  }

  private finish(slot: Slot, reply: DecodeReply): void {
    const job = slot.job;
    if (!job || job.request.id !== reply.id) return;
    slot.job = undefined;
    slot.worker.unref();
    this.counters.slices++;
    this.counters.workerBusyMs += reply.busyMs;
    if (reply.ok) job.resolve(reply.pixels);
    else job.reject(new IchnetError(reply.code, reply.message));
    this.dispatch();
    this.settle();
  }

  /** Wakes close() once nothing is queued or running. */
  private settle(): void {
    if (this.queue.length > 0 || this.slots.some((s) => s.job)) return;
    for (const wake of this.drainWaiters.splice(0)) wake();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.job) continue;
      const job = this.queue.shift() as Job;
      slot.job = job;
      slot.worker.ref();
      const spare = this.spares.pop();
      if (spare) slot.worker.postMessage({ ...job.request, spare }, [spare]);
      else slot.worker.postMessage(job.request);
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

/**
 * Batch memory the decode workers can write into: typed arrays over a SharedArrayBuffer, whose
 * bytes V8 is told about, allocated on the batch-memory thread so the main thread never pays for it.
 *
 * Counting: V8 counts an ArrayBuffer's memory towards the external-memory limit at which it
 * collects garbage, but not a SharedArrayBuffer's: batches a consumer never releases would pile up
 * for as long as nothing else made the main thread collect (an epoch of 512² batches grew the
 * process by hundreds of MiB). Counted, they are collected as ArrayBuffers are. Every thread that
 * holds one counts it: the memory is freed once no thread's heap refers to it.
 *
 * Allocating: a new SharedArrayBuffer is zero-filled by the thread that creates it, and with the
 * addon's malloc settings (native/binding/malloc_tuning.h: blocks under 32 MiB come from the heap)
 * that is a memset over fresh pages, ~17 ms of mostly system time for a 25 MiB batch — time in which
 * a main thread could not hand out work. `allocateShared` has a thread of its own do it.
 */
import { Worker } from 'node:worker_threads';

import { IchnetError } from '../../errors/ichnet-error.js';
import { callNativeSync } from '../../session/binding.js';
import type { SlicePixels } from '../types.js';
import type { MemoryReply, MemoryRequest } from './protocol.js';

/** A batch's pixels: Int16 for HU, Uint8 otherwise. */
export type PixelArray = Int16Array | Uint8Array;

const counted = new FinalizationRegistry<number>((bytes) => callNativeSync((addon) => addon.adjustExternalMemory(-bytes)));

/** Counts `buffer`'s bytes towards this thread's V8 heap until the thread's reference is collected. */
export function countShared(buffer: SharedArrayBuffer): SharedArrayBuffer {
  callNativeSync((addon) => addon.adjustExternalMemory(buffer.byteLength));
  counted.register(buffer, buffer.byteLength);
  return buffer;
}

/** Bytes of `length` elements of the pixel kind's type. */
export const pixelBytes = (kind: SlicePixels['kind'], length: number): number => (kind === 'hu' ? length * 2 : length);

/** The whole of `buffer` as the pixel kind's typed array. */
export const pixelArray = (kind: SlicePixels['kind'], buffer: SharedArrayBuffer): PixelArray => (kind === 'hu' ? new Int16Array(buffer) : new Uint8Array(buffer));

/** A zeroed array of `length` elements of the pixel kind's type over a new, counted SharedArrayBuffer, allocated on this thread. */
export function sharedPixelArray(kind: SlicePixels['kind'], length: number): PixelArray {
  return pixelArray(kind, countShared(new SharedArrayBuffer(pixelBytes(kind, length))));
}

/** The batch-memory thread: started on first use, unref'd while nothing is asked of it, replaced when it dies. */
class MemoryThread {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (buffer: SharedArrayBuffer) => void; reject: (e: Error) => void }>();

  allocate(bytes: number): Promise<SharedArrayBuffer> {
    const worker = this.worker ?? this.spawn();
    const id = this.nextId++;
    if (this.waiting.size === 0) worker.ref();
    const allocated = new Promise<SharedArrayBuffer>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    worker.postMessage({ id, bytes } satisfies MemoryRequest);
    return allocated;
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./memory-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (reply: MemoryReply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) worker.unref();
      if ('buffer' in reply) waiter.resolve(countShared(reply.buffer));
      else waiter.reject(new IchnetError('NATIVE_FAILURE', `batch memory: cannot allocate ${reply.bytes} bytes: ${reply.message}`));
    });
    // Whatever was asked of a thread that died fails; the next allocation starts a new thread.
    const died = (why: string) => {
      if (this.worker !== worker) return; // already replaced ('error' is followed by 'exit')
      this.worker = undefined;
      for (const { reject } of this.waiting.values()) reject(new IchnetError('NATIVE_FAILURE', `batch memory: the allocating thread ${why}`));
      this.waiting.clear();
    };
    worker.on('error', (e: Error) => died(`failed: ${e.message}`));
    worker.on('exit', (code) => died(`exited with code ${code}`));
    this.worker = worker;
    return worker;
  }
}

let thread: MemoryThread | undefined;

/** A zeroed, counted SharedArrayBuffer of `bytes`, allocated on the batch-memory thread. */
export function allocateShared(bytes: number): Promise<SharedArrayBuffer> {
  thread ??= new MemoryThread();
  return thread.allocate(bytes);
}

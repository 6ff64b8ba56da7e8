/**
 * Turns patients into native batches (docs/ARCHITECTURE.md §2): series windows in training, whole
 * series in chunks for evaluation and prediction, decoded ahead of the device in a bounded queue
 * so decoding overlaps the native step and memory is bounded by the queue, not by the dataset.
 * Slices are decoded by a pool of worker threads (decode/pool.ts); this thread only schedules
 * them and copies the pixels into batches.
 */
import type { AugmentConfig } from '../config/augment-schema.js';
import type { Batch } from '../session/types.js';
import { sampleAugmentation } from './augment.js';
import { Problems } from './datasets/problems.js';
import { defaultDecodeWorkers, sharedDecodePool, type DecodePool } from './decode/pool.js';
import { hashParts, Rng } from './rng.js';
import { shardIndices } from './shard.js';
import type { OnError, PatientRecord, SkippedItem, SliceRef, SlicePixels } from './types.js';
import { IchnetError, type IchnetErrorCode } from '../errors/ichnet-error.js';

export interface LoaderOptions {
  /** Number of labels (rows of PatientRecord.labels). */
  labels: number;
  /** Patients (sequences) per batch. */
  patientsPerBatch: number;
  /** Longest sequence: training takes a random contiguous window, evaluation splits into chunks. */
  maxSlices: number;
  /** `train`: shuffled patients, random windows, augmentation; `eval`: every slice once, in order. */
  mode: 'train' | 'eval';
  seed: number;
  /** Batches decoded ahead of the consumer (default 2). */
  prefetch?: number;
  /**
   * Decode worker threads (default: the available cores; 0 decodes on the calling thread). All
   * loaders asking for the same number share one pool.
   */
  workers?: number | 'auto';
  /** Slices of one sequence handed to the decoders at once (default: all of them). */
  concurrency?: number;
  /** Sequences decoded ahead of the one being batched (default: patientsPerBatch, at least 2). */
  lookahead?: number;
  onError?: OnError;
  /** Training augmentation; omitted = none. */
  augment?: AugmentConfig;
  /**
   * Data-parallel training: this rank's shard of each epoch's patients (one permutation from seed
   * and epoch, shared by all ranks; see shard.ts), with windows and augmentation drawn from a
   * stream of its own (seed, epoch, rank).
   */
  shard?: { rank: number; worldSize: number };
}

/** Which slices of which patient a batch row holds. */
export interface BatchItem {
  patient: PatientRecord;
  /** Index of the row's first slice within the patient's series. */
  start: number;
  /** Indices (within the series) of the row's slices, in order; skipped slices are absent. */
  slices: number[];
}

export interface LoadedBatch {
  batch: Batch;
  items: BatchItem[];
}

interface Sequence {
  item: BatchItem;
  pixels: SlicePixels[];
}

/** A fixed-capacity async queue: the producer waits while it is full. */
class BoundedQueue<T> {
  private items: T[] = [];
  private waitingConsumer: (() => void) | undefined;
  private waitingProducer: (() => void) | undefined;
  private closed = false;
  private failure: unknown;
  constructor(private readonly capacity: number) {}

  async push(item: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.closed) await new Promise<void>((r) => (this.waitingProducer = r));
    this.items.push(item);
    this.wake('consumer');
  }
  close(failure?: unknown): void {
    this.closed = true;
    this.failure = failure;
    this.wake('consumer');
    this.wake('producer');
  }
  async shift(): Promise<T | undefined> {
    while (this.items.length === 0) {
      if (this.closed) {
        if (this.failure !== undefined) throw this.failure;
        return undefined;
      }
      await new Promise<void>((r) => (this.waitingConsumer = r));
    }
    const item = this.items.shift();
    this.wake('producer');
    return item;
  }
  get stopped(): boolean {
    return this.closed;
  }
  private wake(who: 'consumer' | 'producer'): void {
    const fn = who === 'consumer' ? this.waitingConsumer : this.waitingProducer;
    if (who === 'consumer') this.waitingConsumer = undefined;
    else this.waitingProducer = undefined;
    fn?.();
  }
}

/** Maps `fn` over `items` with at most `limit` in flight, keeping order. */
async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const shapeKey = (p: SlicePixels) => `${p.kind}:${p.channels}:${p.width}x${p.height}`;

export class SliceLoader {
  private readonly problems: Problems;
  private readonly seen = new Set<string>();
  private readonly pool: DecodePool;
  /** Pixel arrays of batches the consumer released, for the next batches of the same size. */
  private readonly released: Array<Int16Array | Uint8Array> = [];

  constructor(
    private readonly patients: PatientRecord[],
    private readonly options: LoaderOptions,
  ) {
    if (!(options.patientsPerBatch >= 1 && options.maxSlices >= 1)) throw new IchnetError('INVALID_ARGUMENT', 'patientsPerBatch and maxSlices must be >= 1');
    this.problems = new Problems(options.onError ?? 'error');
    const workers = options.workers ?? 'auto';
    this.pool = sharedDecodePool(workers === 'auto' ? defaultDecodeWorkers() : workers);
  }

  /**
   * Hands a batch's pixel array back once nothing reads it any more (e.g. after the training step
   * that used it has resolved): a later batch of the same size and type is assembled into it. Reused
   * memory is already mapped, so assembling costs a copy instead of a copy plus a page fault per
   * 4 KiB, and the garbage collector is not pushed by fresh 10–100 MiB arrays every batch. Optional.
   */
  release(loaded: LoadedBatch): void {
    const { images } = loaded.batch;
    if ((images instanceof Int16Array || images instanceof Uint8Array) && this.released.length < 2) this.released.push(images);
  }

  /** Slices decoded and worker time spent by the decode pool this loader uses (shared). */
  get decodePool(): DecodePool {
    return this.pool;
  }

  /** Slices and patients left out under `onError: 'skip'`, each listed once. */
  get skipped(): SkippedItem[] {
    return this.problems.skipped;
  }

  /** Number of batch rows (sequences) one epoch yields, before any skipping. */
  get sequencesPerEpoch(): number {
    const { mode, shard } = this.options;
    if (mode === 'train') return shard ? Math.ceil(this.patients.length / shard.worldSize) : this.patients.length;
    return this.patients.reduce((n, p) => n + Math.ceil(p.slices.length / this.options.maxSlices), 0);
  }

  /** The sequences of an epoch, in the order they are loaded. */
  private plan(rng: Rng, epoch: number): BatchItem[] {
    const { mode, maxSlices, shard, seed } = this.options;
    const sharded = mode === 'train' && shard !== undefined;
    const order = sharded ? shardIndices(this.patients.length, { seed, epoch, rank: shard.rank, worldSize: shard.worldSize, shuffle: true }) : this.patients.map((_, i) => i);
    if (mode === 'train' && !sharded) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
    }
    const items: BatchItem[] = [];
    for (const i of order) {
      const patient = this.patients[i] as PatientRecord;
      const n = patient.slices.length;
      if (n === 0) continue;
      if (mode === 'train') {
        const start = n > maxSlices ? rng.int(0, n - maxSlices) : 0;
        const count = Math.min(n, maxSlices);
        items.push({ patient, start, slices: Array.from({ length: count }, (_, k) => start + k) });
      } else {
        for (let start = 0; start < n; start += maxSlices) {
          items.push({ patient, start, slices: Array.from({ length: Math.min(maxSlices, n - start) }, (_, k) => start + k) });
        }
      }
    }
    return items;
  }

  private report(path: string, reason: string, code?: IchnetErrorCode): void {
    if (this.options.onError !== 'skip') this.problems.report(path, reason, code);
    else if (!this.seen.has(path)) {
      this.seen.add(path);
      this.problems.report(path, reason, code);
    }
  }

  /** Decodes a sequence's slices; a bad slice is an error or is dropped (and listed). */
  private async decode(item: BatchItem): Promise<Sequence | undefined> {
    const decoded = await mapLimited(item.slices, this.options.concurrency ?? item.slices.length, async (s) => {
      const { path, rsnaFix } = item.patient.slices[s] as SliceRef;
      try {
        return await this.pool.decode(path, { rsnaFix });
      } catch (e) {
        this.report(path, (e as Error).message.replace(`${path}: `, ''), e instanceof IchnetError ? e.code : undefined);
        return undefined;
      }
    });
    const slices: number[] = [];
    const pixels: SlicePixels[] = [];
    decoded.forEach((p, k) => {
      if (p) {
        slices.push(item.slices[k] as number);
        pixels.push(p);
      }
    });
    if (pixels.length === 0) return undefined;
    const first = shapeKey(pixels[0] as SlicePixels);
    const odd = pixels.findIndex((p) => shapeKey(p) !== first);
    if (odd >= 0) {
      const path = (item.patient.slices[slices[odd] as number] as { path: string }).path;
      this.report(path, `slice is ${shapeKey(pixels[odd] as SlicePixels)} but the series' first slice is ${first}; patient ${item.patient.id} left out`, 'DATA_INVALID');
      return undefined;
    }
    return { item: { ...item, slices }, pixels };
  }

  /** A pixel array: a released one of that type and length (holding old pixels) when there is one. */
  private pixelArray(kind: SlicePixels['kind'], length: number): Int16Array | Uint8Array {
    const at = this.released.findIndex((a) => a.length === length && (kind === 'hu') === a instanceof Int16Array);
    if (at < 0) return kind === 'hu' ? new Int16Array(length) : new Uint8Array(length);
    const [reused] = this.released.splice(at, 1) as [Int16Array | Uint8Array];
    return reused;
  }

  private assemble(sequences: Sequence[], epoch: number, rng: Rng): LoadedBatch {
    const first = (sequences[0] as Sequence).pixels[0] as SlicePixels;
    const { width: W, height: H, channels: C } = first;
    const B = sequences.length;
    const S = Math.max(...sequences.map((s) => s.pixels.length));
    const L = this.options.labels;
    const plane = C * H * W;
    const images = this.pixelArray(first.kind, B * S * plane);
    const lengths = new Int32Array(B);
    const labelled = sequences.every((s) => s.item.patient.labels);
    const labels = labelled ? new Uint8Array(B * S * L) : undefined;
    sequences.forEach((seq, b) => {
      lengths[b] = seq.pixels.length;
      images.fill(0, (b * S + seq.pixels.length) * plane, (b + 1) * S * plane); // padding (a reused array holds old pixels)
      seq.pixels.forEach((p, s) => {
        (images as Int16Array | Uint8Array).set(p.data as Int16Array & Uint8Array, (b * S + s) * plane);
        if (labels) {
          const from = (seq.item.slices[s] as number) * L;
          labels.set((seq.item.patient.labels as Uint8Array).subarray(from, from + L), (b * S + s) * L);
        }
      });
    });
    for (const seq of sequences) for (const p of seq.pixels) this.pool.recycle(p);
    const batch: Batch = { images, shape: [B, S, C, H, W], lengths };
    if (labels) batch.labels = labels;
    if (this.options.mode === 'train' && this.options.augment) batch.aug = sampleAugmentation(this.options.augment, epoch, B, rng);
    return { batch, items: sequences.map((s) => s.item) };
  }

  /**
   * The batches of one epoch. Identical seed and epoch give identical batches. Decoding runs up to
   * `prefetch` batches ahead; breaking out of the loop stops it.
   */
  async *batches(epoch = 0): AsyncGenerator<LoadedBatch> {
    const { seed, shard } = this.options;
    const rng = new Rng(shard ? hashParts('ichnet-loader', seed, epoch, shard.rank) : hashParts('ichnet-loader', seed, epoch));
    const queue = new BoundedQueue<LoadedBatch>(Math.max(1, this.options.prefetch ?? 2));
    const produce = async () => {
      const buckets = new Map<string, Sequence[]>();
      // Sequences are decoded `ahead` at a time so the pool never waits on batching; they are
      // taken in plan order, so batches do not depend on which decode finishes first.
      const plan = this.plan(rng, epoch);
      const ahead = Math.max(1, this.options.lookahead ?? Math.max(2, this.options.patientsPerBatch));
      const pending: Promise<Sequence | undefined>[] = [];
      let planned = 0;
      const fill = () => {
        while (pending.length < ahead && planned < plan.length) {
          const decoding = this.decode(plan[planned++] as BatchItem);
          decoding.catch(() => undefined); // awaited below; this only keeps an early stop from leaving it unhandled
          pending.push(decoding);
        }
      };
      fill();
      while (pending.length > 0) {
        if (queue.stopped) return;
        const seq = await (pending.shift() as Promise<Sequence | undefined>);
        fill();
        if (!seq) continue;
        const key = shapeKey(seq.pixels[0] as SlicePixels);
        const bucket = [...(buckets.get(key) ?? []), seq];
        if (bucket.length === this.options.patientsPerBatch) {
          buckets.delete(key);
          await queue.push(this.assemble(bucket, epoch, rng));
        } else {
          buckets.set(key, bucket);
        }
      }
      for (const bucket of buckets.values()) {
        if (queue.stopped) return;
        await queue.push(this.assemble(bucket, epoch, rng));
      }
    };
    const producer = produce().then(
      () => queue.close(),
      (e: unknown) => queue.close(e),
    );
    try {
      for (;;) {
        const next = await queue.shift();
        if (!next) break;
        yield next;
      }
    } finally {
      queue.close();
      await producer;
    }
  }
}

/**
 * Writes a batch's slice outputs (patients × slices × labels, e.g. logits) back to each patient's
 * series, so chunks of a long series are stitched in place. `into` holds one array of
 * slices × labels per patient id (created on first use, NaN where nothing was predicted).
 */
export function scatterToPatients(loaded: LoadedBatch, values: Float32Array, labels: number, into: Map<string, Float32Array>): void {
  const S = loaded.batch.shape[1];
  loaded.items.forEach((item, b) => {
    let target = into.get(item.patient.id);
    if (!target) {
      target = new Float32Array(item.patient.slices.length * labels).fill(Number.NaN);
      into.set(item.patient.id, target);
    }
    item.slices.forEach((s, k) => target.set(values.subarray((b * S + k) * labels, (b * S + k + 1) * labels), s * labels));
  });
}

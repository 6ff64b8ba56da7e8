/**
 * Turns patients into native batches (docs/ARCHITECTURE.md §2): series windows in training, whole
 * series in chunks for evaluation and prediction, decoded ahead of the device in a bounded queue
 * so decoding overlaps the native step and memory is bounded by the queue, not by the dataset.
 * Slices are decoded by a pool of worker threads (decode/pool.ts) straight into the memory of the
 * batch they will belong to; this thread only plans, schedules and labels batches (see `Group`).
 */
import type { AugmentConfig } from '../config/augment-schema.js';
import type { Batch } from '../session/types.js';
import { sampleAugmentation } from './augment.js';
import { Problems } from './datasets/problems.js';
import { BatchArrays } from './decode/batch-arrays.js';
import type { PixelArray } from './decode/batch-memory.js';
import { defaultDecodeWorkers, sharedDecodePool, type DecodePool } from './decode/pool.js';
import type { PixelShape } from './decode/protocol.js';
import { pixelView, planeSize, shapeKey, shapeOf } from './decode/request.js';
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

/**
 * A batch's memory, laid out before its slices are decoded: the plan says which sequences will
 * share the next batch (the next `rows` of the plan, when none is left out and all have `shape`),
 * so each slice gets its final place, row b, slice s at (b·S + s)·plane, and a worker writes it
 * there. The batch is that memory when the prediction holds; when it does not (a slice or a
 * patient left out, another image size), the batch is copied together from the decoded slices
 * exactly as the prediction would have laid it out, so the batches never depend on which way they
 * were made. The memory itself comes from `BatchArrays`: allocated off this thread, or reused.
 */
interface Group {
  /** rows × S × plane elements over a SharedArrayBuffer (zeroed when new, old pixels when reused); the sequences' slices go out once it is there. */
  images: Promise<PixelArray>;
  shape: PixelShape;
  rows: number;
  S: number;
  /** Rows handed to sequences so far. */
  assigned: number;
}

interface Placement {
  group: Group;
  row: number;
}

interface Sequence {
  item: BatchItem;
  /** The decoded slices (views of the group's memory for the placed ones). */
  pixels: SlicePixels[];
  placement: Placement | undefined;
  /** Every slice of the item decoded and written at its place. */
  inPlace: boolean;
}

/** How the batches of a loader were made so far. */
export interface AssemblyCounts {
  /** Batches whose pixels the workers wrote in place. */
  inPlace: number;
  /** Batches copied together from decoded slices (the prediction did not hold). */
  copied: number;
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

export class SliceLoader {
  private readonly problems: Problems;
  private readonly seen = new Set<string>();
  private readonly pool: DecodePool;
  /** The batches' pixel arrays: new, prepared ahead, or released by the consumer and reused. */
  private readonly arrays: BatchArrays;
  /** The shape of the latest decoded sequence: the next groups are laid out for it. */
  private layout: PixelShape | undefined;
  private readonly counts: AssemblyCounts = { inPlace: 0, copied: 0 };

  constructor(
    private readonly patients: PatientRecord[],
    private readonly options: LoaderOptions,
  ) {
    if (!(options.patientsPerBatch >= 1 && options.maxSlices >= 1)) throw new IchnetError('INVALID_ARGUMENT', 'patientsPerBatch and maxSlices must be >= 1');
    this.problems = new Problems(options.onError ?? 'error');
    const workers = options.workers ?? 'auto';
    this.pool = sharedDecodePool(workers === 'auto' ? defaultDecodeWorkers() : workers);
    this.arrays = new BatchArrays(this.pool.size > 0);
  }

  /**
   * Hands a batch's pixel array back once nothing reads it any more (e.g. after the training step
   * that used it has resolved): the workers decode a later batch of the same size and type into it.
   * Until then nothing writes it. Reused memory is already mapped (no page fault per 4 KiB), and
   * the garbage collector is not pushed by fresh 10–100 MiB arrays every batch. Optional; a batch
   * released twice, or not from this loader, is left alone.
   */
  release(loaded: LoadedBatch): void {
    const { images } = loaded.batch;
    if (images instanceof Int16Array || images instanceof Uint8Array) this.arrays.release(images, loaded.batch);
  }

  /** How the batches so far were made: in place, or copied (counts over all epochs). */
  get assembly(): AssemblyCounts {
    return { ...this.counts };
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

  /**
   * Decodes a sequence's slices, into its placement when it has one; a bad slice is an error or is
   * dropped (and listed), in the order of the series.
   */
  private async decode(item: BatchItem, placement: Placement | undefined): Promise<Sequence | undefined> {
    const refs = item.slices.map((s) => item.patient.slices[s] as SliceRef);
    const group = placement?.group;
    const plane = group ? planeSize(group.shape) : 0;
    const at = (k: number) => ((placement as Placement).row * (group as Group).S + k) * plane;
    const jobs = refs.map(({ path, rsnaFix }, k) => (group ? { path, rsnaFix: rsnaFix === true, offset: at(k) } : { path, rsnaFix: rsnaFix === true }));
    const target = group && { buffer: (await group.images).buffer as SharedArrayBuffer, shape: group.shape };
    const outcomes = await this.pool.decodeSlices(jobs, target);
    const slices: number[] = [];
    const pixels: SlicePixels[] = [];
    let inPlace = group !== undefined;
    outcomes.forEach((outcome, k) => {
      if (!outcome.ok) {
        const { path } = refs[k] as SliceRef;
        this.report(path, outcome.message.replace(`${path}: `, ''), outcome.code);
        inPlace = false;
        return;
      }
      slices.push(item.slices[k] as number);
      if (outcome.placed) {
        const { shape, buffer } = target as NonNullable<typeof target>;
        pixels.push({ ...shape, data: pixelView(shape, buffer, at(k), plane) } as SlicePixels);
      } else {
        pixels.push(outcome.pixels);
        inPlace = false;
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
    return { item: { ...item, slices }, pixels, placement, inPlace };
  }

  /**
   * Takes the layout from the first slice of `item`, read once more later: without it, the
   * epoch's first batch would be copied together. A slice that fails is reported when its
   * sequence is decoded, not here.
   */
  private async learnLayout(item: BatchItem): Promise<void> {
    const { path, rsnaFix } = item.patient.slices[item.slices[0] as number] as SliceRef;
    const shape = await this.pool.shapeOf({ path, rsnaFix: rsnaFix === true });
    if (shape) this.layout = shape;
  }

  /**
   * The memory of a batch of `members` (the next sequences of the plan) of `shape`; the memory of
   * the batch of `following` (the sequences after them) starts to be prepared.
   */
  private openGroup(shape: PixelShape, members: BatchItem[], following: BatchItem[]): Group {
    const elements = (items: BatchItem[]) => items.length * Math.max(...items.map((m) => m.slices.length)) * planeSize(shape);
    const images = this.arrays.take(shape.kind, elements(members));
    if (following.length > 0) this.arrays.prepare(shape.kind, elements(following));
    return { images, shape, rows: members.length, S: Math.max(...members.map((m) => m.slices.length)), assigned: 0 };
  }

  private async assemble(sequences: Sequence[], epoch: number, rng: Rng): Promise<LoadedBatch> {
    const first = (sequences[0] as Sequence).pixels[0] as SlicePixels;
    const { width: W, height: H, channels: C } = first;
    const B = sequences.length;
    const S = Math.max(...sequences.map((s) => s.pixels.length));
    const L = this.options.labels;
    const plane = C * H * W;
    // In place when the batch is exactly the group its sequences were decoded into: then the copy
    // below would write every pixel where it already is.
    const group = sequences[0]?.placement?.group;
    const inPlace = group !== undefined && group.rows === B && sequences.every((s, b) => s.inPlace && s.placement?.group === group && s.placement.row === b);
    const images = await (inPlace ? group.images : this.arrays.take(first.kind, B * S * plane));
    this.counts[inPlace ? 'inPlace' : 'copied']++;
    const lengths = new Int32Array(B);
    const labelled = sequences.every((s) => s.item.patient.labels);
    const labels = labelled ? new Uint8Array(B * S * L) : undefined;
    sequences.forEach((seq, b) => {
      lengths[b] = seq.pixels.length;
      images.fill(0, (b * S + seq.pixels.length) * plane, (b + 1) * S * plane); // padding (a reused array holds old pixels)
      seq.pixels.forEach((p, s) => {
        if (!inPlace) images.set(p.data as Int16Array & Uint8Array, (b * S + s) * plane);
        if (labels) {
          const from = (seq.item.slices[s] as number) * L;
          labels.set((seq.item.patient.labels as Uint8Array).subarray(from, from + L), (b * S + s) * L);
        }
      });
    });
    const batch: Batch = { images, shape: [B, S, C, H, W], lengths };
    this.arrays.lend(images, batch);
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
      const B = this.options.patientsPerBatch;
      // Sequences are decoded `ahead` at a time so the pool never waits on batching; they are
      // taken in plan order, so batches do not depend on which decode finishes first.
      const plan = this.plan(rng, epoch);
      const ahead = Math.max(1, this.options.lookahead ?? Math.max(2, B));
      const pending: Promise<Sequence | undefined>[] = [];
      let planned = 0;
      let open: Group | undefined;
      // Worth a second read of one slice when more than one batch is to come, or when the native
      // threads read it (a header parse): else the first sequences would go to the worker threads.
      if (!this.layout && (plan.length > B || (plan.length > 0 && this.pool.readsNatively))) await this.learnLayout(plan[0] as BatchItem);
      // The next planned sequence's place: the next row of the open group, or row 0 of a new group
      // of the next B sequences when the batch being collected would start with it (every sequence
      // still decoding joins the bucket of the current layout). Otherwise, and before the first
      // sequence gives the shape, no place: its batch is copied together.
      const placement = (): Placement | undefined => {
        if (open && open.assigned < open.rows) return { group: open, row: open.assigned++ };
        open = undefined;
        const layout = this.layout;
        if (!layout || ((buckets.get(shapeKey(layout))?.length ?? 0) + pending.length) % B !== 0) return undefined;
        open = this.openGroup(layout, plan.slice(planned, planned + B), plan.slice(planned + B, planned + 2 * B));
        return { group: open, row: open.assigned++ };
      };
      const fill = () => {
        while (pending.length < ahead && planned < plan.length) {
          const place = placement();
          const decoding = this.decode(plan[planned++] as BatchItem, place);
          decoding.catch(() => undefined); // awaited below; this only keeps an early stop from leaving it unhandled
          pending.push(decoding);
        }
      };
      fill();
      while (pending.length > 0) {
        if (queue.stopped) return;
        const seq = await (pending.shift() as Promise<Sequence | undefined>);
        const key = seq && shapeKey(seq.pixels[0] as SlicePixels);
        // A sequence left out or of another shape shifts which sequences share the later batches:
        // the open group's remaining rows would be the wrong ones.
        if (!key || !this.layout || key !== shapeKey(this.layout)) open = undefined;
        let full: Sequence[] | undefined;
        if (seq && key) {
          this.layout = shapeOf(seq.pixels[0] as SlicePixels);
          const bucket = [...(buckets.get(key) ?? []), seq];
          if (bucket.length === B) {
            buckets.delete(key);
            full = bucket;
          } else {
            buckets.set(key, bucket);
          }
        }
        fill();
        if (full) await queue.push(await this.assemble(full, epoch, rng));
      }
      for (const bucket of buckets.values()) {
        if (queue.stopped) return;
        await queue.push(await this.assemble(bucket, epoch, rng));
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

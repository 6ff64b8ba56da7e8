/**
 * The pixel arrays of one loader's batches: new ones allocated off the calling thread (one prepared
 * ahead for the next batch), and those the consumer hands back reused for later batches. An array is
 * reused only after the consumer released the batch it was lent with: releasing a batch again (its
 * array may hold a later batch by then), or one this loader did not make, changes nothing, so memory
 * a consumer still reads is never handed out again.
 */
import type { SlicePixels } from '../types.js';
import { allocateShared, pixelArray, pixelBytes, sharedPixelArray, type PixelArray } from './batch-memory.js';

/** Released arrays kept for reuse: enough for the batches in flight between consumer and decoders. */
const MAX_RELEASED = 4;

type Kind = SlicePixels['kind'];

const fits = (array: PixelArray, kind: Kind, length: number) => array.length === length && (kind === 'hu') === array instanceof Int16Array;

export class BatchArrays {
  /** Arrays handed back, holding old pixels. */
  private readonly released: PixelArray[] = [];
  /** Arrays lent to the consumer, each with the batch it was lent in, until that batch is released. */
  private readonly lent = new WeakMap<PixelArray, object>();
  /** One array being allocated ahead, for the batch expected next. */
  private spare: { kind: Kind; length: number; array: Promise<PixelArray> } | undefined;

  /**
   * @param offThread - Allocate on the batch-memory thread (false: on the calling thread, for a
   *   loader that decodes there, where threads are unwanted).
   */
  constructor(private readonly offThread: boolean) {}

  /** An array of `length` elements for a batch: a released one (old pixels), the spare, or a new, zeroed one. */
  take(kind: Kind, length: number): Promise<PixelArray> {
    const at = this.released.findIndex((a) => fits(a, kind, length));
    if (at >= 0) return Promise.resolve((this.released.splice(at, 1) as [PixelArray])[0]);
    const spare = this.spare;
    if (spare && spare.kind === kind && spare.length === length) {
      this.spare = undefined;
      return spare.array;
    }
    return this.allocate(kind, length);
  }

  /**
   * Starts allocating an array for the batch expected next, so that batch's slices need not wait
   * for it — unless a released array or the spare already fits, or arrays are allocated on the
   * calling thread. A spare of another size is dropped (it was for a batch that did not come).
   */
  prepare(kind: Kind, length: number): void {
    if (!this.offThread || this.released.some((a) => fits(a, kind, length))) return;
    if (this.spare && this.spare.kind === kind && this.spare.length === length) return;
    const array = this.allocate(kind, length);
    array.catch(() => undefined); // a failure surfaces when the array is taken
    this.spare = { kind, length, array };
  }

  /** Marks `array` as read by the consumer from now on, as the memory of `batch`. */
  lend(array: PixelArray, batch: object): void {
    this.lent.set(array, batch);
  }

  /**
   * Takes back the array of `batch`, to be reused; true when it is lent with that batch. A batch
   * released before no longer holds its array, even when the array was lent again with a later one.
   */
  release(array: PixelArray, batch: object): boolean {
    if (this.lent.get(array) !== batch) return false;
    this.lent.delete(array);
    if (this.released.length < MAX_RELEASED) this.released.push(array);
    return true;
  }

  private allocate(kind: Kind, length: number): Promise<PixelArray> {
    if (!this.offThread) return Promise.resolve(sharedPixelArray(kind, length));
    return allocateShared(pixelBytes(kind, length)).then((buffer) => pixelArray(kind, buffer));
  }
}

/**
 * A step loop's batches, each staged on the session as it arrives (docs/ARCHITECTURE.md §9): the
 * loop asks for batch k+1 while step k runs, so batch k+1's host preprocessing (and, on a GPU, its
 * upload) runs on the session's staging thread during step k.
 */
import type { Batch } from '../session/types.js';
import type { Session } from '../session/session.js';
import { awaitData, type WaitClock } from './data-wait.js';

/** A loader's batches for one step loop, staged one ahead; `close()` it however the loop ends. */
export class StagedBatches<T extends { batch: Batch }> {
  /** How long the loop waited for the loader while no step ran (metrics.jsonl's `dataWaitSeconds`). */
  readonly wait: WaitClock = { seconds: 0 };
  private readonly source: AsyncIterator<T>;
  private staging: Promise<void> = Promise.resolve();

  /**
   * `mode`: the steps the batches are for (`train`: with their augmentation); `overlap` false
   * stages nothing, so each step preprocesses its own batch (`train.overlap`).
   */
  constructor(
    source: AsyncIterable<T>,
    private readonly session: Session,
    private readonly mode: 'train' | 'eval',
    private readonly overlap: boolean,
  ) {
    this.source = source[Symbol.asyncIterator]();
  }

  /**
   * The next batch, or undefined after the last. `during`: the step running meanwhile, whose time
   * is not waiting. `stage` false for a batch no step will use (the replay of a resumed epoch).
   */
  async next(during?: Promise<unknown>, stage = true): Promise<T | undefined> {
    let next: IteratorResult<T>;
    try {
      next = await awaitData(this.source.next(), this.wait, during);
    } catch (e) {
      await during?.then(undefined, () => undefined); // the step in flight ends before the loader's error surfaces
      throw e;
    }
    if (next.done) return undefined;
    if (this.overlap && stage) this.staging = this.session.stage(next.value.batch, this.mode);
    return next.value;
  }

  /**
   * Waits until the staging thread no longer reads a batch (the last one staged may be one no step
   * will use: the loop stopped or failed first), then ends the source. Never rejects for staging.
   */
  async close(): Promise<void> {
    await this.staging;
    await this.source.return?.();
  }
}

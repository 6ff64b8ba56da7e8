/**
 * PyTorch's DistributedSampler semantics for patients: one permutation of the whole training set
 * per epoch, drawn from (seed, epoch) alone so that every rank draws the same one; padded by
 * repeating its start until it divides evenly; rank r takes positions r, r + W, r + 2W, …, so
 * every rank gets the same number of patients and the shards are disjoint except for the padding.
 */
import { hashParts, Rng } from './rng.js';

/** This rank's patient indices for one epoch, in the order to train on them. */
export function shardIndices(count: number, { seed, epoch, rank, worldSize, shuffle }: { seed: number; epoch: number; rank: number; worldSize: number; shuffle: boolean }): number[] {
  if (!(worldSize >= 1 && rank >= 0 && rank < worldSize)) throw new RangeError(`rank ${rank} is not in 0..${worldSize - 1}`);
  const order = Array.from({ length: count }, (_, i) => i);
  if (shuffle) {
    const rng = new Rng(hashParts('ichnet-sampler', seed, epoch));
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
  }
  if (count === 0) return [];
  const total = Math.ceil(count / worldSize) * worldSize;
  for (let i = count; i < total; i++) order.push(order[i - count] as number);
  return order.filter((_, i) => i % worldSize === rank);
}

/** Evaluation shards: every patient exactly once (no padding: evaluation has no collective per batch). */
export function evaluationShard<T>(items: readonly T[], rank: number, worldSize: number): T[] {
  return items.filter((_, i) => i % worldSize === rank);
}

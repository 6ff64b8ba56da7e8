/**
 * What a Trainer does differently as one rank of a data-parallel job: its session's
 * `distributed` block and device, and the per-step agreement that keeps every rank in lockstep.
 */
import { availableParallelism } from 'node:os';

import type { ExperimentConfig } from '../config/experiment-schema.js';
import type { SessionConfigInput } from '../config/session-schema.js';
import type { RankPlacement } from '../distributed/env.js';
import { configFingerprint } from '../distributed/fingerprint.js';
import type { Session } from '../session/session.js';

/**
 * The session config of rank `placement.rank`: the job's rendezvous; on CUDA the GPU
 * `cuda:LOCAL_RANK` (for `device: auto` or `cuda`; an explicit `cuda:<i>` is kept); with
 * `threads: 0` (all cores) this machine's cores shared among its ranks.
 */
export function rankSessionConfig(base: SessionConfigInput, c: ExperimentConfig, placement: RankPlacement, cudaAvailable: boolean): SessionConfigInput {
  const device = (c.device === 'auto' || c.device === 'cuda') && cudaAvailable ? `cuda:${placement.localRank}` : c.device;
  const threads = c.threads === 0 ? Math.max(1, Math.floor(availableParallelism() / placement.localWorldSize)) : c.threads;
  const d = c.distributed;
  return {
    ...base,
    device,
    threads,
    distributed: {
      backend: d.backend,
      master_addr: placement.masterAddr,
      master_port: placement.masterPort,
      rank: placement.rank,
      world_size: placement.worldSize,
      timeout_ms: Math.round(d.timeout * 1000),
      broadcast_buffers: d.broadcast_buffers,
      sync_bn: d.sync_bn,
      bucket_cap_mb: d.bucket_cap_mb,
      fingerprint: configFingerprint(c),
    },
  };
}

/** The learning-rate factor `distributed.lr_scaling` asks for: the number of ranks for `linear`. */
export function learningRateScale(c: ExperimentConfig, placement: RankPlacement | null): number {
  return placement && c.distributed.lr_scaling === 'linear' ? placement.worldSize : 1;
}

/** What every rank says before a training step, and what they decide together. */
export interface StepAgreement {
  /** Every rank has a batch: the step runs (else the epoch ends for all). */
  allHaveBatch: boolean;
  /** Ranks with a batch when not all had one (their batches are left over). */
  leftOver: number;
  /** Some rank is stopping with a resumable checkpoint (Ctrl-C, a failed listener). */
  halting: boolean;
  /** Some rank asked to end training early (`stopTraining`). */
  stop: boolean;
  /** Valid slices of this step over all ranks (global throughput). */
  slices: number;
}

/**
 * One collective before each step, so that every rank takes the same number of steps and stops
 * at the same one: the shards are padded to equal patient counts, but batches can still differ
 * (series of other image sizes are batched apart, skipped slices), and a stop request reaches one
 * rank first.
 */
export async function agreeOnStep(session: Session, mine: { hasBatch: boolean; halting: boolean; stop: boolean; slices: number }): Promise<StepAgreement> {
  const parts = await session.allGather(Float32Array.of(mine.hasBatch ? 1 : 0, mine.halting ? 1 : 0, mine.stop ? 1 : 0, mine.slices));
  const withBatch = parts.filter((p) => p[0] === 1).length;
  return {
    allHaveBatch: withBatch === parts.length,
    leftOver: withBatch === parts.length ? 0 : withBatch,
    halting: parts.some((p) => p[1] === 1),
    stop: parts.some((p) => p[2] === 1),
    slices: parts.reduce((n, p) => n + (p[3] as number), 0),
  };
}

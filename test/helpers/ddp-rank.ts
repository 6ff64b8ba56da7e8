/**
 * One rank of an ichnet data-parallel job for tests, started as a child process with torchrun's
 * environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT):
 *
 *     node dist/test/helpers/ddp-rank.js <spec.json>
 *
 * It loads the initial weights, runs `trainStep` on <dir>/step<k>-rank<RANK>/ for each k (the
 * oracle's batch layout: batch.json, images.bin, labels.bin), lets rank 0 alone run one `evalStep`,
 * then saves its weights to spec.out with `{rank}` replaced. Exit code 0 on success; on failure the error message on stderr and exit
 * code 1.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Session, type SessionConfigInput } from '../../src/index.js';
import { readOracleBatch } from './oracle.js';

/** What the test asks of each rank. */
export interface RankSpec {
  config: SessionConfigInput;
  weights: string;
  dir: string;
  out: string;
  /** Rendezvous and collective timeout (default 30 s). */
  timeoutMs?: number;
  /** `rank` sends itself `signal` just before training step `step` (a crash or a hang). */
  killAtStep?: { rank: number; step: number; signal: 'SIGKILL' | 'SIGSTOP' };
  /** What must be equal on every rank (distributed.fingerprint). */
  fingerprint?: string;
  /** distributed.sync_bn (default false). */
  syncBn?: boolean;
}

async function main(specPath: string): Promise<void> {
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as RankSpec;
  const env = (name: string): string => {
    const v = process.env[name];
    if (v === undefined) throw new Error(`${name} is not set`);
    return v;
  };
  const rank = Number(env('RANK'));
  const session = await Session.create({
    ...spec.config,
    distributed: {
      master_addr: env('MASTER_ADDR'),
      master_port: Number(env('MASTER_PORT')),
      rank,
      world_size: Number(env('WORLD_SIZE')),
      timeout_ms: spec.timeoutMs ?? 30_000,
      fingerprint: spec.fingerprint ?? '',
      sync_bn: spec.syncBn ?? false,
    },
  });
  try {
    await session.loadWeights(spec.weights);
    for (let k = 0; existsSync(join(spec.dir, `step${k}-rank${rank}`)); k++) {
      if (spec.killAtStep?.rank === rank && spec.killAtStep.step === k) process.kill(process.pid, spec.killAtStep.signal);
      await session.trainStep(readOracleBatch(join(spec.dir, `step${k}-rank${rank}`)));
    }
    // Evaluation makes no collective (BatchNorm uses its running statistics, with sync_bn too):
    // rank 0 evaluates alone while the others wait at the next collective.
    if (rank === 0) await session.evalStep(readOracleBatch(join(spec.dir, 'step0-rank0')));
    await session.syncReplicas();
    await session.saveWeights(spec.out.replace('{rank}', String(rank)));
  } finally {
    await session.close();
  }
}

main(process.argv[2] ?? '').catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});

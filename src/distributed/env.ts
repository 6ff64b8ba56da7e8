/**
 * Which rank of which job this process is, from torchrun's environment variables (also what
 * `ichnet train --nproc N` sets for its children, and what a SLURM script exports). A pure
 * function of the environment it is given.
 */

/** One rank's place in a data-parallel job. */
export interface RankPlacement {
  /** Host of rank 0, which hosts the rendezvous store (MASTER_ADDR). */
  masterAddr: string;
  /** Rendezvous TCP port (MASTER_PORT). */
  masterPort: number;
  /** This process among all (RANK). */
  rank: number;
  /** Processes in the job (WORLD_SIZE). */
  worldSize: number;
  /** This process among those on its machine (LOCAL_RANK): its GPU index on CUDA. */
  localRank: number;
  /** Processes on this machine (LOCAL_WORLD_SIZE). */
  localWorldSize: number;
}

const VARIABLES = ['MASTER_ADDR', 'MASTER_PORT', 'RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE'] as const;

function integer(env: Record<string, string | undefined>, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = env[name] ?? '';
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
    throw new RangeError(`${name}=${JSON.stringify(text)}: expected an integer in ${min}..${max === Number.MAX_SAFE_INTEGER ? '' : max}`);
  }
  return value;
}

/**
 * The placement torchrun's variables describe, or `null` when none of RANK / WORLD_SIZE is set
 * (one process). A partial or inconsistent set is an error naming the variable: a job must never
 * silently run as one process per rank.
 */
export function placementFromEnv(env: Record<string, string | undefined>): RankPlacement | null {
  if (env.RANK === undefined && env.WORLD_SIZE === undefined) return null;
  const missing = VARIABLES.filter((v) => env[v] === undefined && v !== 'LOCAL_RANK' && v !== 'LOCAL_WORLD_SIZE');
  if (missing.length > 0) {
    throw new Error(`data-parallel environment incomplete: ${missing.join(', ')} not set (torchrun sets MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE; or use ichnet train --nproc N)`);
  }
  const worldSize = integer(env, 'WORLD_SIZE', 1);
  const rank = integer(env, 'RANK', 0, worldSize - 1);
  const localWorldSize = env.LOCAL_WORLD_SIZE === undefined ? worldSize : integer(env, 'LOCAL_WORLD_SIZE', 1, worldSize);
  const localRank = env.LOCAL_RANK === undefined ? rank : integer(env, 'LOCAL_RANK', 0, localWorldSize - 1);
  const masterAddr = (env.MASTER_ADDR ?? '').trim();
  if (masterAddr === '') throw new Error('MASTER_ADDR is empty: set it to the host name or address of rank 0');
  return { masterAddr, masterPort: integer(env, 'MASTER_PORT', 1, 65535), rank, worldSize, localRank, localWorldSize };
}

/** The environment variables that give a child process `placement`. */
export function placementEnv(placement: RankPlacement): Record<(typeof VARIABLES)[number], string> {
  return {
    MASTER_ADDR: placement.masterAddr,
    MASTER_PORT: String(placement.masterPort),
    RANK: String(placement.rank),
    WORLD_SIZE: String(placement.worldSize),
    LOCAL_RANK: String(placement.localRank),
    LOCAL_WORLD_SIZE: String(placement.localWorldSize),
  };
}

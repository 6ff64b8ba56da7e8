/** Starting the ranks of a data-parallel job as child processes, with torchrun's environment. */
import { spawn, type ChildProcess } from 'node:child_process';

import { placementEnv } from '../../src/distributed/env.js';

/** How one rank ended. */
export interface RankExit {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Milliseconds from the start of all ranks to this one's exit. */
  ms: number;
}

export { freeLoopbackPort as freePort } from '../../src/distributed/launcher.js';

/** The environment torchrun gives rank `rank` of `world` on one machine. */
export function rankEnv(rank: number, world: number, port: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...placementEnv({ masterAddr: '127.0.0.1', masterPort: port, rank, worldSize: world, localRank: rank, localWorldSize: world }), ...extra };
}

/**
 * Runs `command args` once per rank and waits for all of them; a rank still running after
 * `timeoutMs` is killed (SIGKILL) and reported with that signal. `onStart` sees every child.
 */
export async function runRanks(
  command: string,
  args: (rank: number) => string[],
  world: number,
  { port, timeoutMs = 180_000, env = () => ({}), onStart }: {
    port: number;
    timeoutMs?: number;
    env?: (rank: number) => NodeJS.ProcessEnv;
    onStart?: (children: ChildProcess[]) => void;
  },
): Promise<RankExit[]> {
  const start = Date.now();
  const children: ChildProcess[] = [];
  const exits = Array.from({ length: world }, (_, rank) => {
    const child = spawn(command, args(rank), { env: rankEnv(rank, world, port, env(rank)), stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return new Promise<RankExit>((resolve) => {
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ rank, code, signal, stderr, ms: Date.now() - start });
      });
    });
  });
  onStart?.(children);
  return Promise.all(exits);
}

/**
 * `ichnet train --nproc N`: starts N ranks of the same command on this machine, rendezvousing on
 * loopback at a free port, and owns their lifetime — never a hang, never an orphan:
 *  * Ctrl-C (SIGINT) or SIGTERM is passed to every rank once: each finishes the step the job is
 *    in, rank 0 writes the resumable checkpoint, all exit 130. A second Ctrl-C kills them at once.
 *  * When a rank fails, the others see it in their next collective and exit non-zero; any rank
 *    still running `graceMs` later is terminated (SIGTERM, then SIGKILL).
 *  * The ranks run in their own process group (so a terminal's Ctrl-C reaches them once, through
 *    here) and watch an IPC channel to this process: if it dies, they exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

import { placementEnv } from './env.js';

/** The environment variable that tells a rank it was started by the launcher (it then watches the IPC channel). */
export const LAUNCHED_ENV = 'ICHNET_LAUNCHED';

export interface LaunchOptions {
  nproc: number;
  /** The program and arguments each rank runs (e.g. process.execPath and the CLI with its arguments). */
  command: string;
  args: string[];
  /** How long the others may take to notice a failed rank before they are terminated. */
  graceMs: number;
  /** The rendezvous port; default a free one. */
  port?: number;
  env?: NodeJS.ProcessEnv;
  /** Where the launcher's own messages go (default stderr). */
  log?: (line: string) => void;
}

/** A TCP port free on the loopback interface a moment ago. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** How a rank ended, in words. */
function describeExit(rank: number, pid: number | undefined, code: number | null, signal: NodeJS.Signals | null): string {
  return `rank ${rank} (pid ${pid ?? '?'}) ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`;
}

/**
 * Runs the ranks to completion; resolves with the exit code for the launcher: 0 when every rank
 * succeeded, 130 when interrupted, else the first failed rank's code (1 when killed by a signal).
 */
export async function launch(options: LaunchOptions): Promise<number> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const port = options.port ?? (await freeLoopbackPort());
  const children: ChildProcess[] = [];
  let interrupts = 0;
  let firstFailure: { rank: number; code: number } | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  const signalAll = (signal: NodeJS.Signals) => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    }
  };
  const onInterrupt = (signal: NodeJS.Signals) => () => {
    interrupts++;
    if (interrupts === 1) {
      log(`ichnet: ${signal}: every rank finishes its step; rank 0 writes a resumable checkpoint (Ctrl-C again to kill them)`);
      signalAll('SIGINT');
    } else {
      signalAll('SIGKILL');
    }
  };
  const onSigint = onInterrupt('SIGINT');
  const onSigterm = onInterrupt('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);

  try {
    const exits = Array.from({ length: options.nproc }, (_, rank) => {
      const env = {
        ...process.env,
        ...options.env,
        ...placementEnv({ masterAddr: '127.0.0.1', masterPort: port, rank, worldSize: options.nproc, localRank: rank, localWorldSize: options.nproc }),
        [LAUNCHED_ENV]: '1',
      };
      const child = spawn(options.command, options.args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
      children.push(child);
      return new Promise<void>((resolve) => {
        child.on('error', (e) => {
          log(`ichnet: rank ${rank} could not start: ${e.message}`);
          firstFailure ??= { rank, code: 1 };
          resolve();
        });
        child.on('exit', (code, signal) => {
          const failed = code !== 0 && !(interrupts > 0 && code === 130);
          if (failed) {
            log(`ichnet: ${describeExit(rank, child.pid, code, signal)}`);
            if (!firstFailure) {
              firstFailure = { rank, code: code ?? 1 };
              // The others notice in their next collective (within the configured timeout);
              // whoever is still running after the grace period is stopped.
              killTimer = setTimeout(() => {
                signalAll('SIGTERM');
                killTimer = setTimeout(() => signalAll('SIGKILL'), 5000);
              }, options.graceMs);
            }
          }
          resolve();
        });
      });
    });
    await Promise.all(exits);
  } finally {
    if (killTimer) clearTimeout(killTimer);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    signalAll('SIGKILL'); // nothing should be left; this is the no-orphan guarantee
  }
  if (firstFailure) return firstFailure.code === 0 ? 1 : firstFailure.code;
  return interrupts > 0 ? 130 : 0;
}

/**
 * In a rank started by {@link launch}: exit when the launcher goes away (its IPC channel closes),
 * so that killing the launcher never leaves ranks behind.
 */
export function exitWithLauncher(exitCode = 1): void {
  if (process.env[LAUNCHED_ENV] !== '1' || !process.send) return;
  process.on('disconnect', () => process.exit(exitCode));
  // The channel must not keep the rank alive once its work is done.
  process.channel?.unref();
}

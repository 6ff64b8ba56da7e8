/** Runs the built `ichnet` command line in a child process. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { packageRoot } from '../../src/package-root.js';

const cli = join(packageRoot, 'dist', 'src', 'cli', 'main.js');

/** `ichnet <args>`: exit code, stdout and stderr. */
export function runCli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

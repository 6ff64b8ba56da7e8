/**
 * Small real filesystems for fault tests: a tmpfs of a given size (a disk that fills up) or mounted
 * read-only. Mounting needs root (CI runs as root); elsewhere the caller skips with the reason.
 */
import { execFileSync } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { after } from 'node:test';

import { tempDir } from './temp-dir.js';

/** A mounted tmpfs, unmounted when the test file ends. */
export interface Tmpfs {
  dir: string;
  /** Bytes still free for files. */
  free(): number;
}

const mounted: string[] = [];
after(() => {
  for (const dir of mounted.splice(0)) execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
});

/**
 * Mounts a tmpfs of `bytes` (rounded up to pages), read-only when asked; returns the reason it
 * cannot instead (not root, no mount(8), a container without the capability).
 */
export function mountTmpfs(bytes: number, { readOnly = false } = {}): Tmpfs | string {
  const dir = tempDir('ichnet-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}${readOnly ? ',ro' : ''}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return `cannot mount a tmpfs here (${(err.stderr?.toString() || err.message).trim()})`;
  }
  mounted.push(dir);
  return {
    dir,
    free: () => {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    },
  };
}

/** Whether a tmpfs can be mounted here: `false`, or the reason it cannot (for `skip`). */
export function tmpfsUnavailable(): false | string {
  const probe = mountTmpfs(4096);
  return typeof probe === 'string' ? probe : false;
}

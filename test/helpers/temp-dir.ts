/**
 * Temporary directories for tests, removed when the test process exits (each test file runs in its
 * own process), so a test run leaves nothing behind in $TMPDIR. ICHNET_KEEP_TMP=1 keeps them for
 * debugging.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

process.once('exit', () => {
  if (process.env.ICHNET_KEEP_TMP === '1') return;
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** Creates `$TMPDIR/<prefix>XXXXXX`, removed at process exit. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

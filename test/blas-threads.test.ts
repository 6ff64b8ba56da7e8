/**
 * The addon runs OpenBLAS (LibTorch's BLAS on Debian) on one thread unless the environment chose a
 * count (native/binding/blas_threads.h): OpenBLAS's own count, read back from the library, is what
 * `runtimeInfo().blasThreads` reports.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { packageRoot } from '../src/package-root.js';

/** runtimeInfo().blasThreads in a fresh process with `env` added to this one's (minus the two OpenBLAS variables). */
function blasThreads(env: NodeJS.ProcessEnv): number | null {
  const script = `const { runtimeInfo } = await import(${JSON.stringify(join(packageRoot, 'dist/src/index.js'))}); console.log(JSON.stringify(runtimeInfo().blasThreads));`;
  const base = { ...process.env };
  delete base.OPENBLAS_NUM_THREADS;
  delete base.GOTO_NUM_THREADS;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000, env: { ...base, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as number | null;
}

describe('OpenBLAS threads', () => {
  it('are 1 by default, and what OPENBLAS_NUM_THREADS says when it is set', (t) => {
    const byDefault = blasThreads({});
    if (byDefault === null) {
      t.skip('this LibTorch does not use OpenBLAS');
      return;
    }
    assert.equal(byDefault, 1);
    assert.equal(blasThreads({ OPENBLAS_NUM_THREADS: '2' }), 2);
    assert.equal(blasThreads({ GOTO_NUM_THREADS: '2' }), 2);
  });
});

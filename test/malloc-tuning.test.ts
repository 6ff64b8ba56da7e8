/**
 * The glibc malloc settings the addon applies when it loads (native/binding/malloc_tuning.h), seen
 * from outside: a 24 MiB allocation comes from the heap instead of a mapping of its own, and
 * `runtimeInfo().mallocTuning` reports the settings (the benchmark gives its reference the same
 * ones); `ICHNET_MALLOC_TUNING=0` reports null.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { platform } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { packageRoot } from '../src/package-root.js';
import type { RuntimeInfo } from '../src/session/binding.js';

interface ChildReport {
  mallocTuning: RuntimeInfo['mallocTuning'];
  /** Anonymous mappings of the allocation's size (plus glibc's header page) that appeared with it. */
  ownMappings: number;
}

/** Loads the addon in a fresh process, allocates 24 MiB through Node's allocator (calloc) and reports. */
function child(env: NodeJS.ProcessEnv): ChildReport {
  const runtime = join(packageRoot, 'dist/src/session/runtime.js');
  const script = `
    import { readFileSync } from 'node:fs';
    const { runtimeInfo } = await import(${JSON.stringify(runtime)});
    const { mallocTuning } = runtimeInfo();
    const size = 24 * 2 ** 20;
    const sized = () => readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((line) => {
      const [range, , , , inode] = line.split(/\\s+/);
      if (!range || inode !== '0') return false;
      const [a, b] = range.split('-').map((h) => parseInt(h, 16));
      return b - a >= size && b - a <= size + 8192;
    }).length;
    const before = sized();
    const buffer = new ArrayBuffer(size);
    new Uint8Array(buffer).fill(1);
    console.log(JSON.stringify({ mallocTuning, ownMappings: sized() - before }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ChildReport;
}

describe('malloc settings', { skip: platform() !== 'linux' }, () => {
  it('keep a large allocation in the heap and are reported', () => {
    const { mallocTuning, ownMappings } = child({ ICHNET_MALLOC_TUNING: '' });
    assert.ok(mallocTuning, 'runtimeInfo().mallocTuning is reported');
    assert.ok(mallocTuning.mmapThresholdBytes > 24 * 2 ** 20, `mmap threshold ${mallocTuning.mmapThresholdBytes}`);
    assert.ok(mallocTuning.trimThresholdBytes >= mallocTuning.mmapThresholdBytes);
    assert.ok(mallocTuning.topPadBytes > 0);
    assert.equal(ownMappings, 0, 'the 24 MiB block came from the heap');
  });

  it('are left alone and reported as null with ICHNET_MALLOC_TUNING=0', () => {
    // Only the report: whether glibc's own threshold gives the block a mapping of its own is not
    // certain (its threshold moves with earlier frees, and the kernel may merge the new mapping
    // with a neighbouring one).
    const { mallocTuning } = child({ ICHNET_MALLOC_TUNING: '0' });
    assert.equal(mallocTuning, null);
  });
});

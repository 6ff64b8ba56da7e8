/**
 * Every type a public signature uses is exported (from `ichnet` or `ichnet/metrics`), a strict
 * consumer (`skipLibCheck: false`) can name every export, and README.md's API list names exactly
 * the exports of both entries.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { packageRoot } from '../src/package-root.js';
import { exportedNames, unexportedPublicTypes } from './helpers/public-types.js';
import { tempDir } from './helpers/temp-dir.js';

const dist = join(packageRoot, 'dist', 'src');
const entries = { ichnet: join(dist, 'index.d.ts'), 'ichnet/metrics': join(dist, 'metrics', 'index.d.ts') };
const [rootNames, metricsNames] = exportedNames(Object.values(entries)) as [string[], string[]];

describe('public types', () => {
  it('exports every type that a public signature uses', () => {
    assert.deepEqual(unexportedPublicTypes(Object.values(entries), dist), []);
  });

  it('lets a strict consumer name every export', () => {
    const dir = tempDir('ichnet-names-');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(packageRoot, join(dir, 'node_modules', 'ichnet'));
    writeFileSync(
      join(dir, 'names.ts'),
      [`export { ${rootNames.join(', ')} } from 'ichnet';`, `export { ${metricsNames.map((n) => `${n} as metrics_${n}`).join(', ')} } from 'ichnet/metrics';`].join('\n'),
    );
    const compilerOptions = { strict: true, module: 'nodenext', target: 'es2022', skipLibCheck: false, noEmit: true, types: ['node'], typeRoots: [join(packageRoot, 'node_modules', '@types')] };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['names.ts'] }));
    const r = spawnSync(process.execPath, [join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  });

  it("README's API list names exactly the exports", () => {
    const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
    const api = readme.slice(readme.indexOf('**API.**'), readme.indexOf('### Sessions: the native core'));
    const metricsAt = api.indexOf('`ichnet/metrics` entry');
    const names = (text: string) => [...new Set([...text.matchAll(/`([A-Za-z_][\w]*)`/g)].map((m) => m[1] as string))].sort();
    assert.deepEqual(names(api.slice(0, metricsAt)), [...rootNames].sort());
    assert.deepEqual(names(api.slice(metricsAt)), [...metricsNames].sort());
  });
});

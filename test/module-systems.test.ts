/**
 * The package as a consumer project sees it, through package.json's `exports`: `require('ichnet')`
 * from CommonJS and `import` from an ES module load the same API and the addon, deep imports are
 * closed, and a strict program (`module: nodenext`, `skipLibCheck: false`) using the README's
 * Library example and a CommonJS module compiles with the oldest TypeScript package.json supports
 * (test/oldest-typescript) and with the project's own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { packageRoot } from '../src/package-root.js';
import { discovery } from '../src/addon/scripts.js';
import { tempDir } from './helpers/temp-dir.js';

interface PackageJson {
  engines: { node: string };
  peerDependencies: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as PackageJson;

/** A project that depends on this checkout (node_modules/ichnet links to it); `.js` files are CommonJS. */
function consumerProject(): string {
  const dir = tempDir('ichnet-consumer-');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(packageRoot, join(dir, 'node_modules', 'ichnet'));
  return dir;
}

function node(cwd: string, file: string): string {
  const r = spawnSync(process.execPath, [file], { cwd, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `node ${file} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trim();
}

/** The first ```ts block after `heading` in README.md. */
function readmeBlock(heading: string): string {
  const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf(`\n${heading}\n`)))?.[1];
  assert.ok(block, `README.md has a TypeScript block under ${heading}`);
  return block;
}

describe('both module systems', () => {
  it('require() and import load the same API and the addon', async () => {
    const dir = consumerProject();
    const report = 'JSON.stringify({ names: Object.keys(ichnet).sort(), torch: ichnet.runtimeInfo().torchVersion, presets: ichnet.presetNames() })';
    writeFileSync(join(dir, 'consumer.js'), `const ichnet = require('ichnet');\nconsole.log(${report});\n`);
    writeFileSync(join(dir, 'consumer.mjs'), `import * as ichnet from 'ichnet';\nconsole.log(${report});\n`);
    const fromCjs = JSON.parse(node(dir, 'consumer.js')) as { names: string[]; torch: string; presets: string[] };
    const fromEsm = JSON.parse(node(dir, 'consumer.mjs')) as typeof fromCjs;
    assert.deepEqual(fromCjs, fromEsm);
    const names = Object.keys(await import('../src/index.js')).sort();
    assert.deepEqual(fromCjs.names, names);
    assert.equal(fromCjs.torch, discovery.findLibTorch()?.version, 'the addon runs on the LibTorch discovery finds');
    assert.ok(fromCjs.presets.includes('quickstart'));
  });

  it('opens ichnet/metrics and package.json, and closes deep imports', () => {
    const require = createRequire(join(consumerProject(), 'consumer.js'));
    assert.equal(typeof (require('ichnet/metrics') as { evaluateAll: unknown }).evaluateAll, 'function');
    assert.throws(() => require('ichnet/dist/src/metrics/index.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
    assert.deepEqual((require('ichnet/package.json') as PackageJson).engines, pkg.engines);
  });

  it('compiles a strict consumer with the oldest supported TypeScript and the current one', () => {
    const oldest = join(packageRoot, 'test', 'oldest-typescript', 'node_modules', 'typescript');
    assert.ok(existsSync(oldest), `${oldest} is missing: \`npm ci\` installs it (package.json's ichnet-oldest-typescript)`);
    const oldestVersion = (JSON.parse(readFileSync(join(oldest, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal(`>=${oldestVersion}`, pkg.peerDependencies.typescript, 'test/oldest-typescript is the floor package.json states');

    const dir = consumerProject();
    writeFileSync(join(dir, 'library.mts'), readmeBlock('## Library'));
    writeFileSync(
      join(dir, 'common.cts'),
      [
        "import { Trainer, runtimeInfo, type TrainerEvents } from 'ichnet';",
        'const version: string = runtimeInfo().torchVersion;',
        "const onEpoch = (e: TrainerEvents['epoch'][0]): number => e.scores.slice.f2.micro;",
        'export const create: typeof Trainer.create = Trainer.create;',
        'console.log(version, onEpoch);',
      ].join('\n'),
    );
    const compilerOptions = {
      strict: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      skipLibCheck: false,
      noEmit: true,
      types: ['node'],
      typeRoots: [join(packageRoot, 'node_modules', '@types')],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['library.mts', 'common.cts'] }));
    for (const typescript of [oldest, join(packageRoot, 'node_modules', 'typescript')]) {
      const r = spawnSync(process.execPath, [join(typescript, 'bin', 'tsc'), '-p', dir], { encoding: 'utf8', timeout: 300_000 });
      assert.equal(r.status, 0, `tsc of ${typescript} failed:\n${r.stdout}\n${r.stderr}`);
    }
  });
});

/**
 * Installing a checkout again does not rebuild it. The install hook (scripts/install.mjs) in a
 * copy of the package with a build from source: it
 * skips the build when that build is current for the LibTorch found — as on every install of a
 * project that depends on a checkout by path — and builds when a source is newer, when the build
 * was made against another LibTorch, or when ICHNET_BUILD_FROM_SOURCE=1 asks. PATH holds only node
 * and sh, so a build attempt fails at once (cmake is not found) instead of compiling.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

import { packageRoot } from '../src/package-root.js';
import { builtAddon, cleanEnv, packageCopy, placeAddon } from './helpers/package-copy.js';
import { tempDir } from './helpers/temp-dir.js';

/** A package copy with native/ and a build from source made "now", after the sources. */
function checkoutWithBuild(edit?: Parameters<typeof placeAddon>[2]): string {
  const root = packageCopy('ichnet-install-');
  cpSync(join(packageRoot, 'native'), join(root, 'native'), { recursive: true });
  placeAddon(root, 'source', edit);
  return root;
}

function install(root: string, extra: Record<string, string> = {}): { status: number | null; output: string } {
  const bin = tempDir('ichnet-bin-');
  mkdirSync(join(bin, 'b'));
  symlinkSync(process.execPath, join(bin, 'b', 'node'));
  symlinkSync('/bin/sh', join(bin, 'b', 'sh'));
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'install.mjs')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: cleanEnv({ PATH: join(bin, 'b'), ICHNET_NO_APT: '1', ...extra }),
  });
  return { status: r.status, output: r.stdout + r.stderr };
}

describe('install of a checkout that holds a build', { skip: existsSync(builtAddon) ? false : 'no build/Release/ichnet.node' }, () => {
  it('skips the build when it is current for the LibTorch found', () => {
    const r = install(checkoutWithBuild());
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /build\/Release\/ichnet\.node is current for LibTorch \S+ \(.+\); not rebuilding/);
    assert.doesNotMatch(r.output, /building from source|cmake/);
  });

  it('builds when a source is newer than the build', () => {
    const root = checkoutWithBuild();
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, 'native', 'binding', 'promise_worker.h'), later, later);
    const r = install(root);
    assert.match(r.output, /building from source: a source is newer than it/);
    assert.notEqual(r.status, 0, 'without cmake the build fails: it was attempted');
  });

  it('builds when the build was made against another LibTorch', () => {
    const root = checkoutWithBuild({ edit: (m) => ({ ...m, torchVersion: '0.0.1', builtWith: { ...m.builtWith, torchLibDir: '/elsewhere/lib' } }) });
    const r = install(root);
    assert.match(r.output, /building from source: it was built against LibTorch 0\.0\.1 at \/elsewhere\/lib, and LibTorch \S+ at \S+ is found now/);
    assert.notEqual(r.status, 0);
  });

  it('builds when ICHNET_BUILD_FROM_SOURCE=1 asks', () => {
    const r = install(checkoutWithBuild(), { ICHNET_BUILD_FROM_SOURCE: '1' });
    assert.match(r.output, /building from source: ICHNET_BUILD_FROM_SOURCE=1/);
    assert.notEqual(r.status, 0);
  });
});

describe('prepare of a checkout (tools/prepare.mjs)', () => {
  it('compiles only when a source is newer than the last compile', async () => {
    const { compileNeeded } = (await import(pathToFileURL(join(packageRoot, 'tools', 'prepare.mjs')).href)) as { compileNeeded: (root: string) => string | null };
    const root = tempDir('ichnet-prepare-');
    for (const dir of ['src', 'test', 'dist']) mkdirSync(join(root, dir));
    for (const file of ['tsconfig.json', 'package.json', 'src/index.ts', 'test/a.test.ts']) writeFileSync(join(root, file), '{}');
    assert.equal(compileNeeded(root), 'not compiled yet');
    writeFileSync(join(root, 'dist', '.compiled'), 'now');
    const before = new Date(Date.now() - 60_000);
    for (const file of ['tsconfig.json', 'package.json', 'src/index.ts', 'test/a.test.ts']) utimesSync(join(root, file), before, before);
    assert.equal(compileNeeded(root), null);
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, 'test', 'a.test.ts'), later, later);
    assert.equal(compileNeeded(root), 'a source changed');
  });
});

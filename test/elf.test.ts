/** scripts/elf.mjs (the manifest's needed libraries and symbol versions) against binutils' readelf. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { packageRoot } from '../src/package-root.js';
import { discovery, elf } from '../src/addon/scripts.js';
import { builtAddon } from './helpers/package-copy.js';

const hasReadelf = spawnSync('readelf', ['--version']).status === 0;

/** readelf -d / -V of `file`: needed, soname, runpath and the version names each library must provide. */
function readelf(file: string): { needed: string[]; soname: string | null; runpath: string[]; versions: Record<string, string[]> } {
  const d = spawnSync('readelf', ['-dW', file], { encoding: 'utf8' }).stdout;
  const needed = [...d.matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1]!);
  const soname = /\(SONAME\)\s+Library soname: \[(.+)\]/.exec(d)?.[1] ?? null;
  const runpath = (/\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[(.*)\]/.exec(d)?.[1] ?? '').split(':').filter(Boolean);
  const v = spawnSync('readelf', ['-VW', file], { encoding: 'utf8' }).stdout;
  const versions: Record<string, string[]> = {};
  const section = v.slice(v.indexOf('.gnu.version_r'));
  let current = '';
  for (const line of section.split('\n')) {
    const file = /File: (\S+)/.exec(line);
    if (file) versions[(current = file[1]!)] = [];
    const name = /Name: (\S+)/.exec(line);
    if (name && current) versions[current]!.push(name[1]!);
  }
  return { needed, soname, runpath, versions };
}

describe('reading ELF dynamic sections', { skip: hasReadelf ? false : 'readelf (binutils) is not installed' }, () => {
  const torch = discovery.findLibTorch();
  const files = [builtAddon, ...(torch ? readdirSync(torch.libDir).filter((f) => /^lib(c10|torch)(_cpu)?\.so\.\d/.test(f)).map((f) => join(torch.libDir, f)) : [])].filter(existsSync);

  it('agrees with readelf on needed libraries, soname, runpath and required versions', () => {
    assert.ok(files.length >= 2, files.join());
    for (const file of files) {
      const mine = elf.readElf(file);
      const theirs = readelf(file);
      assert.deepEqual(mine.needed, theirs.needed, file);
      assert.equal(mine.soname, theirs.soname, file);
      assert.deepEqual(mine.runpath, theirs.runpath, file);
      assert.deepEqual(Object.keys(mine.versions).sort(), Object.keys(theirs.versions).sort(), file);
      for (const lib of Object.keys(theirs.versions)) assert.deepEqual([...mine.versions[lib]!].sort(), [...theirs.versions[lib]!].sort(), `${file}: ${lib}`);
    }
  });

  it('finds the highest version of a family numerically', () => {
    assert.equal(elf.highestVersion(['GLIBC_2.2.5', 'GLIBC_2.14', 'GLIBC_2.9', 'GLIBCXX_3.4.30', 'GLIBC_PRIVATE'], 'GLIBC_'), '2.14');
    assert.equal(elf.highestVersion(['CXXABI_1.3', 'CXXABI_1.3.13', 'CXXABI_1.3.9'], 'CXXABI_'), '1.3.13');
    assert.equal(elf.highestVersion(['GCC_3.0'], 'GLIBC_'), null);
    assert.ok(elf.compareVersions('2.9', '2.14') < 0 && elf.compareVersions('3.4', '3.4.0') === 0);
  });

  it('rejects files that are not ELF', () => {
    assert.throws(() => elf.readElf(join(packageRoot, 'package.json')), /not an ELF file/);
  });
});

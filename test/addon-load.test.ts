/**
 * Loading the addon the way an installed package does, from a copy of the package: a prebuilt
 * variant on the LibTorch that discovery finds, and real failures — binaries whose needed library,
 * glibc or libstdc++ version or LibTorch symbol was renamed, manifests recording another LibTorch —
 * each of which must come out as one message naming the problem and the fix, never a bare dlopen
 * error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { glibcVersion } from '../src/addon/host.js';
import { discovery } from '../src/addon/scripts.js';
import { builtAddon, loadIn, packageCopy, patchedCopy, placeAddon, type LoadOutcome } from './helpers/package-copy.js';

const torch = discovery.findLibTorch();
const glibc = glibcVersion();
const minor = (torch?.version ?? '').split('.').slice(0, 2).join('.');

function failure(outcome: LoadOutcome): string {
  assert.equal(outcome.ok, false, `expected a load failure, got ${JSON.stringify(outcome)}`);
  const { error } = outcome as { error: string };
  assert.match(error, /^ichnet: /, 'the message is ichnet\'s, not the dynamic loader\'s');
  assert.match(error, /[Ff]ix/, 'the message says how to fix it');
  return error;
}

describe('loading a prebuilt addon', { skip: torch === null ? 'no LibTorch found' : false }, () => {
  const libtorch = torch!;

  it('loads the CPU prebuild on the LibTorch found, loading LibTorch from there first, and doctor says so', () => {
    const root = packageCopy();
    placeAddon(root, 'cpu');
    const outcome = loadIn(root);
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.equal(outcome.variant, 'cpu');
    assert.equal(outcome.path, join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'cpu', 'ichnet.node'));
    assert.equal(outcome.torchVersion.split('.').slice(0, 2).join('.'), minor);
    assert.ok(outcome.preloaded.length > 0 && outcome.preloaded.every((p) => p.startsWith(`${libtorch.libDir}/`)), outcome.preloaded.join());
    assert.ok(outcome.preloaded.some((p) => /libtorch_cpu/.test(p)));

    const doctor = spawnSync(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), 'doctor'], { encoding: 'utf8' });
    assert.equal(doctor.status, 0, doctor.stderr);
    assert.match(doctor.stdout, /addon +.*cpu\/ichnet\.node \(prebuilt, CPU\)/);
    assert.match(doctor.stdout, /why +the CPU prebuild .* fits/);
    assert.match(doctor.stdout, new RegExp(`LibTorch found +${libtorch.version} via ${libtorch.source} at ${libtorch.libDir}`));
    assert.match(doctor.stdout, /built against +LibTorch .* needs glibc/);
  });

  it('prefers a build from source, and ICHNET_ADDON picks the prebuild', () => {
    const root = packageCopy();
    placeAddon(root, 'cpu');
    placeAddon(root, 'source');
    const auto = loadIn(root);
    assert.ok(auto.ok && auto.variant === 'source' && auto.preloaded.length === 0, JSON.stringify(auto));
    const forced = loadIn(root, { ICHNET_ADDON: 'prebuilt' });
    assert.ok(forced.ok && forced.variant === 'cpu', JSON.stringify(forced));
  });

  it('refuses a prebuild built against another LibTorch version, naming both versions and how to get the right one', () => {
    const root = packageCopy();
    placeAddon(root, 'cpu', { edit: (m) => ({ ...m, torchVersion: '2.11.0' }) });
    const error = failure(loadIn(root));
    assert.match(error, /no native addon to load/);
    assert.match(error, new RegExp(`built against LibTorch 2\\.11\\.0, but LibTorch ${libtorch.version} found via the system at ${libtorch.libDir}`));
    assert.match(error, /pip install 'torch==2\.11\.\*' and set LIBTORCH_USE_PYTORCH=1/);
    assert.match(error, /npm rebuild ichnet/);
    // Forced, it loads: the binary really is for the LibTorch found.
    const forced = loadIn(root, { ICHNET_ADDON: 'cpu' });
    assert.ok(forced.ok && forced.variant === 'cpu', JSON.stringify(forced));
  });

  it('names a LibTorch library that is missing, before and at dlopen', () => {
    const addon = patchedCopy(builtAddon, `libtorch_cpu.so.${minor}`, `libtorch_cpX.so.${minor}`);
    const root = packageCopy();
    // Its manifest lists what it needs; libtorch_cpX is not in LibTorch's lib directory.
    placeAddon(root, 'cpu', { addon, edit: (m) => ({ ...m, torchLibraries: [...m.torchLibraries, `libtorch_cpX.so.${minor}`] }) });
    assert.match(failure(loadIn(root)), new RegExp(`needs libtorch_cpX\\.so\\.${minor}, which ${libtorch.libDir} does not have`));
    const error = failure(loadIn(root, { ICHNET_ADDON: 'cpu' }));
    assert.match(error, new RegExp(`cannot load the CPU prebuild .*: LibTorch's library libtorch_cpX\\.so\\.${minor} is missing`));
    assert.match(error, /Fix: pip install 'torch==/);
    assert.match(error, /ICHNET_ADDON forced this binary although it does not fit/);
    assert.match(error, /Dynamic loader: libtorch_cpX.*cannot open shared object file/);
  });

  it('names the glibc version a binary needs and this system lacks', () => {
    const root = packageCopy();
    placeAddon(root, 'cpu', { addon: patchedCopy(builtAddon, 'GLIBC_2.32', 'GLIBC_9.32') });
    assert.match(failure(loadIn(root)), new RegExp(`needs glibc 9\\.32 or newer, this system has glibc ${glibc}`));
    const error = failure(loadIn(root, { ICHNET_ADDON: 'cpu' }));
    assert.match(error, new RegExp(`needs GLIBC_9\\.32 \\(required by .*ichnet\\.node\\), but this system has glibc ${glibc}`));
    assert.match(error, /Fix: build from source here: `npm rebuild ichnet`/);
  });

  it('names the libstdc++ version a binary needs and this system lacks', () => {
    const root = packageCopy();
    placeAddon(root, 'cpu', { addon: patchedCopy(builtAddon, 'GLIBCXX_3.4.29', 'GLIBCXX_9.4.29') });
    const error = failure(loadIn(root));
    assert.match(error, /needs GLIBCXX_9\.4\.29 .*libstdc\+\+\.so\.6\) is too old/);
    assert.match(error, /Fix: install a newer libstdc\+\+6/);
  });

  it('explains a symbol LibTorch does not define as a LibTorch version mismatch', () => {
    const symbol = '_ZN3c1019UndefinedTensorImpl10_singletonE';
    const root = packageCopy();
    placeAddon(root, 'cpu', { addon: patchedCopy(builtAddon, symbol, `${symbol.slice(0, -1)}X`) });
    const error = failure(loadIn(root));
    assert.match(error, new RegExp(`built against LibTorch ${libtorch.version} .* but runs on LibTorch ${libtorch.version} found via the system .* lacks the symbol ${symbol.slice(0, -1)}X — a LibTorch version mismatch`));
    assert.match(error, /Fix: pip install 'torch==/);
  });

  it('tells a build from source whose LibTorch is gone to rebuild', () => {
    const root = packageCopy();
    placeAddon(root, 'source', { addon: patchedCopy(builtAddon, `libtorch_cpu.so.${minor}`, `libtorch_cpX.so.${minor}`) });
    const error = failure(loadIn(root));
    assert.match(error, new RegExp(`cannot load the build from source .*: LibTorch's library libtorch_cpX\\.so\\.${minor} is missing \\(it was built against ${libtorch.libDir}`));
    assert.match(error, /npm rebuild ichnet/);
  });

  it('says the addon was never built when there is nothing to load', () => {
    const error = failure(loadIn(packageCopy()));
    assert.match(error, /no native addon to load: there is no build from source, and this package has no prebuilt binary for linux-x64/);
    assert.match(error, /Fix: build from source here: `npm rebuild ichnet`/);
    assert.match(failure(loadIn(packageCopy(), { ICHNET_ADDON: 'cuda' })), /ICHNET_ADDON=cuda, but this package has no cuda prebuild/);
    assert.match(failure(loadIn(packageCopy(), { LIBTORCH: '/nonexistent', ICHNET_ADDON: 'prebuilt' })), /ICHNET_ADDON=prebuilt/);
  });
});

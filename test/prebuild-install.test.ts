/**
 * The CPU prebuild end to end, as a user gets it: `npm run prebuild` in a staging copy of the
 * package (reusing this checkout's build/Release/ichnet.node rather than compiling again),
 * `npm pack`, then `npm install` of the tarball into a clean project, offline from the npm cache,
 * with no compiler, cmake or make in PATH (so a build from source cannot happen), and a training
 * step through the installed package.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';

import { packageRoot } from '../src/package-root.js';
import { addonFiles } from '../src/addon/scripts.js';
import { builtAddon, cleanEnv, manifestFor } from './helpers/package-copy.js';
import { tempDir } from './helpers/temp-dir.js';

/** npm's own entry script, run with this node (npm sets npm_execpath when it runs the tests). */
function npmCli(): string {
  if (process.env.npm_execpath?.endsWith('.js')) return process.env.npm_execpath;
  return realpathSync(spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim());
}

interface LockEntry {
  dev?: boolean;
  /** A local folder linked in (this checkout's own dev packages: never ichnet's dependencies). */
  link?: boolean;
  [field: string]: unknown;
}

/**
 * package.json and package-lock.json of a project that depends on the tarball `file` (in the
 * project) and, through it, on exactly the packages this checkout's lockfile holds for ichnet.
 */
function writeUserProject(project: string, file: string, pkg: Record<string, unknown>): void {
  const lock = JSON.parse(readFileSync(join(packageRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const dependencies = Object.fromEntries(Object.entries(lock.packages).filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev && !entry.link));
  const integrity = `sha512-${createHash('sha512').update(readFileSync(join(project, file))).digest('base64')}`;
  const root = { name: 'user-project', version: '1.0.0', private: true, type: 'module', dependencies: { ichnet: `file:${file}` } };
  const ichnet = { version: pkg.version, resolved: `file:${file}`, integrity, hasInstallScript: true, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines };
  writeFileSync(join(project, 'package.json'), JSON.stringify(root, null, 2));
  writeFileSync(
    join(project, 'package-lock.json'),
    JSON.stringify({ name: root.name, version: root.version, lockfileVersion: 3, requires: true, packages: { '': root, 'node_modules/ichnet': ichnet, ...dependencies } }, null, 2),
  );
}

function run(cmd: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeout?: number }): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, ...options });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

describe('the CPU prebuild, packed and installed', { skip: existsSync(builtAddon) ? false : 'no build/Release/ichnet.node to prebuild from' }, () => {

  it('installs without a compiler and trains a step', (t) => {
    const started = Date.now();
    const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string; files: string[] } & Record<string, unknown>;

    // 1. A staging copy of what `npm pack` takes (package.json's `files`), and build/Release as the
    //    build left it; `npm run prebuild -- --no-build` lays out prebuilds/ from it.
    const stage = tempDir('ichnet-stage-');
    for (const entry of [...pkg.files, 'package.json'].filter((f) => f !== 'prebuilds')) {
      if (existsSync(join(packageRoot, entry))) cpSync(join(packageRoot, entry), join(stage, entry), { recursive: true });
    }
    const staged = addonFiles.sourceBuildFile(stage);
    mkdirSync(dirname(staged), { recursive: true });
    copyFileSync(builtAddon, staged);
    const manifest = addonFiles.manifestPath(builtAddon);
    if (existsSync(manifest)) copyFileSync(manifest, addonFiles.manifestPath(staged));
    else writeFileSync(addonFiles.manifestPath(staged), JSON.stringify(manifestFor(staged))); // a build from before manifests
    run(process.execPath, [join(stage, 'scripts', 'prebuild.mjs'), '--no-build'], { cwd: stage });
    rmSync(join(stage, 'build'), { recursive: true });

    // 2. npm pack (its `prepare` would run tsc: dist/ is already compiled).
    const packed = run(process.execPath, [npmCli(), 'pack', '--ignore-scripts', '--json', '--pack-destination', stage], { cwd: stage, env: cleanEnv() });
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const paths = info!.files.map((f) => f.path);
    assert.ok(paths.includes('prebuilds/linux-x64/cpu/ichnet.node') && paths.includes('prebuilds/linux-x64/cpu/ichnet.json'), paths.join('\n'));
    assert.ok(!paths.some((p) => p.startsWith('build/')), 'no build from source in the package');

    // 3. A clean project depending on the tarball, its dependencies pinned to this checkout's
    //    package-lock.json: `npm install --offline` then needs only the tarballs that `npm ci` left
    //    in the cache (without a lockfile it would need registry metadata `npm ci` never fetches),
    //    and installs the versions the rest of the suite tested. PATH holds node and sh (npm runs
    //    install scripts with sh) and nothing else, so no cc, g++, cmake or make can be found.
    const project = tempDir('ichnet-user-');
    copyFileSync(join(stage, info!.filename), join(project, info!.filename));
    writeUserProject(project, info!.filename, pkg);
    const bin = join(project, '.bin-node-sh');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
    const env = cleanEnv({ PATH: bin, ICHNET_NO_APT: '1' });
    for (const key of Object.keys(env)) if (key.startsWith('npm_')) delete env[key];
    const tools = spawnSync('/bin/sh', ['-c', 'command -v cc gcc g++ c++ cmake make ninja'], { encoding: 'utf8', env });
    assert.equal(tools.stdout.trim(), '', 'the install environment must not find a compiler or build tool');

    const installed = run(process.execPath, [npmCli(), 'install', '--offline', '--no-audit', '--no-fund', '--foreground-scripts'], { cwd: project, env });
    const output = installed.stdout + installed.stderr;
    assert.match(output, /ichnet: using the prebuilt addon prebuilds\/linux-x64\/cpu\/ichnet\.node: the CPU prebuild .* fits/);
    const ichnet = join(project, 'node_modules', 'ichnet');
    assert.ok(!existsSync(join(ichnet, 'build')), 'the install did not build from source');

    // 4. A training step through the installed package.
    const script = `
      import { Session, runtimeInfo } from 'ichnet';
      const info = runtimeInfo();
      const session = await Session.create({
        model: { backbone: 'vgg16_bn', width: 1 / 16, label_hidden: 8, slice_hidden: 8 },
        prep: { input_size: 32, clahe: { enabled: false } }, device: 'cpu', threads: 1, seed: 7,
      });
      const [B, S, C, H, W] = [2, 3, 3, 32, 32];
      const images = Float32Array.from({ length: B * S * C * H * W }, (_, i) => Math.sin(i));
      const labels = Uint8Array.from({ length: B * S * 5 }, (_, i) => i % 3 === 0 ? 1 : 0);
      const step = await session.trainStep({ images, shape: [B, S, C, H, W], lengths: Int32Array.from([3, 2]), labels });
      console.log(JSON.stringify({ variant: info.addon.variant, path: info.addonPath, loss: step.loss }));
    `;
    writeFileSync(join(project, 'train-step.mjs'), script);
    const trained = run(process.execPath, ['train-step.mjs'], { cwd: project, env });
    const result = JSON.parse(trained.stdout.trim().split('\n').pop()!) as { variant: string; path: string; loss: number };
    assert.equal(result.variant, 'cpu');
    assert.equal(result.path, join(realpathSync(ichnet), 'prebuilds', 'linux-x64', 'cpu', 'ichnet.node'));
    assert.ok(Number.isFinite(result.loss) && result.loss > 0, `loss ${result.loss}`);
    t.diagnostic(`prebuild → pack → offline install → train step: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});

#!/usr/bin/env node
// `npm install` hook: use a prebuilt addon (prebuilds/) when one fits and loads, else build from
// source (incrementally, when build/ already holds an earlier build), unless the build from source
// is current for the LibTorch found (scripts/addon-files.mjs: sourceBuildStale) — a checkout
// installed into another project by path is then not rebuilt on each install there.
// ICHNET_BUILD_FROM_SOURCE=1 (or ICHNET_ADDON=source) skips the prebuilt binaries;
// ICHNET_BUILD_FROM_SOURCE=1 also runs the build when it is current.
// When no LibTorch exists and this is Debian/Ubuntu as root, install Debian's libtorch-dev first
// (say so; ICHNET_NO_APT=1 opts out). Otherwise stop with what to install or set.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

import { prebuildsDir, sourceBuildFile, sourceBuildStale } from './addon-files.mjs';
import { buildNative } from './build-native.mjs';
import { findLibTorch, HOW_TO_GET_LIBTORCH, packageRoot } from './libtorch.mjs';

/**
 * True when a prebuilt addon fits and loads here. Asks the package's own loader
 * (dist/src/addon/load.js: the same choice as at run time) in a child process, so that a failing
 * dlopen cannot take this script with it. A checkout before `tsc` has no loader and no prebuilds.
 */
function prebuiltAddonLoads() {
  const requested = process.env.ICHNET_ADDON || 'auto';
  if (process.env.ICHNET_BUILD_FROM_SOURCE === '1' || requested === 'source') return false;
  // The loader prefers a build from source when there is one (src/addon/variant.ts): keep it
  // current (an incremental build) rather than judge prebuilt binaries it would not load.
  if (requested === 'auto' && existsSync(sourceBuildFile())) return false;
  const loader = join(packageRoot, 'dist', 'src', 'addon', 'load.js');
  if (!existsSync(loader) || !existsSync(prebuildsDir())) return false;
  const code = [
    `const { loadAddon } = await import(${JSON.stringify(pathToFileURL(loader).href)});`,
    'try { const { load } = loadAddon(); console.log(JSON.stringify({ path: load.path, reason: load.reason })); }',
    'catch (e) { console.error(e.message); process.exit(1); }',
  ].join('\n');
  // ICHNET_ADDON=cpu|cuda keeps its forced variant; anything else may use only prebuilt binaries here.
  const env = { ...process.env, ICHNET_ADDON: requested === 'cpu' || requested === 'cuda' ? requested : 'prebuilt' };
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env, encoding: 'utf8' });
  if (r.status === 0) {
    const { path, reason } = JSON.parse(r.stdout.trim().split('\n').pop());
    console.log(`ichnet: using the prebuilt addon ${relative(packageRoot, path)}: ${reason}`);
    return true;
  }
  console.log(`${(r.stderr || `the loader exited with ${r.status ?? r.signal}`).trim()}\nichnet: building the addon from source instead`);
  return false;
}

function aptInstallLibTorch() {
  const debian = existsSync('/etc/debian_version');
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!debian || !root || process.env.ICHNET_NO_APT === '1') return false;
  console.log('ichnet: no LibTorch found; installing Debian\'s libtorch-dev and libgloo-dev with apt-get (set ICHNET_NO_APT=1 to stop this)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  // libgloo-dev: the headers of the Gloo backend that data-parallel training uses on the CPU.
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'libtorch-dev', 'libgloo-dev'], { stdio: 'inherit', env });
  return true;
}

try {
  if (!prebuiltAddonLoads()) {
    let torch = findLibTorch();
    if (!torch && aptInstallLibTorch()) torch = findLibTorch();
    if (!torch) {
      console.error(`ichnet: ${HOW_TO_GET_LIBTORCH}`);
      process.exit(1);
    }
    const stale = process.env.ICHNET_BUILD_FROM_SOURCE === '1' ? 'ICHNET_BUILD_FROM_SOURCE=1' : sourceBuildStale(torch);
    if (stale === null) {
      console.log(`ichnet: ${relative(packageRoot, sourceBuildFile())} is current for LibTorch ${torch.version} (${torch.libDir}); not rebuilding (ICHNET_BUILD_FROM_SOURCE=1 forces a build)`);
    } else {
      console.log(`ichnet: building from source: ${stale}`);
      buildNative();
    }
  }
} catch (e) {
  console.error(`ichnet: ${e.message}`);
  process.exit(1);
}

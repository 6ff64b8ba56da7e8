#!/usr/bin/env node
// `npm install` hook: use a prebuilt addon (prebuilds/) when one loads, else build from source
// (incrementally, when build/ already holds an earlier build).
// When no LibTorch exists and this is Debian/Ubuntu as root, install Debian's libtorch-dev first
// (say so; ICHNET_NO_APT=1 opts out). Otherwise stop with what to install or set.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { buildNative } from './build-native.mjs';
import { findLibTorch, HOW_TO_GET_LIBTORCH, packageRoot } from './libtorch.mjs';

const require = createRequire(import.meta.url);

function prebuiltAddonLoads() {
  if (process.env.ICHNET_BUILD_FROM_SOURCE === '1') return false;
  try {
    const path = require('node-gyp-build').resolve(packageRoot);
    if (!path.includes('/prebuilds/')) return false;
    // Load in a child process: a failing dlopen must not take this script with it.
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path)})`], { stdio: 'ignore' });
    if (r.status === 0) {
      console.log(`ichnet: using the prebuilt addon ${path}`);
      return true;
    }
  } catch {
    // no build yet
  }
  return false;
}

function aptInstallLibTorch() {
  const debian = existsSync('/etc/debian_version');
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!debian || !root || process.env.ICHNET_NO_APT === '1') return false;
  console.log('ichnet: no LibTorch found; installing Debian\'s libtorch-dev with apt-get (set ICHNET_NO_APT=1 to stop this)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'libtorch-dev'], { stdio: 'inherit', env });
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
    buildNative();
  }
} catch (e) {
  console.error(`ichnet: ${e.message}`);
  process.exit(1);
}

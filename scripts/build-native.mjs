#!/usr/bin/env node
// Builds the addon from source with cmake-js against the LibTorch that scripts/libtorch.mjs finds,
// and writes its manifest (build/Release/ichnet.json) beside it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { sourceBuildFile, writeManifest } from './addon-files.mjs';
import { findLibTorch, HOW_TO_GET_LIBTORCH, packageRoot } from './libtorch.mjs';

/**
 * cmake-js downloads Node's headers unless told where they are; use the running Node's own
 * (<prefix>/include/node, present in distro and official builds) so no network is needed.
 */
function buildEnv() {
  const env = { ...process.env };
  const prefix = dirname(dirname(process.execPath));
  if (!env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node.h'))) env.npm_config_nodedir = prefix;
  return env;
}

/** Runs cmake-js; returns the LibTorch description it built against. Throws on failure. */
export function buildNative({ debug = false } = {}) {
  const torch = findLibTorch();
  if (!torch) throw new Error(HOW_TO_GET_LIBTORCH);
  const cmakeJs = createRequire(import.meta.url).resolve('cmake-js/bin/cmake-js');
  const args = [cmakeJs, 'compile', '--directory', packageRoot, `--CDICHNET_TORCH_PREFIX=${torch.cmakePrefix}`];
  if (debug) args.push('--debug');
  console.log(`ichnet: building the native addon against LibTorch ${torch.version} (${torch.source}: ${torch.libDir})`);
  // A translation unit with LibTorch's headers takes ~1.5 GB to compile: one job per core, as memory allows.
  const jobs = process.env.ICHNET_BUILD_JOBS ?? String(Math.max(1, Math.min(cpus().length, Math.floor(totalmem() / 2 ** 31))));
  const r = spawnSync(process.execPath, [...args, '--parallel', jobs], { stdio: 'inherit', cwd: packageRoot, env: buildEnv() });
  if (r.status !== 0) throw new Error(`cmake-js failed with exit code ${r.status}`);
  writeManifest(sourceBuildFile(), torch);
  return torch;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    buildNative({ debug: process.argv.includes('--debug') });
  } catch (e) {
    console.error(`ichnet: ${e.message}`);
    process.exit(1);
  }
}

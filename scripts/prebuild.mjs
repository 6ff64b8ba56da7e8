#!/usr/bin/env node
// `npm run prebuild`: builds the addon from source (scripts/build-native.mjs, incremental) and lays
// it out as the prebuilt variant it is — prebuilds/<platform>-<arch>/cpu/ or .../cuda/ — with its
// manifest, for `npm pack` / `npm publish` (package.json's `files` lists prebuilds/).
//
// The variant follows the LibTorch the build used: the system's or a CPU LibTorch gives `cpu`;
// a CUDA one (LIBTORCH_USE_PYTORCH=1 with a CUDA wheel, or LIBTORCH=<CUDA zip>) gives `cuda`. Run
// it once per variant, on a machine with the oldest glibc the binaries should support; the
// variants accumulate. LibTorch itself is not copied: the prebuilt addon links against the user's.
//
//   node scripts/prebuild.mjs [--no-build] [--root DIR]
//     --no-build  reuse build/Release/ichnet.node and its manifest as they are
//     --root DIR  the package directory to write prebuilds/ into (default: this package)
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, relative } from 'node:path';

import { manifestPath, prebuildFile, sourceBuildFile } from './addon-files.mjs';
import { buildNative } from './build-native.mjs';
import { packageRoot } from './libtorch.mjs';

/** Builds (unless build is false) and copies the addon into prebuilds/; returns the manifest and path. */
export function prebuild({ build = true, root = packageRoot } = {}) {
  if (build) buildNative();
  const source = sourceBuildFile();
  if (!existsSync(source) || !existsSync(manifestPath(source))) {
    throw new Error(`${relative(process.cwd(), source)} and its manifest do not exist: run \`npm run build:native\` first (or drop --no-build)`);
  }
  const manifest = JSON.parse(readFileSync(manifestPath(source), 'utf8'));
  const target = prebuildFile(manifest.variant, root, manifest.platform);
  rmSync(dirname(target), { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(source, target);
  copyFileSync(manifestPath(source), manifestPath(target));
  return { manifest, path: target };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--root');
  try {
    const { manifest, path } = prebuild({ build: !process.argv.includes('--no-build'), root: at > 0 ? process.argv[at + 1] : packageRoot });
    const cuda = manifest.cudaVersion ? `CUDA ${manifest.cudaVersion}` : 'CPU';
    console.log(`ichnet: prebuilt ${manifest.variant} addon at ${path}`);
    console.log(`  LibTorch ${manifest.torchVersion} (${cuda}, C++11 ABI: ${manifest.cxx11Abi ? 'yes' : 'no'}), needs glibc ${manifest.glibc}+, N-API ${manifest.napi}`);
  } catch (e) {
    console.error(`ichnet: ${e.message}`);
    process.exit(1);
  }
}

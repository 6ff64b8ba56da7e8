// Where built addons live, and the manifest written next to each one: what it was built against
// and what it needs at run time. The loader (src/addon/) reads the manifest to decide whether a
// prebuilt binary fits this machine before loading it; scripts/prebuild.mjs lays them out.
//
//   build/Release/ichnet.node + ichnet.json                 a build from source (CMakeLists.txt)
//   prebuilds/<platform>-<arch>/<variant>/ichnet.node + .json  prebuilt, variant cpu | cuda
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { highestVersion, readElf } from './elf.mjs';
import { glibcVersion } from './glibc.mjs';
import { packageRoot } from './package-root.mjs';

/** @typedef {import('./libtorch.mjs').LibTorch} LibTorch */

/**
 * What a built addon was built against and needs at run time (ichnet.json beside it).
 * @typedef {object} AddonManifest
 * @property {'cpu' | 'cuda'} variant  `cuda` when built against a LibTorch with libtorch_cuda
 * @property {string} platform  `${process.platform}-${process.arch}` of the build, e.g. `linux-x64`
 * @property {string | null} torchVersion  the LibTorch version built against, e.g. `2.11.0`
 * @property {string | null} cudaVersion  that LibTorch's CUDA (`13.0`, or only the major, `12`); null for CPU builds
 * @property {boolean} cxx11Abi  whether it was compiled with `_GLIBCXX_USE_CXX11_ABI=1`
 * @property {string[]} libraries  every DT_NEEDED soname of the addon
 * @property {string[]} torchLibraries  those of `libraries` that are LibTorch's own (libtorch*, libc10*): loaded from the user's LibTorch
 * @property {string | null} glibc  the highest GLIBC_ symbol version the addon requires
 * @property {string | null} glibcxx  the highest GLIBCXX_ version
 * @property {string | null} cxxabi  the highest CXXABI_ version
 * @property {number} napi  the N-API version compiled for
 * @property {{ node: string; glibc: string | null; torchSource: LibTorch['source']; torchLibDir: string }} builtWith  the build's Node.js, glibc, and where its LibTorch came from
 * @property {string} date  when the addon file was linked (ISO 8601)
 */

/** The addon a build from source produces (CMakeLists.txt's LIBRARY_OUTPUT_DIRECTORY). */
export function sourceBuildFile(root = packageRoot) {
  return join(root, 'build', 'Release', 'ichnet.node');
}

/** The directory holding the prebuilt variants for one platform. */
export function prebuildsDir(root = packageRoot, platform = `${process.platform}-${process.arch}`) {
  return join(root, 'prebuilds', platform);
}

/**
 * Where the prebuilt addon of a variant lives.
 * @param {AddonManifest['variant']} variant
 * @param {string} [root]
 * @param {string} [platform]
 */
export function prebuildFile(variant, root = packageRoot, platform = undefined) {
  return join(prebuildsDir(root, platform), variant, 'ichnet.node');
}

/**
 * The manifest's path for an addon file: ichnet.node → ichnet.json.
 * @param {string} addonFile
 */
export function manifestPath(addonFile) {
  return addonFile.replace(/\.node$/, '.json');
}

/** The N-API version the addon is compiled for: CMakeLists.txt's NAPI_VERSION define. */
function napiVersion() {
  const m = /NAPI_VERSION=(\d+)/.exec(readFileSync(join(packageRoot, 'CMakeLists.txt'), 'utf8'));
  if (!m) throw new Error('CMakeLists.txt does not define NAPI_VERSION');
  return Number(m[1]);
}

/**
 * Describes the addon at `addonFile`, built against the LibTorch `torch` (a findLibTorch() result).
 * @param {string} addonFile
 * @param {LibTorch} torch
 * @returns {AddonManifest}
 */
export function describeAddon(addonFile, torch) {
  const elf = readElf(addonFile);
  const versions = Object.values(elf.versions).flat();
  return {
    variant: torch.cuda ? 'cuda' : 'cpu',
    platform: `${process.platform}-${process.arch}`,
    torchVersion: torch.version,
    cudaVersion: torch.cuda ? torch.cudaVersion : null,
    cxx11Abi: torch.cxx11Abi === 1,
    libraries: elf.needed,
    torchLibraries: elf.needed.filter((soname) => /^lib(torch|c10)/.test(soname) && existsSync(join(torch.libDir, soname))),
    glibc: highestVersion(versions, 'GLIBC_'),
    glibcxx: highestVersion(versions, 'GLIBCXX_'),
    cxxabi: highestVersion(versions, 'CXXABI_'),
    napi: napiVersion(),
    builtWith: {
      node: process.version,
      glibc: glibcVersion(),
      torchSource: torch.source,
      torchLibDir: torch.libDir,
    },
    date: statSync(addonFile).mtime.toISOString(),
  };
}

/**
 * Writes the manifest next to `addonFile`; returns it.
 * @param {string} addonFile
 * @param {LibTorch} torch
 */
export function writeManifest(addonFile, torch) {
  const manifest = describeAddon(addonFile, torch);
  writeFileSync(manifestPath(addonFile), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * The newest modification time (ms) among the sources a build compiles: native/** and CMakeLists.txt.
 * @param {string} root
 */
function newestSource(root) {
  let newest = statSync(join(root, 'CMakeLists.txt')).mtimeMs;
  for (const entry of readdirSync(join(root, 'native'), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Why the build from source under `root` must be (re)built for the LibTorch `torch`, or null when it
 * is current: it exists, its manifest names the same LibTorch (version, directory, C++ ABI, CUDA or
 * not), and no source is newer than it. An install of a linked checkout then skips the build.
 * @param {LibTorch} torch
 * @param {string} [root]
 * @returns {string | null}
 */
export function sourceBuildStale(torch, root = packageRoot) {
  const file = sourceBuildFile(root);
  if (!existsSync(file)) return 'no build from source yet';
  /** @type {Partial<AddonManifest>} */
  let m;
  try {
    m = JSON.parse(readFileSync(manifestPath(file), 'utf8'));
  } catch {
    return `${manifestPath(file)} is missing or unreadable`;
  }
  const same = m.torchVersion === torch.version && m.builtWith?.torchLibDir === torch.libDir && m.cxx11Abi === (torch.cxx11Abi === 1) && m.variant === (torch.cuda ? 'cuda' : 'cpu');
  if (!same) return `it was built against LibTorch ${m.torchVersion} at ${m.builtWith?.torchLibDir}, and LibTorch ${torch.version} at ${torch.libDir} is found now`;
  if (newestSource(root) > statSync(file).mtimeMs) return 'a source is newer than it';
  return null;
}

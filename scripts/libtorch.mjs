#!/usr/bin/env node
// The one place where ichnet finds LibTorch. The build (CMakeLists.txt via build-native.mjs), the
// install script and the addon loader all ask this module; nothing else guesses paths.
//
// Order (first match wins):
//   1. LIBTORCH=<dir>          a LibTorch distribution (dir/share/cmake/Torch/TorchConfig.cmake)
//   2. LIBTORCH_USE_PYTORCH=1  the `torch` package of python3 (PYTHON overrides the interpreter)
//   3. a system install        Debian/Ubuntu `libtorch-dev` (/usr/lib/<triplet>/cmake/Torch)
//
// CLI: node scripts/libtorch.mjs [--json | --cmake-prefix | --include | --libdir | --cflags | --libs]

/**
 * A LibTorch installation as findLibTorch finds it.
 * @typedef {object} LibTorch
 * @property {'LIBTORCH' | 'python' | 'system'} source  how it was found: `LIBTORCH=`, `LIBTORCH_USE_PYTORCH=1` (python's torch) or a system install
 * @property {string} cmakePrefix
 * @property {string} cmakeDir
 * @property {string[]} includeDirs
 * @property {string} libDir  the directory holding libtorch*.so and libc10*.so
 * @property {string | null} version  "x.y.z", or null when neither headers nor python tell
 * @property {0 | 1} cxx11Abi  the `_GLIBCXX_USE_CXX11_ABI` it was built with
 * @property {boolean} cuda  true when libtorch_cuda is present
 * @property {string | null} cudaVersion  CUDA version ("13.0", or only a major, "12") for CUDA builds, else null
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { readElf } from './elf.mjs';

const TORCH_CONFIG = ['share/cmake/Torch', 'lib/cmake/Torch', 'cmake/Torch', 'Torch'];

/**
 * Finds TorchConfig.cmake under a prefix; returns the directory holding it or null.
 * @param {string} prefix
 */
function torchCmakeDir(prefix) {
  for (const rel of TORCH_CONFIG) {
    const dir = join(prefix, rel);
    if (existsSync(join(dir, 'TorchConfig.cmake'))) return dir;
  }
  return null;
}

/**
 * Reads "x.y.z" from the headers under includeDirs (torch/version.h), or null.
 * @param {string[]} includeDirs
 */
function headerVersion(includeDirs) {
  for (const inc of includeDirs) {
    for (const rel of ['torch/csrc/api/include/torch/version.h', 'torch/version.h']) {
      const f = join(inc, rel);
      if (!existsSync(f)) continue;
      const text = readFileSync(f, 'utf8');
      /** @param {string} name */
      const part = (name) => (new RegExp(`#define\\s+TORCH_VERSION_${name}\\s+(\\d+)`).exec(text) || [])[1];
      const [major, minor, patch] = [part('MAJOR'), part('MINOR'), part('PATCH')];
      if (major !== undefined) return `${major}.${minor}.${patch}`;
    }
  }
  return null;
}

/**
 * True when the LibTorch at libDir carries CUDA kernels.
 * @param {string} libDir
 */
function hasCuda(libDir) {
  try {
    return readdirSync(libDir).some((f) => /^libtorch_cuda(\.so|\.dylib)/.test(f));
  } catch {
    return false;
  }
}

/**
 * "13.0" from a wheel or zip tag "+cu130" ("+cu118" → "11.8"), or null.
 * @param {string | undefined} text
 */
function cudaFromTag(text) {
  const m = /\+cu(\d+)(\d)\b/.exec(text ?? '');
  return m ? `${m[1]}.${m[2]}` : null;
}

/**
 * The CUDA version a CUDA LibTorch at libDir was built with: the LibTorch zip's build-version
 * ("2.11.0+cu130" → "13.0"), else the major of the libcudart that libtorch_cuda needs
 * (libcudart.so.12, or a zip's bundled libcudart-<hash>.so.12 → "12"). Null for CPU builds.
 * @param {string} prefix
 * @param {string} libDir
 * @returns {string | null}
 */
function cudaVersion(prefix, libDir) {
  if (!hasCuda(libDir)) return null;
  const tagFile = join(prefix, 'build-version');
  const tagged = existsSync(tagFile) ? cudaFromTag(readFileSync(tagFile, 'utf8').trim()) : null;
  if (tagged) return tagged;
  try {
    const lib = readdirSync(libDir).find((f) => /^libtorch_cuda\.so/.test(f));
    if (lib === undefined) return null;
    const cudart = readElf(join(libDir, lib)).needed.map((n) => /^libcudart(?:-[0-9a-f]+)?\.so\.(\d+)/.exec(n)).find(Boolean);
    return cudart?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * Which _GLIBCXX_USE_CXX11_ABI the TorchConfig.cmake asks for (0/1), default 1.
 * @param {string} cmakeDir
 * @returns {0 | 1}
 */
function cxx11Abi(cmakeDir) {
  const text = readFileSync(join(cmakeDir, 'TorchConfig.cmake'), 'utf8');
  const m = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(text);
  return m?.[1] === '0' ? 0 : 1;
}

/**
 * The LibTorch whose TorchConfig.cmake is under `prefix`, or null; `extra` holds what python told.
 * @param {LibTorch['source']} source
 * @param {string} prefix
 * @param {{ version?: string; cxx11Abi?: 0 | 1; cudaVersion?: string | null }} [extra]
 * @returns {LibTorch | null}
 */
function fromPrefix(source, prefix, extra = {}) {
  const cmakeDir = torchCmakeDir(prefix);
  if (!cmakeDir) return null;
  // Distribution layout: <prefix>/{include,lib}; Debian: /usr/include + /usr/lib/<triplet>.
  const libDir = existsSync(join(prefix, 'lib', 'libtorch.so')) || existsSync(join(prefix, 'lib', 'libtorch.dylib'))
    ? join(prefix, 'lib')
    : resolve(cmakeDir, '..', '..');
  const incRoot = existsSync(join(prefix, 'include', 'torch')) ? join(prefix, 'include') : '/usr/include';
  const includeDirs = [incRoot, join(incRoot, 'torch', 'csrc', 'api', 'include')];
  return {
    source,
    cmakePrefix: resolve(cmakeDir, '..'),
    cmakeDir,
    includeDirs,
    libDir,
    version: extra.version ?? headerVersion(includeDirs),
    cxx11Abi: extra.cxx11Abi ?? cxx11Abi(cmakeDir),
    cuda: hasCuda(libDir),
    cudaVersion: extra.cudaVersion !== undefined ? extra.cudaVersion : cudaVersion(prefix, libDir),
  };
}

/** @returns {LibTorch} */
function fromPython() {
  const python = process.env.PYTHON || 'python3';
  const code = [
    'import json, os, torch, torch.utils',
    'p = torch.utils.cmake_prefix_path',
    'print(json.dumps({"cmake": p, "root": os.path.dirname(torch.__file__), "version": torch.__version__,',
    '  "abi": int(torch._C._GLIBCXX_USE_CXX11_ABI), "cuda": torch.version.cuda}))',
  ].join('\n');
  let out;
  try {
    out = JSON.parse(execFileSync(python, ['-c', code], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch (e) {
    const err = /** @type {{ stderr?: string; message?: string }} */ (e);
    throw new Error(`LIBTORCH_USE_PYTORCH=1 but \`${python} -c "import torch"\` failed: ${String(err.stderr || err.message).trim()}`);
  }
  const found = fromPrefix('python', out.root, { version: out.version.split('+')[0], cxx11Abi: out.abi, cudaVersion: out.cuda ?? null });
  if (!found) throw new Error(`LIBTORCH_USE_PYTORCH=1: no TorchConfig.cmake under ${out.root}`);
  return found;
}

/** System locations, Debian/Ubuntu first. */
function systemPrefixes() {
  const prefixes = [];
  for (const base of ['/usr/lib', '/usr/local/lib']) {
    if (!existsSync(base)) continue;
    for (const d of readdirSync(base)) if (/-linux-gnu$/.test(d)) prefixes.push(join(base, d));
    prefixes.push(base);
  }
  prefixes.push('/usr/local/libtorch', '/opt/libtorch');
  return prefixes;
}

/**
 * Finds LibTorch. Returns a description, or null when nothing is installed.
 * Throws when LIBTORCH / LIBTORCH_USE_PYTORCH point at something unusable (the user asked for it).
 * @param {Record<string, string | undefined>} [env]
 * @returns {LibTorch | null}
 */
export function findLibTorch(env = process.env) {
  if (env.LIBTORCH) {
    const found = fromPrefix('LIBTORCH', resolve(env.LIBTORCH));
    if (!found) throw new Error(`LIBTORCH=${env.LIBTORCH}: no share/cmake/Torch/TorchConfig.cmake there (expected an unpacked LibTorch distribution)`);
    return found;
  }
  if (env.LIBTORCH_USE_PYTORCH === '1' || env.LIBTORCH_USE_PYTORCH === 'true') return fromPython();
  for (const prefix of systemPrefixes()) {
    const found = fromPrefix('system', prefix);
    if (found) return found;
  }
  return null;
}

/** The message printed when no LibTorch is found. */
export const HOW_TO_GET_LIBTORCH = [
  'ichnet needs LibTorch (the C++ library of PyTorch) to build its native addon. Any one of:',
  '  - Debian/Ubuntu:  sudo apt-get install libtorch-dev            (CPU, LibTorch 1.13)',
  '  - a LibTorch zip from pytorch.org, unpacked:  export LIBTORCH=/path/to/libtorch',
  '  - an installed PyTorch (CUDA builds included): export LIBTORCH_USE_PYTORCH=1   (uses python3\'s torch; PYTHON=... to pick one)',
  'then run `npm rebuild ichnet` (or `npm ci` in a checkout).',
].join('\n');

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  let found;
  try {
    found = findLibTorch();
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(2);
  }
  if (!found) {
    console.error(HOW_TO_GET_LIBTORCH);
    process.exit(1);
  }
  const arg = process.argv[2] ?? '--json';
  const out = {
    '--json': () => JSON.stringify(found, null, 2),
    '--cmake-prefix': () => found.cmakePrefix,
    '--include': () => found.includeDirs.join(' '),
    '--libdir': () => found.libDir,
    '--cflags': () => `-D_GLIBCXX_USE_CXX11_ABI=${found.cxx11Abi}`,
    '--libs': () => `-L${found.libDir} -Wl,-rpath,${found.libDir} -Wl,--no-as-needed ${found.cuda ? '-ltorch_cuda ' : ''}-ltorch -ltorch_cpu -lc10 -Wl,--as-needed`,
  }[arg];
  if (!out) {
    console.error(`unknown option ${arg}`);
    process.exit(2);
  }
  console.log(out());
}

export { packageRoot } from './package-root.mjs';

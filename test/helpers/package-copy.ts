/**
 * Copies of this package's runtime (package.json, dist/src, dist/scripts, scripts) in temporary directories, with
 * addon binaries placed — and broken — on purpose, and a child process that loads the addon there
 * the way an installed package does.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { packageRoot } from '../../src/package-root.js';
import { addonFiles, discovery, type AddonManifest } from '../../src/addon/scripts.js';
import { tempDir } from './temp-dir.js';

/** The addon this checkout built (the test suite runs after `npm run build:native`). */
export const builtAddon = addonFiles.sourceBuildFile(packageRoot);

/** A package directory with the compiled TypeScript and the scripts, but no addon yet. */
export function packageCopy(prefix = 'ichnet-pkg-'): string {
  const root = tempDir(prefix);
  for (const entry of ['package.json', 'CMakeLists.txt', 'scripts', join('dist', 'src'), join('dist', 'scripts')]) cpSync(join(packageRoot, entry), join(root, entry), { recursive: true });
  symlinkSync(join(packageRoot, 'node_modules'), join(root, 'node_modules'));
  return root;
}

/** The manifest the build writes for `file`, built against the LibTorch discovery finds here. */
export function manifestFor(file: string): AddonManifest {
  const torch = discovery.findLibTorch();
  if (!torch) throw new Error('no LibTorch found: the tests need the one the addon was built against');
  return addonFiles.describeAddon(file, torch);
}

/**
 * Places `addon` (default: this checkout's build) in `root` as a prebuilt variant (or as the build
 * from source), with its manifest edited by `edit`; returns the path.
 */
export function placeAddon(root: string, where: 'cpu' | 'cuda' | 'source', { addon = builtAddon, edit = (m: AddonManifest) => m } = {}): string {
  const path = where === 'source' ? addonFiles.sourceBuildFile(root) : addonFiles.prebuildFile(where, root);
  mkdirSync(dirname(path), { recursive: true });
  copyFileSync(addon, path);
  writeFileSync(addonFiles.manifestPath(path), JSON.stringify(edit(manifestFor(path))));
  return path;
}

/**
 * A copy of `file` in which the NUL-terminated string `from` — its first occurrence, which is in the
 * dynamic string table (.dynstr precedes the code and the static symbol table) — reads `to` (no
 * longer; a shorter one is NUL-padded). This makes real loader failures: a needed library or symbol
 * version renamed.
 */
export function patchedCopy(file: string, from: string, to: string): string {
  if (to.length > from.length) throw new Error('patchedCopy cannot lengthen a string');
  const buf = readFileSync(file);
  const at = buf.indexOf(Buffer.from(`${from}\0`, 'latin1'));
  if (at < 0) throw new Error(`${from} is not in ${file}`);
  buf.fill(0, at, at + from.length);
  buf.write(to, at, 'latin1');
  const out = join(tempDir('ichnet-patched-'), 'ichnet.node');
  writeFileSync(out, buf);
  return out;
}

/** What a child process reports after loading the addon of a package copy. */
export type LoadOutcome =
  | { ok: true; variant: string; path: string; reason: string; preloaded: string[]; torchVersion: string }
  | { ok: false; error: string };

/** The environment without ichnet's and LibTorch's own variables, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(ICHNET_ADDON|ICHNET_BUILD_FROM_SOURCE|LIBTORCH|LIBTORCH_USE_PYTORCH|LD_LIBRARY_PATH|LD_PRELOAD)$/.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Loads the addon of the package at `root` in a child process (as `runtimeInfo()` does). */
export function loadIn(root: string, env: Record<string, string> = {}): LoadOutcome {
  const runtime = join(root, 'dist', 'src', 'session', 'runtime.js');
  const code = [
    `const { runtimeInfo } = await import(${JSON.stringify(`file://${runtime}`)});`,
    'try {',
    '  const r = runtimeInfo();',
    '  console.log(JSON.stringify({ ok: true, variant: r.addon.variant, path: r.addonPath, reason: r.addon.reason, preloaded: r.addon.preloaded, torchVersion: r.torchVersion }));',
    '} catch (e) { console.log(JSON.stringify({ ok: false, error: e.message })); }',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env: cleanEnv(env) });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) throw new Error(`the loading process failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(last) as LoadOutcome;
}

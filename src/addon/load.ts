/**
 * Chooses and loads the compiled addon: the only module that touches the `.node` file. What the
 * addon's functions are is src/session/binding.ts's business, the only importer of this folder.
 *
 * Which file: src/addon/variant.ts decides (a build from source, else the CUDA or CPU prebuilt
 * variant that fits this machine; ICHNET_ADDON overrides). A prebuilt variant runs on the user's
 * LibTorch, loaded first from where discovery finds it (src/addon/preload.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { glibcVersion, nvidiaDriverVersion } from './host.js';
import { loadError, noAddonError } from './load-error.js';
import { packageRoot } from '../package-root.js';
import { preloadLibraries } from './preload.js';
import { addonFiles, discovery, type AddonManifest, type LibTorch } from './scripts.js';
import { ADDON_REQUESTS, chooseAddon, type AddonCandidate, type AddonRequest, type AddonVariant, type Discovery, type HostFacts } from './variant.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** Which binary was loaded, and why. */
export interface AddonLoad {
  /** The `.node` file. */
  path: string;
  /** `source` (built on this machine) or the prebuilt variant. */
  variant: AddonVariant;
  /** Why this binary (the selection's reasoning, or the ICHNET_ADDON override). */
  reason: string;
  /** What it was built against (build/Release/ichnet.json or the prebuild's), when recorded. */
  manifest: AddonManifest | null;
  /** The LibTorch discovery found, when it ran (it runs for prebuilds only). */
  libtorch: LibTorch | null;
  /** LibTorch libraries loaded before the addon (prebuilds only). */
  preloaded: string[];
  /** The NVIDIA driver version seen, or null. */
  nvidiaDriver: string | null;
}

let cached: { addon: object; load: AddonLoad } | undefined;

/** ICHNET_ADDON, checked. */
function addonRequest(value: string | undefined): AddonRequest {
  const v = (value ?? 'auto').trim().toLowerCase() || 'auto';
  if (!(ADDON_REQUESTS as readonly string[]).includes(v)) {
    throw new IchnetError('NATIVE_LOAD', `ichnet: ICHNET_ADDON=${value} is not one of ${ADDON_REQUESTS.join(', ')}`);
  }
  return v as AddonRequest;
}

/** A manifest beside `path`, or null when it is missing or not one of ours. */
function readManifest(path: string): AddonManifest | null {
  try {
    const m = JSON.parse(readFileSync(addonFiles.manifestPath(path), 'utf8')) as Partial<AddonManifest>;
    const ok = (m.variant === 'cpu' || m.variant === 'cuda') && typeof m.platform === 'string' && Array.isArray(m.libraries) &&
      Array.isArray(m.torchLibraries) && typeof m.cxx11Abi === 'boolean' && typeof m.napi === 'number' && typeof m.builtWith === 'object';
    return ok ? (m as AddonManifest) : null;
  } catch {
    return null;
  }
}

function candidate(variant: AddonVariant, path: string): AddonCandidate | null {
  return existsSync(path) ? { variant, path, manifest: readManifest(path) } : null;
}

/** LibTorch discovery, run at most once, with the files of its lib directory. */
function discoverOnce(): () => Discovery {
  let result: Discovery | undefined;
  return () => {
    if (result) return result;
    try {
      const found = discovery.findLibTorch();
      result = { found: found && { ...found, files: existsSync(found.libDir) ? readdirSync(found.libDir) : [] }, error: null };
    } catch (e) {
      result = { found: null, error: e instanceof Error ? e.message : String(e) };
    }
    return result;
  };
}

/**
 * Chooses and loads (once) the native addon; returns its exports and which file it was and why.
 * Throws one explanatory error (src/addon/load-error.ts) when nothing fits or the load fails.
 */
export function loadAddon(): { addon: object; load: AddonLoad } {
  if (cached) return cached;
  const request = addonRequest(process.env.ICHNET_ADDON);
  const host: HostFacts = {
    platform: `${process.platform}-${process.arch}`,
    glibc: glibcVersion(),
    napi: Number(process.versions.napi),
    nvidiaDriver: nvidiaDriverVersion(),
    libtorch: discoverOnce(),
  };
  const source = candidate('source', addonFiles.sourceBuildFile(packageRoot));
  const prebuilds = (['cuda', 'cpu'] as const)
    .map((v) => candidate(v, addonFiles.prebuildFile(v, packageRoot, host.platform)))
    .filter((c): c is AddonCandidate => c !== null);
  const choice = chooseAddon(request, source, prebuilds, host);
  if (choice.candidate === null) throw noAddonError(choice);

  const chosen = choice.candidate;
  const found = chosen.variant === 'source' ? null : host.libtorch().found;
  const libtorch: LibTorch | null = found && (({ files: _, ...rest }) => rest)(found);
  const context = { candidate: chosen, libtorch, glibc: host.glibc, forced: choice.problems };
  try {
    const preloaded = found && chosen.manifest ? preloadLibraries(found.libDir, chosen.manifest.torchLibraries, found.files) : [];
    const addon = createRequire(import.meta.url)(chosen.path) as object;
    const load = { path: chosen.path, variant: chosen.variant, reason: choice.reason, manifest: chosen.manifest, libtorch, preloaded, nvidiaDriver: host.nvidiaDriver };
    cached = { addon, load };
  } catch (e) {
    throw loadError(e, context);
  }
  return cached;
}

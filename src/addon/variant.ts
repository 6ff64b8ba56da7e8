/**
 * Which addon binary to load: a build from source, or the CUDA or CPU prebuilt variant. A pure
 * function of what is on disk and what this machine has, so every combination can be tested;
 * src/addon/load.ts gathers the facts and loads the choice.
 *
 * Order, unless ICHNET_ADDON says otherwise:
 *  1. a build from source (build/Release/ichnet.node): it was compiled on this machine against the
 *     LibTorch it found here, so it fits by construction, and a developer's fresh rebuild must not
 *     be shadowed by an older prebuilt binary. An installed package has one only when the install
 *     found no fitting prebuilt binary (or ICHNET_BUILD_FROM_SOURCE=1 asked for it);
 *  2. the CUDA prebuild, when an NVIDIA driver is present and the LibTorch found is a CUDA build of
 *     the recorded version (major.minor), CUDA major and C++ ABI;
 *  3. the CPU prebuild, when the LibTorch found has the recorded version and C++ ABI;
 *  4. nothing: the caller explains every rejection and how to build from source.
 * Both prebuilds also need the recorded platform, glibc and N-API version.
 */
import { elf, type AddonManifest, type LibTorch } from './scripts.js';

/** ICHNET_ADDON: `auto` (the order above), `source`, `prebuilt` (never source), `cpu` or `cuda` (forced). */
export type AddonRequest = 'auto' | 'source' | 'prebuilt' | 'cpu' | 'cuda';

/** The values ICHNET_ADDON accepts. */
export const ADDON_REQUESTS: readonly AddonRequest[] = ['auto', 'source', 'prebuilt', 'cpu', 'cuda'];

/** What was built: from source on this machine, or one of the prebuilt variants. */
export type AddonVariant = 'source' | AddonManifest['variant'];

/** An addon file on disk and its manifest (null when missing or unreadable). */
export interface AddonCandidate {
  variant: AddonVariant;
  path: string;
  manifest: AddonManifest | null;
}

/** The LibTorch discovery found, with the file names in its lib directory. */
export interface FoundLibTorch extends LibTorch {
  files: readonly string[];
}

/** What LibTorch discovery answered: a LibTorch, none, or an error (e.g. LIBTORCH points nowhere). */
export interface Discovery {
  found: FoundLibTorch | null;
  error: string | null;
}

/** This machine, as far as choosing a binary is concerned. */
export interface HostFacts {
  /** `${process.platform}-${process.arch}`. */
  platform: string;
  /** The glibc version, or null when the C library is not glibc. */
  glibc: string | null;
  /** Node's N-API version. */
  napi: number;
  /** The NVIDIA kernel driver's version (`WSL` under WSL 2), or null when there is none. */
  nvidiaDriver: string | null;
  /** Finds LibTorch; called only when a prebuild is considered (a source build needs no discovery). */
  libtorch(): Discovery;
}

/** Why a binary cannot be used here, and what to do about it. */
export interface Problem {
  message: string;
  fix: string;
}

/** A binary to load; `problems` is non-empty only when ICHNET_ADDON forced a misfit. */
export interface Chosen {
  candidate: AddonCandidate;
  reason: string;
  problems: Problem[];
}

/** No binary to load, with every candidate's reasons. */
export interface NoneChosen {
  candidate: null;
  reason: string;
  rejected: Array<{ candidate: AddonCandidate; problems: Problem[] }>;
}

export type AddonChoice = Chosen | NoneChosen;

/** The fix that always works where a compiler is available. */
export const REBUILD = 'build from source here: `npm rebuild ichnet` (needs a C++17 compiler, cmake and LibTorch)';

/** "2.11.0" → "2.11": LibTorch's C++ ABI changes between minor releases (Debian's sonames carry it). */
function majorMinor(version: string | null): string | null {
  return version === null ? null : version.split('.').slice(0, 2).join('.');
}

/** "13.0" → "cu130", "12" → "cu12x": the PyTorch wheel index for that CUDA. */
function wheelIndex(cuda: string): string {
  const [major, minor] = cuda.split('.');
  return `https://download.pytorch.org/whl/cu${major}${minor ?? 'x'}`;
}

/** How to get LibTorch `version` (with CUDA `cuda`, when set) where discovery finds it. */
export function getLibTorch(version: string | null, cuda: string | null): string {
  const v = majorMinor(version) ?? 'x.y';
  const pip = cuda ? `pip install 'torch==${v}.*' --index-url ${wheelIndex(cuda)}` : `pip install 'torch==${v}.*'`;
  const zip = `unpack the LibTorch ${v} zip from pytorch.org${cuda ? ` (CUDA ${cuda})` : ''} and set LIBTORCH=/path/to/libtorch`;
  const apt = !cuda && v === '1.13' ? '; or on Debian 12: apt-get install libtorch-dev' : '';
  return `${pip} and set LIBTORCH_USE_PYTORCH=1, or ${zip}${apt}; or ${REBUILD}`;
}

/** "LibTorch 1.13.0 found via the system at /usr/lib/x86_64-linux-gnu". */
export function where(lt: LibTorch): string {
  return `LibTorch ${lt.version ?? '(version unknown)'} found via ${lt.source === 'system' ? 'the system' : lt.source === 'python' ? 'LIBTORCH_USE_PYTORCH=1' : 'LIBTORCH'} at ${lt.libDir}`;
}

/** Everything that keeps the prebuilt candidate from running here; empty when it fits. */
export function prebuildProblems(candidate: AddonCandidate, host: HostFacts): Problem[] {
  const m = candidate.manifest;
  if (!m) {
    return [{ message: `${candidate.path} has no readable manifest beside it (ichnet.json)`, fix: `reinstall ichnet, or ${REBUILD}` }];
  }
  const problems: Problem[] = [];
  if (m.platform !== host.platform) {
    problems.push({ message: `built for ${m.platform}, this machine is ${host.platform}`, fix: REBUILD });
  }
  if (m.glibc !== null && host.glibc === null) {
    problems.push({ message: `needs glibc ${m.glibc} or newer; this system's C library is not glibc`, fix: REBUILD });
  } else if (m.glibc !== null && host.glibc !== null && elf.compareVersions(host.glibc, m.glibc) < 0) {
    problems.push({ message: `needs glibc ${m.glibc} or newer, this system has glibc ${host.glibc}`, fix: `${REBUILD}, or use a newer Linux distribution` });
  }
  if (host.napi < m.napi) {
    problems.push({ message: `needs N-API ${m.napi}, this Node.js has N-API ${host.napi}`, fix: 'use Node.js 20 or newer' });
  }
  if (m.variant === 'cuda' && host.nvidiaDriver === null) {
    problems.push({ message: 'no NVIDIA driver (no /proc/driver/nvidia/version)', fix: 'install the NVIDIA driver (`nvidia-smi` must work); without one the CPU variant is the right one' });
  }
  const { found: lt, error } = host.libtorch();
  if (error !== null) {
    problems.push({ message: `LibTorch discovery failed: ${error}`, fix: 'correct LIBTORCH or LIBTORCH_USE_PYTORCH (`node scripts/libtorch.mjs` shows what is found)' });
    return problems;
  }
  if (lt === null) {
    problems.push({
      message: `no LibTorch found (LIBTORCH, LIBTORCH_USE_PYTORCH=1 or a system install); this binary needs LibTorch ${m.torchVersion}${m.cudaVersion ? ` with CUDA ${m.cudaVersion}` : ''}`,
      fix: getLibTorch(m.torchVersion, m.cudaVersion),
    });
    return problems;
  }
  if (majorMinor(lt.version) !== majorMinor(m.torchVersion)) {
    problems.push({ message: `built against LibTorch ${m.torchVersion}, but ${where(lt)}`, fix: getLibTorch(m.torchVersion, m.cudaVersion) });
  } else {
    const missing = m.torchLibraries.filter((soname) => !lt.files.includes(soname));
    if (missing.length > 0) {
      problems.push({
        message: `needs ${missing.join(', ')}, which ${lt.libDir} does not have (${where(lt)} names its libraries differently, e.g. Debian's versioned libtorch.so.1.13 against pytorch.org's libtorch.so)`,
        fix: `use the kind of LibTorch it was built with (${m.builtWith.torchSource === 'system' ? 'a system package' : 'a pytorch.org build'}), or ${REBUILD}`,
      });
    }
  }
  if ((lt.cxx11Abi === 1) !== m.cxx11Abi) {
    problems.push({
      message: `built with the ${m.cxx11Abi ? 'C++11' : 'pre-C++11'} ABI, but ${where(lt)} uses the ${lt.cxx11Abi === 1 ? 'C++11' : 'pre-C++11'} ABI`,
      fix: `use a LibTorch built with the ${m.cxx11Abi ? 'C++11' : 'pre-C++11'} ABI (pytorch.org offers both zips; PyTorch wheels use the C++11 ABI since 2.7), or ${REBUILD}`,
    });
  }
  if (m.variant === 'cuda') {
    if (lt.cudaVersion === null) {
      problems.push({ message: `is the CUDA variant, but ${where(lt)} is a CPU build`, fix: getLibTorch(m.torchVersion, m.cudaVersion) });
    } else if (m.cudaVersion !== null && lt.cudaVersion.split('.')[0] !== m.cudaVersion.split('.')[0]) {
      problems.push({
        message: `built for CUDA ${m.cudaVersion}, but ${where(lt)} has CUDA ${lt.cudaVersion}`,
        fix: getLibTorch(m.torchVersion, m.cudaVersion),
      });
    }
  }
  return problems;
}

/** A binary in words, for reasons and load errors: "the CUDA prebuild (LibTorch 2.11.0, CUDA 13.0)". */
export function describeCandidate(c: AddonCandidate): string {
  const m = c.manifest;
  if (c.variant === 'source') return 'the build from source';
  return `the ${c.variant.toUpperCase()} prebuild${m ? ` (LibTorch ${m.torchVersion}${m.cudaVersion ? `, CUDA ${m.cudaVersion}` : ''})` : ''}`;
}

/** Picks the binary to load for `request` (ICHNET_ADDON) among a source build and the prebuilds. */
export function chooseAddon(request: AddonRequest, source: AddonCandidate | null, prebuilds: readonly AddonCandidate[], host: HostFacts): AddonChoice {
  const byVariant = (v: AddonVariant): AddonCandidate | undefined => prebuilds.find((c) => c.variant === v);

  if (request === 'source') {
    if (source) return { candidate: source, reason: 'ICHNET_ADDON=source', problems: [] };
    return { candidate: null, reason: 'ICHNET_ADDON=source, but there is no build from source (build/Release/ichnet.node)', rejected: [] };
  }
  if (request === 'cpu' || request === 'cuda') {
    const forced = byVariant(request);
    if (forced) return { candidate: forced, reason: `ICHNET_ADDON=${request}`, problems: prebuildProblems(forced, host) };
    return { candidate: null, reason: `ICHNET_ADDON=${request}, but this package has no ${request} prebuild for ${host.platform}`, rejected: [] };
  }
  if (request === 'auto' && source) {
    return { candidate: source, reason: 'built from source on this machine (a build from source takes precedence over prebuilt binaries)', problems: [] };
  }

  const rejected: NoneChosen['rejected'] = [];
  for (const variant of ['cuda', 'cpu'] as const) {
    const candidate = byVariant(variant);
    if (!candidate) continue;
    const problems = prebuildProblems(candidate, host);
    if (problems.length > 0) {
      rejected.push({ candidate, problems });
      continue;
    }
    const lt = host.libtorch().found;
    const because = variant === 'cuda'
      ? `NVIDIA driver ${host.nvidiaDriver} and ${lt ? where(lt) : 'LibTorch'} with CUDA ${lt?.cudaVersion}`
      : `${lt ? where(lt) : 'LibTorch'}`;
    const notCuda = rejected.length > 0 ? `; not the CUDA prebuild: ${rejected[0]!.problems.map((p) => p.message).join('; ')}` : '';
    return { candidate, reason: `${describeCandidate(candidate)} fits: ${because}${notCuda}`, problems: [] };
  }
  const what = prebuilds.length === 0 ? `this package has no prebuilt binary for ${host.platform}` : 'no prebuilt binary fits this machine';
  return { candidate: null, reason: request === 'prebuilt' ? `ICHNET_ADDON=prebuilt, but ${what}` : `there is no build from source, and ${what}`, rejected };
}

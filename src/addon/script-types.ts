/**
 * The types of the build scripts the loader shares (scripts/libtorch.mjs, scripts/addon-files.mjs,
 * scripts/elf.mjs): plain ES modules that run before TypeScript is compiled, imported at run time
 * by src/addon/scripts.ts. Declared here, in the compiled package, so that the public types that
 * mention them (ichnet doctor's report) resolve for users too.
 */

/** A LibTorch installation as scripts/libtorch.mjs finds it. */
export interface LibTorch {
  /** How it was found: `LIBTORCH=`, `LIBTORCH_USE_PYTORCH=1` (python's torch) or a system install. */
  source: 'LIBTORCH' | 'python' | 'system';
  cmakePrefix: string;
  cmakeDir: string;
  includeDirs: string[];
  /** The directory holding libtorch*.so and libc10*.so. */
  libDir: string;
  /** "x.y.z", or null when neither headers nor python tell. */
  version: string | null;
  /** The `_GLIBCXX_USE_CXX11_ABI` it was built with. */
  cxx11Abi: 0 | 1;
  /** True when libtorch_cuda is present. */
  cuda: boolean;
  /** CUDA version ("13.0", or only a major, "12") for CUDA builds, else null. */
  cudaVersion: string | null;
}

/** What a built addon was built against and needs at run time (build/Release/ichnet.json). */
export interface AddonManifest {
  /** `cuda` when built against a LibTorch with libtorch_cuda, else `cpu`. */
  variant: 'cpu' | 'cuda';
  /** `${process.platform}-${process.arch}` of the build, e.g. `linux-x64`. */
  platform: string;
  /** LibTorch version built against, e.g. `2.11.0`. */
  torchVersion: string | null;
  /** CUDA version of that LibTorch (`13.0`, or only the major, `12`); null for CPU builds. */
  cudaVersion: string | null;
  /** Whether it was compiled with `_GLIBCXX_USE_CXX11_ABI=1`. */
  cxx11Abi: boolean;
  /** Every DT_NEEDED soname of the addon. */
  libraries: string[];
  /** Those of `libraries` that are LibTorch's own (libtorch*, libc10*): loaded from the user's LibTorch. */
  torchLibraries: string[];
  /** Highest GLIBC_ / GLIBCXX_ / CXXABI_ symbol version the addon requires. */
  glibc: string | null;
  glibcxx: string | null;
  cxxabi: string | null;
  /** N-API version compiled for. */
  napi: number;
  /** The build's Node.js, glibc, and where its LibTorch came from. */
  builtWith: { node: string; glibc: string | null; torchSource: LibTorch['source']; torchLibDir: string };
  /** When the addon file was linked (ISO 8601). */
  date: string;
}

/** The dynamic-linking facts of an ELF shared object. */
export interface ElfDynamic {
  soname: string | null;
  /** DT_NEEDED sonames, in order. */
  needed: string[];
  /** DT_RUNPATH (or DT_RPATH) entries. */
  runpath: string[];
  /** Required symbol versions (GLIBC_2.32, ...) by library soname. */
  versions: Record<string, string[]>;
}

/** scripts/libtorch.mjs. */
export interface DiscoveryModule {
  /**
   * Finds LibTorch: LIBTORCH, then LIBTORCH_USE_PYTORCH=1, then the system's. Null when none is
   * installed; throws when LIBTORCH / LIBTORCH_USE_PYTORCH point at something unusable.
   */
  findLibTorch(env?: Record<string, string | undefined>): LibTorch | null;
  /** What to install or set when no LibTorch is found. */
  HOW_TO_GET_LIBTORCH: string;
}

/** scripts/addon-files.mjs. */
export interface AddonFilesModule {
  /** build/Release/ichnet.node under root (default: this package). */
  sourceBuildFile(root?: string): string;
  /** prebuilds/<platform> under root (default: this package and platform). */
  prebuildsDir(root?: string, platform?: string): string;
  /** prebuilds/<platform>/<variant>/ichnet.node under root. */
  prebuildFile(variant: AddonManifest['variant'], root?: string, platform?: string): string;
  /** The manifest beside an addon file: ichnet.node → ichnet.json. */
  manifestPath(addonFile: string): string;
  /** Describes an addon built against `torch`. */
  describeAddon(addonFile: string, torch: LibTorch): AddonManifest;
  /** Writes that description beside the addon and returns it. */
  writeManifest(addonFile: string, torch: LibTorch): AddonManifest;
}

/** scripts/elf.mjs. */
export interface ElfModule {
  /** Reads `file`'s dynamic section and version needs (ELF64 little-endian). */
  readElf(file: string): ElfDynamic;
  /** The highest version with `prefix` ("GLIBC_") among `names`, as "2.32", or null. */
  highestVersion(names: string[], prefix: string): string | null;
  /** Compares dotted versions numerically ("2.9" < "2.14"). */
  compareVersions(a: string, b: string): number;
}

import type { LibTorch } from './libtorch.mjs';

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
  builtWith: { node: string; glibc: string | null; torchSource: LibTorch['source']; torchLibDir: string };
  /** When the addon file was linked (ISO 8601). */
  date: string;
}

/** build/Release/ichnet.node under root (default: this package). */
export function sourceBuildFile(root?: string): string;
/** prebuilds/<platform> under root (default: this package and platform). */
export function prebuildsDir(root?: string, platform?: string): string;
/** prebuilds/<platform>/<variant>/ichnet.node under root. */
export function prebuildFile(variant: AddonManifest['variant'], root?: string, platform?: string): string;
export function manifestPath(addonFile: string): string;
export function describeAddon(addonFile: string, torch: LibTorch): AddonManifest;
export function writeManifest(addonFile: string, torch: LibTorch): AddonManifest;

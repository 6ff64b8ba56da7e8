/**
 * Loads LibTorch's libraries from the directory discovery found before a prebuilt addon is
 * loaded, so that the addon's DT_NEEDED entries (libtorch.so, libc10.so, libtorch_cuda.so, …)
 * resolve to them: the dynamic loader matches a needed soname against libraries already loaded
 * before it searches any path.
 *
 * Why this and not only RUNPATH: a prebuilt binary is built on another machine, and LibTorch lives
 * wherever its user put it — a virtualenv's site-packages/torch/lib (python version and venv path
 * unknown in advance), an unpacked zip anywhere (LIBTORCH), /usr/lib/<triplet>. No fixed or
 * $ORIGIN-relative RUNPATH can name all of these; discovery (scripts/libtorch.mjs) already knows the
 * one in use, so the loader takes it from there and LD_LIBRARY_PATH is never needed. Loading
 * libtorch_cuda this way also loads the CUDA runtime, cuDNN, cuBLAS … through that library's own
 * RUNPATH (PyTorch wheels point it at site-packages/nvidia/…/lib), which then satisfies the addon's
 * own needs of them. The addon's RUNPATH keeps only the LibTorch directory of the machine that
 * built it, which is what a build from source needs (CMakeLists.txt).
 *
 * Flags: RTLD_NOW surfaces a missing dependency here, naming the library; RTLD_GLOBAL exposes
 * LibTorch's symbols as PyTorch itself does; RTLD_NODELETE keeps the library loaded although
 * process.dlopen closes it again when it finds no addon to register ("did not self-register").
 */
import { constants } from 'node:os';
import { join } from 'node:path';

/** glibc's RTLD_NODELETE on Linux; Node does not export it in os.constants.dlopen. */
const RTLD_NODELETE = 0x1000;

/** The error process.dlopen throws for a library that loaded but is not a Node addon. */
const NOT_AN_ADDON = /did not self-register/;

/**
 * Loads `sonames` from `libDir` (those that exist there) into the process; returns the paths loaded.
 * Throws the dynamic loader's error when one of them cannot be loaded.
 */
export function preloadLibraries(libDir: string, sonames: readonly string[], present: readonly string[]): string[] {
  const flags = (constants.dlopen.RTLD_NOW ?? 2) | (constants.dlopen.RTLD_GLOBAL ?? 0x100) | RTLD_NODELETE;
  const loaded: string[] = [];
  for (const soname of sonames) {
    if (!present.includes(soname)) continue;
    const path = join(libDir, soname);
    try {
      process.dlopen({ exports: {} }, path, flags);
    } catch (e) {
      if (!(e instanceof Error) || !NOT_AN_ADDON.test(e.message)) throw e;
    }
    loaded.push(path);
  }
  return loaded;
}

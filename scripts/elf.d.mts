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

/** Reads `file`'s dynamic section and version needs (ELF64 little-endian). */
export function readElf(file: string): ElfDynamic;
/** The highest version with `prefix` ("GLIBC_") among `names`, as "2.32", or null. */
export function highestVersion(names: string[], prefix: string): string | null;
/** Compares dotted versions numerically ("2.9" < "2.14"). */
export function compareVersions(a: string, b: string): number;

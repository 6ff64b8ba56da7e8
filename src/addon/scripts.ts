/**
 * The build scripts the loader shares with the install and build steps: LibTorch discovery
 * (scripts/libtorch.mjs, the one place that knows where LibTorch may be), the addon files' layout
 * and manifest (scripts/addon-files.mjs) and the ELF reader (scripts/elf.mjs). They are plain ES
 * modules because they run before TypeScript is compiled; tsc checks them too (`checkJs`), takes
 * their types from their JSDoc and compiles them to dist/scripts/, where the loader imports them.
 */
export * as addonFiles from '../../scripts/addon-files.mjs';
export * as discovery from '../../scripts/libtorch.mjs';
export * as elf from '../../scripts/elf.mjs';
export type { AddonManifest } from '../../scripts/addon-files.mjs';
export type { ElfDynamic } from '../../scripts/elf.mjs';
export type { LibTorch } from '../../scripts/libtorch.mjs';

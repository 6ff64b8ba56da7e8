/**
 * The build scripts the loader shares with the install and build steps: LibTorch discovery
 * (scripts/libtorch.mjs, the one place that knows where LibTorch may be), the addon files' layout
 * and manifest (scripts/addon-files.mjs) and the ELF reader (scripts/elf.mjs). They are plain ES
 * modules because they run before TypeScript is compiled; scripts/ ships in the package, and
 * src/addon/script-types.ts types them.
 *
 * Each is loaded on first use, synchronously (Node's require of an ES module), so that importing
 * the loader reads no build script: only choosing an addon does.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { packageRoot } from '../package-root.js';
import type { AddonFilesModule, DiscoveryModule, ElfModule } from './script-types.js';

export type { AddonManifest, ElfDynamic, LibTorch } from './script-types.js';

const require = createRequire(import.meta.url);

/** `scripts/<name>`, loaded once. */
function script<T>(name: string): () => T {
  let module: T | undefined;
  return () => (module ??= require(join(packageRoot, 'scripts', name)) as T);
}

/** scripts/libtorch.mjs. */
export const discovery = script<DiscoveryModule>('libtorch.mjs');
/** scripts/elf.mjs. */
export const elf = script<ElfModule>('elf.mjs');
/** scripts/addon-files.mjs. */
export const addonFiles = script<AddonFilesModule>('addon-files.mjs');

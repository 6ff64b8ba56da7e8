/**
 * The build scripts the loader shares with the install and build steps: LibTorch discovery
 * (scripts/libtorch.mjs, the one place that knows where LibTorch may be), the addon files' layout
 * and manifest (scripts/addon-files.mjs) and the ELF reader (scripts/elf.mjs). They are plain ES
 * modules because they run before TypeScript is compiled; scripts/ ships in the package, and
 * src/native/script-types.ts types them.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { packageRoot } from './package-root.js';
import type { AddonFilesModule, DiscoveryModule, ElfModule } from './script-types.js';

export type { AddonManifest, ElfDynamic, LibTorch } from './script-types.js';

async function load<T>(name: string): Promise<T> {
  return (await import(pathToFileURL(join(packageRoot, 'scripts', name)).href)) as T;
}

/** scripts/libtorch.mjs. */
export const discovery = await load<DiscoveryModule>('libtorch.mjs');
/** scripts/elf.mjs. */
export const elf = await load<ElfModule>('elf.mjs');
/** scripts/addon-files.mjs. */
export const addonFiles = await load<AddonFilesModule>('addon-files.mjs');

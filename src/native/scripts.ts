/**
 * The build scripts the loader shares with the install and build steps: LibTorch discovery
 * (scripts/libtorch.mjs, the one place that knows where LibTorch may be) and the addon files'
 * layout and manifest (scripts/addon-files.mjs, with the ELF reader scripts/elf.mjs). They are plain ES modules because they run before
 * TypeScript is compiled; scripts/ ships in the package, and their .d.mts files type them here.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import type * as AddonFiles from '../../scripts/addon-files.mjs';
import type * as Elf from '../../scripts/elf.mjs';
import type * as Discovery from '../../scripts/libtorch.mjs';
import { packageRoot } from './package-root.js';

export type { AddonManifest } from '../../scripts/addon-files.mjs';
export type { LibTorch } from '../../scripts/libtorch.mjs';

async function load<T>(name: string): Promise<T> {
  return (await import(pathToFileURL(join(packageRoot, 'scripts', name)).href)) as T;
}

/** scripts/libtorch.mjs. */
export const discovery = await load<typeof Discovery>('libtorch.mjs');
/** scripts/elf.mjs. */
export const elf = await load<typeof Elf>('elf.mjs');
/** scripts/addon-files.mjs. */
export const addonFiles = await load<typeof AddonFiles>('addon-files.mjs');

/**
 * The build scripts the loader shares with the install and build steps: LibTorch discovery
 * (scripts/libtorch.mjs, the one place that knows where LibTorch may be), the addon files' layout
 * and manifest (scripts/addon-files.mjs) and the ELF reader (scripts/elf.mjs). They are plain ES
 * modules because they run before TypeScript is compiled; scripts/ ships in the package, and
 * src/native/script-types.ts types them.
 *
 * They are loaded with require(), synchronously (Node loads an ES module without top-level await
 * that way since 20.19 and 22.12, the versions package.json's `engines` names): a top-level
 * `await import()` here would make `require('ichnet')` fail with ERR_REQUIRE_ASYNC_MODULE.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { packageRoot } from './package-root.js';
import type { AddonFilesModule, DiscoveryModule, ElfModule } from './script-types.js';

export type { AddonManifest, ElfDynamic, LibTorch } from './script-types.js';

const requireScript = createRequire(import.meta.url);

function load<T>(name: string): T {
  return requireScript(join(packageRoot, 'scripts', name)) as T;
}

/** scripts/libtorch.mjs. */
export const discovery = load<DiscoveryModule>('libtorch.mjs');
/** scripts/elf.mjs. */
export const elf = load<ElfModule>('elf.mjs');
/** scripts/addon-files.mjs. */
export const addonFiles = load<AddonFilesModule>('addon-files.mjs');

// Where this package is installed: the nearest directory above this file holding ichnet's
// package.json. The install and build steps run this file from scripts/; the loader runs tsc's
// copy of it from dist/scripts/ — so the root is looked up, not assumed one level up.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * @param {string} start
 * @returns {string}
 */
function findRoot(start) {
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && /** @type {{ name?: unknown }} */ (JSON.parse(readFileSync(file, 'utf8'))).name === 'ichnet') return dir;
    if (dirname(dir) === dir) throw new Error(`ichnet: no package.json of ichnet in ${start} or above`);
  }
}

/** The package root: holds package.json, presets/, scripts/, build/ and prebuilds/. */
export const packageRoot = findRoot(dirname(fileURLToPath(import.meta.url)));

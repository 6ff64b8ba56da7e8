/** Where this package is installed. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (holds package.json, scripts/, build/ and prebuilds/); this file is dist/src/native/. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

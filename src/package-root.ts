/**
 * Where this package is installed: the directory that holds package.json, presets/, scripts/,
 * build/ and prebuilds/. The addon loader finds binaries and build scripts from it, config loading
 * finds the shipped presets. This file is compiled to dist/src/.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (two levels above this compiled file, dist/src/package-root.js). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

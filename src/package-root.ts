/**
 * Where this package is installed: the directory that holds package.json, presets/, scripts/,
 * build/ and prebuilds/. The addon loader finds binaries and build scripts from it, config loading
 * finds the shipped presets. The one lookup is scripts/package-root.mjs's, shared with the install
 * and build steps.
 */
export { packageRoot } from '../scripts/package-root.mjs';

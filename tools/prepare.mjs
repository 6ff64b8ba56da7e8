#!/usr/bin/env node
// npm's `prepare` (run in a checkout: `npm ci`, and on every install of a project that depends on
// the checkout by path or git): compiles the TypeScript unless dist/ is current — a stamp written
// after the last successful compile is newer than every source (src/, test/, scripts/,
// tsconfig.json, package.json). `npm test` and `npx tsc` always compile.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const STAMP = join('dist', '.compiled');

/** The newest modification time (ms) among the compiler's inputs under `root`. */
function newestInput(root) {
  let newest = Math.max(statSync(join(root, 'tsconfig.json')).mtimeMs, statSync(join(root, 'package.json')).mtimeMs);
  // scripts/*.mjs too: tsc checks them and compiles them to dist/scripts/, where the loader imports them.
  for (const dir of ['src', 'test', 'scripts']) {
    if (!existsSync(join(root, dir))) continue;
    for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && (entry.name.endsWith('.ts') || entry.name.endsWith('.mjs'))) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

/** Why `root` needs compiling, or null when dist/ is current. */
export function compileNeeded(root) {
  const stamp = join(root, STAMP);
  if (!existsSync(stamp)) return 'not compiled yet';
  return newestInput(root) > statSync(stamp).mtimeMs ? 'a source changed' : null;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const why = compileNeeded(root);
  if (why === null) {
    console.log('ichnet: dist/ is current; not compiling');
  } else {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
    writeFileSync(join(root, STAMP), `${new Date().toISOString()}\n`);
  }
}

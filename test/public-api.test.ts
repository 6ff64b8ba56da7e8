/**
 * The public API is what the README says: every name README.md's "Everything the package exports"
 * lists is importable from 'ichnet' as a user imports it (a child process resolving the package by
 * name), and the package declares nothing the README does not list. The declared exports come from
 * the TypeScript compiler reading the published dist/src/index.d.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

import { packageRoot } from '../src/package-root.js';
import { tempDir } from './helpers/temp-dir.js';

/** The backquoted names of the README section "Everything the package exports". */
function readmeNames(): string[] {
  const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
  const section = /^### Everything the package exports\n([\s\S]*?)^#/m.exec(readme)?.[1];
  assert.ok(section, 'README.md has no section "Everything the package exports"');
  return [...section.matchAll(/`([A-Za-z_][\w]*)`/g)].map((m) => m[1]!).sort();
}

/** What dist/src/index.d.ts exports, values and types, as the compiler sees it. */
function declaredNames(): { all: string[]; values: string[] } {
  const file = join(packageRoot, 'dist', 'src', 'index.d.ts');
  const program = ts.createProgram([file], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true });
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
  const exports = checker.getExportsOfModule(symbol);
  const isValue = (s: ts.Symbol) => ((s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s).flags & ts.SymbolFlags.Value) !== 0;
  return { all: exports.map((s) => s.name).sort(), values: exports.filter(isValue).map((s) => s.name).sort() };
}

describe('public API', () => {
  const listed = readmeNames();
  const declared = declaredNames();

  it('the README lists exactly what the package declares', () => {
    assert.deepEqual(listed, declared.all);
  });

  it("every listed value imports from 'ichnet' by package name", () => {
    const home = tempDir('ichnet-public-');
    mkdirSync(join(home, 'node_modules'));
    symlinkSync(packageRoot, join(home, 'node_modules', 'ichnet'));
    const code = "const m = await import('ichnet'); console.log(JSON.stringify(Object.keys(m).filter((k) => m[k] !== undefined).sort()));";
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: home, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout) as string[], declared.values);
    assert.ok(declared.values.includes('clahe') && declared.values.includes('metrics'));
  });
});

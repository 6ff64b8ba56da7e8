/**
 * The documentation as a user reads it on hover: every export of `ichnet` and `ichnet/metrics` has
 * a doc comment, and every `@example` in the sources compiles in a strict consumer project and
 * runs there (in an empty working directory) without failing; a line ending in `// <value>` after
 * a `console.log` must print that value.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

import { packageRoot } from '../src/package-root.js';
import { tempDir } from './helpers/temp-dir.js';

interface Example {
  where: string;
  code: string;
}

/** Every `@example` block of the doc comments under `dir`: the comment lines after the tag, to the next tag or the end. */
function examples(dir: string): Example[] {
  const found: Example[] = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    for (const comment of readFileSync(file, 'utf8').matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
      const lines = (comment[1] as string).split('\n').map((l) => l.replace(/^\s*\* ?/, ''));
      let at = lines.findIndex((l) => l.startsWith('@example'));
      while (at >= 0) {
        const end = lines.findIndex((l, i) => i > at && l.startsWith('@'));
        const body = lines.slice(at + 1, end < 0 ? undefined : end).filter((l) => !l.startsWith('```'));
        found.push({ where: `${relative(packageRoot, file)} (${entry.name})`, code: `${body.join('\n').trim()}\n` });
        at = end < 0 ? -1 : lines.findIndex((l, i) => i >= end && l.startsWith('@example'));
      }
    }
  }
  return found;
}

/** Exports of `entry` (a declaration file) without a doc comment. */
function undocumented(program: ts.Program, entry: string): string[] {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const mod = source && checker.getSymbolAtLocation(source);
  if (!mod) throw new Error(`${entry}: not a module`);
  return checker
    .getExportsOfModule(mod)
    .filter((s) => {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      return ts.displayPartsToString(target.getDocumentationComment(checker)).trim() === '';
    })
    .map((s) => s.name);
}

describe('documentation', () => {
  it('documents every export', () => {
    const entries = [join(packageRoot, 'dist', 'src', 'index.d.ts'), join(packageRoot, 'dist', 'src', 'metrics', 'index.d.ts')];
    const program = ts.createProgram(entries, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, types: ['node'] });
    for (const entry of entries) assert.deepEqual(undocumented(program, entry), [], `${relative(packageRoot, entry)}: exports without a doc comment`);
  });

  const found = examples(join(packageRoot, 'src'));

  it('compiles and runs every @example', { timeout: 600_000 }, () => {
    assert.ok(found.length >= 4, `${found.length} examples found`);
    const dir = tempDir('ichnet-examples-');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'examples', private: true, type: 'module' }));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(packageRoot, join(dir, 'node_modules', 'ichnet'));
    const files = found.map((example, i) => {
      const name = `example-${i}.ts`;
      writeFileSync(join(dir, name), `// ${example.where}\n${example.code}export {};\n`);
      return name;
    });
    const compilerOptions = { strict: true, module: 'nodenext', target: 'es2022', skipLibCheck: false, outDir: 'out', types: ['node'], typeRoots: [join(packageRoot, 'node_modules', '@types')] };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
    const tsc = spawnSync(process.execPath, [join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(tsc.status, 0, `the examples do not compile:\n${tsc.stdout}\n${tsc.stderr}`);

    found.forEach((example, i) => {
      const cwd = join(dir, `run-${i}`);
      mkdirSync(cwd);
      const r = spawnSync(process.execPath, [join(dir, 'out', `example-${i}.js`)], { cwd, encoding: 'utf8', timeout: 300_000 });
      assert.equal(r.status, 0, `${example.where} failed:\n${example.code}\n${r.stdout}\n${r.stderr}`);
      const expected = [...example.code.matchAll(/^\s*console\.log\((.*)\); \/\/ (.+)$/gm)].map((m) => (m[2] as string).replaceAll('\\n', '\n'));
      const printed = r.stdout.trim();
      for (const value of expected) assert.ok(printed.includes(value), `${example.where}: expected the output to include ${JSON.stringify(value)}, got:\n${printed}`);
    });
  });
});

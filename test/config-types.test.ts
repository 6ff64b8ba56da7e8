/**
 * Config keys documented on hover, from one source: every key of the experiment and session
 * schemas has a description, src/config/types.generated.ts is what tools/config-types.mjs makes of
 * the schemas now, and in the published declarations each key of `ExperimentConfig`,
 * `ExperimentConfigInput`, `SessionConfig` and `SessionConfigInput` carries its schema's
 * description as its doc comment.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { z } from 'zod';

import { experimentSchema, sessionSchema } from '../src/index.js';
import { packageRoot } from '../src/package-root.js';

interface JsonSchema {
  description?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema | JsonSchema[];
  anyOf?: JsonSchema[];
}

/** Every key path of `schema` with its description (nested objects and list items included). */
function keys(schema: JsonSchema, path: string[] = []): Array<{ path: string[]; description: string | undefined }> {
  const out: Array<{ path: string[]; description: string | undefined }> = [];
  for (const [key, value] of Object.entries(schema.properties ?? {})) {
    out.push({ path: [...path, key], description: value.description });
    out.push(...keys(value, [...path, key]));
  }
  for (const option of schema.anyOf ?? []) out.push(...keys(option, path));
  if (schema.items && !Array.isArray(schema.items)) out.push(...keys(schema.items, [...path, '[]']));
  return out;
}

const cases = [
  ['ExperimentConfig', experimentSchema, 'output'],
  ['ExperimentConfigInput', experimentSchema, 'input'],
  ['SessionConfig', sessionSchema, 'output'],
  ['SessionConfigInput', sessionSchema, 'input'],
] as const;

describe('config types', () => {
  it('describes every config key in the schemas', () => {
    for (const [name, schema, io] of cases) {
      const all = keys(z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema);
      assert.ok(all.length > 30, `${name}: ${all.length} keys`);
      assert.deepEqual(all.filter((k) => !k.description).map((k) => k.path.join('.')), [], `${name}: keys without a description`);
    }
  });

  it('has generated the types from the schemas as they are now', () => {
    const r = spawnSync(process.execPath, [join(packageRoot, 'tools', 'config-types.mjs'), '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it("shows each key's description as its doc comment in the published types", () => {
    const entry = join(packageRoot, 'dist', 'src', 'index.d.ts');
    const program = ts.createProgram([entry], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, types: ['node'] });
    const checker = program.getTypeChecker();
    const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry) as ts.SourceFile) as ts.Symbol);
    for (const [name, schema, io] of cases) {
      const symbol = exports.find((s) => s.name === name) as ts.Symbol;
      const root = checker.getDeclaredTypeOfSymbol(checker.getAliasedSymbol(symbol));
      let checked = 0;
      for (const { path, description } of keys(z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema)) {
        let type: ts.Type = root;
        let property: ts.Symbol | undefined;
        for (const key of path) {
          type = checker.getNonNullableType(type);
          if (key === '[]') {
            type = checker.getIndexTypeOfType(type, ts.IndexKind.Number) as ts.Type;
            continue;
          }
          property = checker.getPropertyOfType(type, key);
          assert.ok(property, `${name}.${path.join('.')}: no such property in the type`);
          type = checker.getTypeOfSymbol(property);
        }
        if (path.at(-1) === '[]') continue;
        const doc = ts.displayPartsToString(property?.getDocumentationComment(checker)).trim();
        assert.equal(doc, description, `${name}.${path.join('.')}`);
        checked++;
      }
      assert.ok(checked > 30, `${name}: ${checked} keys checked`);
    }
  });
});

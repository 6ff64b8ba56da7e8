/** Moved config keys: still read from their old places, with one DeprecationWarning. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { resolveSessionConfig, type SessionConfigInput } from '../src/index.js';
import { parseExperimentConfig } from '../src/config/experiment-schema.js';
import { stageConfig } from '../src/train/stages.js';

/** The DeprecationWarnings `fn` emits (warnings are delivered on a later tick). */
async function warningsOf(fn: () => void): Promise<string[]> {
  const seen: string[] = [];
  const listener = (w: Error & { code?: string }) => {
    if (w.name === 'DeprecationWarning') seen.push(`${w.code}: ${w.message}`);
  };
  process.on('warning', listener);
  try {
    fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

/** A config written with the old key, which the types no longer offer (JavaScript and YAML users still write it). */
const old = (config: object): SessionConfigInput => config as SessionConfigInput;

describe('deprecated config keys', () => {
  it('model.input_size is read as prep.input_size, with one warning per process', async () => {
    let config = resolveSessionConfig({});
    const first = await warningsOf(() => (config = resolveSessionConfig(old({ model: { input_size: 64 } }))));
    assert.deepEqual(first, ['ICHNET_INPUT_SIZE: ichnet: model.input_size is deprecated, use prep.input_size (read from the old key this time)']);
    assert.deepEqual(await warningsOf(() => resolveSessionConfig(old({ model: { input_size: 64 } }))), [], 'once per process');
    assert.equal(config.prep.input_size, 64);
    assert.equal('input_size' in config.model, false);
    assert.equal(resolveSessionConfig(old({ model: { input_size: 64 }, prep: { input_size: 96 } })).prep.input_size, 96, 'the new key wins');
    assert.equal(resolveSessionConfig({}).prep.input_size, 224);
    assert.throws(() => resolveSessionConfig({ prep: { input_size: 16 } }), /prep\.input_size/);
  });

  it('inside a stage too, where prep overrides now live', () => {
    const c = parseExperimentConfig({ stages: [{ name: 'small', epochs: 1, model: { input_size: 64 } }, { name: 'big', epochs: 1, prep: { input_size: 128 } }] }).data!;
    assert.equal(stageConfig(c, 0).config.prep.input_size, 64);
    assert.equal(stageConfig(c, 1).config.prep.input_size, 128);
    assert.equal(stageConfig(c, 1).config.prep.clahe.enabled, true, 'a stage changes only the keys it names');
  });
});

describe('deprecation warning text', () => {
  it('names the old and the new key', async () => {
    const { spawnSync } = await import('node:child_process');
    const index = new URL('../src/index.js', import.meta.url).href;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(index)}); m.resolveSessionConfig({ model: { input_size: 64 } });`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /\[ICHNET_INPUT_SIZE\] DeprecationWarning: ichnet: model\.input_size is deprecated, use prep\.input_size/);
  });
});

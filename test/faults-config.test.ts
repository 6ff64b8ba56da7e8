/**
 * Fault injection, configuration: files that are missing, empty, torn or of the wrong shape, and
 * `--set` paths that lead nowhere. Each is an error naming the file or key; the CLI exits 1.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadExperimentConfig } from '../src/index.js';
import { packageRoot } from '../src/package-root.js';
import { tinyExperiment } from './helpers/tiny.js';
import { tempDir } from './helpers/temp-dir.js';

const tmp = tempDir('ichnet-faults-config-');
const file = (name: string, text: string) => {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
};

describe('config faults', () => {
  it('a missing, torn or list-shaped config file is an error naming it', async () => {
    await assert.rejects(loadExperimentConfig({ config: join(tmp, 'missing.yaml') }), /missing\.yaml: cannot read the config \(ENOENT/);
    const torn = file('torn.yaml', 'model:\n  width: 0.5\n\tlabel_rnn: gru\n');
    await assert.rejects(loadExperimentConfig({ config: torn }), /torn\.yaml: not valid YAML: .* at line 3/);
    const cut = file('cut.json', '{"model": {"width": 0.5');
    await assert.rejects(loadExperimentConfig({ config: cut }), /cut\.json: not valid/);
    const list = file('list.yaml', '- 1\n- 2\n');
    await assert.rejects(loadExperimentConfig({ config: list }), /list\.yaml: expected a mapping of settings at the top level/);
  });

  it('--set paths that lead nowhere name the path', async () => {
    await assert.rejects(loadExperimentConfig({ preset: 'quickstart', set: ['model.width.x=1'] }), /--set model\.width\.x=1: 'model\.width' is not a section/);
    await assert.rejects(loadExperimentConfig({ set: ['=3'] }), /--set =3: expected key=value/);
    await assert.rejects(loadExperimentConfig({ preset: 'quickstart', set: ['stages.7.epochs=1'] }), /'stages\.7' does not exist \(the list has 2 entries/);
    await assert.rejects(loadExperimentConfig({ set: ['data.on_error=ignore'] }), /config\.data\.on_error: Invalid option: expected one of "error"\|"skip"/);
  });

  it("precision 'fp16' on the CPU stops the CLI with CONFIG_INVALID and the fix, instead of training in fp32 under an fp16 label", () => {
    const config = file('fp16.json', JSON.stringify(tinyExperiment(join(tmp, 'data'), join(tmp, 'runs'), { synthetic: { patients: 4, slices: [2, 2], size: 32, format: 'png', seed: 1 }, precision: 'fp16' })));
    const r = spawnSync(process.execPath, [join(packageRoot, 'dist', 'src', 'cli', 'main.js'), 'train', '--config', config], { encoding: 'utf8' });
    assert.equal(r.status, 3, r.stderr); // CONFIG_INVALID
    assert.match(r.stderr, /precision: 'fp16' runs on CUDA only, and device 'cpu' is the CPU here; use 'bf16', 'fp32' or 'auto'/);
  });
});

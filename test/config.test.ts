/** Experiment configs: presets, overrides, error messages, and the CLI's help and exit codes. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadExperimentConfig, presetNames } from '../src/index.js';
import { packageRoot } from '../src/native/addon.js';

const cli = join(packageRoot, 'dist', 'src', 'cli', 'main.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const tmp = mkdtempSync(join(tmpdir(), 'ichnet-config-'));

describe('experiment config', () => {
  it('ships valid quickstart and seed presets', async () => {
    assert.deepEqual(presetNames(), ['quickstart', 'seed']);
    const quick = await loadExperimentConfig({ preset: 'quickstart' });
    assert.equal(quick.data.format, 'synthetic');
    assert.equal(quick.model.input_size, 96);
    assert.equal(quick.synthetic.prevalence?.sah, 0.3);
    const seed = await loadExperimentConfig({ preset: 'seed' });
    assert.deepEqual([seed.model.backbone, seed.model.input_size, seed.model.label_rnn, seed.model.slice_rnn], ['vgg16', 224, 'lstm', 'gru']);
    assert.deepEqual(seed.stages.map((s) => [s.name, s.model?.label_rnn, s.optim?.lr]), [
      ['cnn', 'none', 1e-4],
      ['cnn-lstm-gru', undefined, 1e-5],
    ]);
    assert.equal(seed.prep.clahe.enabled, true);
  });

  it('applies --set overrides as YAML values, in order', async () => {
    const c = await loadExperimentConfig({ preset: 'quickstart', set: ['optim.lr=3e-4', 'model.label_rnn=none', 'prep.clahe.tiles=[4, 6]', 'train.epochs=2', 'train.epochs=3'] });
    assert.equal(c.optim.lr, 3e-4);
    assert.equal(c.model.label_rnn, 'none');
    assert.deepEqual(c.prep.clahe.tiles, [4, 6]);
    assert.equal(c.train.epochs, 3);
  });

  it('names the bad key and the allowed values', async () => {
    await assert.rejects(loadExperimentConfig({ set: ['model.slice_rnn=transformer'] }), /config\.model\.slice_rnn: Invalid option: expected one of "lstm"\|"gru"\|"none"/);
    await assert.rejects(loadExperimentConfig({ set: ['optim.lr=fast'] }), /config\.optim\.lr: Invalid input: expected number, received string/);
    await assert.rejects(loadExperimentConfig({ set: ['trian.epochs=2'] }), /config: Unrecognized key: "trian"/);
    await assert.rejects(loadExperimentConfig({ preset: 'nope' }), /unknown preset 'nope'; presets: quickstart, seed/);
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, 'model:\n  width: [1\n');
    await assert.rejects(loadExperimentConfig({ config: file }), new RegExp(`${file}: not valid YAML`));
  });

  it('reads JSON and YAML files', async () => {
    const json = join(tmp, 'c.json');
    writeFileSync(json, JSON.stringify({ model: { width: 0.5 } }));
    assert.equal((await loadExperimentConfig({ config: json })).model.width, 0.5);
    const yaml = join(tmp, 'c.yaml');
    writeFileSync(yaml, 'train:\n  epochs: 7\n');
    assert.equal((await loadExperimentConfig({ config: yaml })).train.epochs, 7);
  });
});

describe('command line', () => {
  it('--help documents every command and the train options', () => {
    const top = run(['--help']);
    assert.equal(top.status, 0);
    for (const cmd of ['train', 'evaluate', 'predict', 'synth', 'doctor']) assert.match(top.stdout, new RegExp(`ichnet ${cmd}`));
    const train = run(['train', '--help']);
    for (const opt of ['--config', '--preset', '--data', '--out', '--set', '--resume']) assert.match(train.stdout, new RegExp(opt));
    const evaluate = run(['evaluate', '--help']);
    for (const opt of ['--checkpoint', '--data', '--predictions', '--labels', '--json']) assert.match(evaluate.stdout, new RegExp(opt));
    const predict = run(['predict', '--help']);
    for (const opt of ['--checkpoint', '--data', '--out', '--format']) assert.match(predict.stdout, new RegExp(opt));
  });

  it('exits 2 on usage errors and 1 on bad configs, with the reason', () => {
    const usage = run(['trian']);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /Unknown argument: trian/);
    const missing = run(['predict', '--data', 'x']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /Missing required arguments: checkpoint, out/);
    const bad = run(['train', '--set', 'model.backbone=resnet']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /config\.model\.backbone: Invalid option: expected one of "vgg16"\|"vgg16_bn"/);
  });
});

/** Experiment configs: presets, overrides, error messages, and the CLI's help and exit codes. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadExperimentConfig, presetNames } from '../src/index.js';
import { packageRoot } from '../src/package-root.js';
import { stageConfig } from '../src/train/stages.js';
import { tempDir } from './helpers/temp-dir.js';

const cli = join(packageRoot, 'dist', 'src', 'cli', 'main.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const tmp = tempDir('ichnet-config-');

describe('experiment config', () => {
  it('ships valid quickstart and seed presets', async () => {
    assert.deepEqual(presetNames(), ['quickstart', 'seed']);
    const quick = await loadExperimentConfig({ preset: 'quickstart' });
    assert.equal(quick.data.format, 'synthetic');
    assert.equal(quick.prep.input_size, 96);
    assert.equal(quick.synthetic.prevalence?.sah, 0.3);
    // The seed's two-stage recipe at small scale: the CNN alone, then the whole model.
    assert.deepEqual([quick.model.label_rnn, quick.model.slice_rnn], ['lstm', 'gru']);
    assert.deepEqual(quick.stages.map((s) => [s.name, s.epochs, s.model?.label_rnn, s.model?.slice_rnn, s.optim?.backbone_lr_mult]), [
      ['cnn', 10, 'none', 'none', undefined],
      ['cnn-lstm-gru', 6, undefined, undefined, 0.1],
    ]);
    const seed = await loadExperimentConfig({ preset: 'seed' });
    assert.deepEqual([seed.model.backbone, seed.prep.input_size, seed.model.label_rnn, seed.model.slice_rnn], ['vgg16', 224, 'lstm', 'gru']);
    assert.deepEqual(seed.stages.map((s) => [s.name, s.model?.label_rnn, s.optim?.lr]), [
      ['cnn', 'none', 1e-4],
      ['cnn-lstm-gru', undefined, 1e-5],
    ]);
    assert.equal(seed.prep.clahe.enabled, true);
  });

  it('a stage changes only the keys it names, also inside nested sections', async () => {
    const file = join(tmp, 'stages.yaml');
    writeFileSync(
      file,
      [
        'model: { backbone: vgg16_bn, width: 0.25, input_size: 96, label_hidden: 32 }',
        'optim: { lr: 1.0e-3, weight_decay: 0.01 }',
        'train: { max_slices: 24, lr_schedule: { kind: cosine, warmup_epochs: 0.5 } }',
        'stages:',
        '  - { name: cnn, epochs: 2, model: { label_rnn: none, slice_rnn: none } }',
        '  - { name: full, epochs: 1, optim: { lr: 3.0e-4 }, train: { lr_schedule: { kind: constant } } }',
      ].join('\n'),
    );
    const c = await loadExperimentConfig({ config: file });
    assert.deepEqual(c.stages[0]!.model, { label_rnn: 'none', slice_rnn: 'none' }, 'no defaults filled into a stage');
    const cnn = stageConfig(c, 0).config;
    assert.deepEqual(cnn.model, { ...c.model, label_rnn: 'none', slice_rnn: 'none' });
    assert.equal(cnn.model.width, 0.25);
    assert.equal(cnn.prep.input_size, 96);
    const full = stageConfig(c, 1).config;
    assert.deepEqual(full.model, c.model);
    assert.deepEqual(full.optim, { ...c.optim, lr: 3e-4 });
    assert.equal(full.optim.weight_decay, 0.01);
    assert.deepEqual(full.train.lr_schedule, { ...c.train.lr_schedule, kind: 'constant' });
    assert.equal(full.train.lr_schedule.warmup_epochs, 0.5);
    assert.equal(full.train.max_slices, 24);
    await assert.rejects(
      loadExperimentConfig({ set: ['stages=[{name: a, epochs: 1, model: {width: fat}}]'] }),
      /config\.stages\.0\.model\.width: Invalid input: expected number/,
    );
  });

  it('applies --set overrides as YAML values, in order', async () => {
    const c = await loadExperimentConfig({ preset: 'quickstart', set: ['optim.lr=3e-4', 'model.label_rnn=none', 'prep.clahe.tiles=[4, 6]', 'stages=[]', 'train.epochs=2', 'train.epochs=3'] });
    assert.equal(c.optim.lr, 3e-4);
    assert.equal(c.model.label_rnn, 'none');
    assert.deepEqual(c.prep.clahe.tiles, [4, 6]);
    assert.deepEqual(c.stages, []);
    assert.equal(c.train.epochs, 3);
  });

  it('sets a stage’s keys by index, and refuses train.epochs where stages decide', async () => {
    const c = await loadExperimentConfig({ preset: 'quickstart', set: ['stages.0.epochs=2', 'stages.1.optim.lr=5e-4'] });
    assert.deepEqual(c.stages.map((s) => [s.name, s.epochs, s.optim?.lr, s.optim?.backbone_lr_mult]), [
      ['cnn', 2, undefined, undefined],
      ['cnn-lstm-gru', 6, 5e-4, 0.1],
    ]);
    await assert.rejects(
      loadExperimentConfig({ preset: 'quickstart', set: ['train.epochs=3'] }),
      /--set train\.epochs=3: preset quickstart trains in stages, so train\.epochs is not used; set stages\.0\.epochs=10 \(cnn\), stages\.1\.epochs=6 \(cnn-lstm-gru\), or stages=\[\] to train in one stage/,
    );
    const seed = await loadExperimentConfig({ preset: 'seed', set: ['prep.clahe.tiles.1=4'] }); // a list of numbers, too
    assert.deepEqual(seed.prep.clahe.tiles, [8, 4]);
    await assert.rejects(loadExperimentConfig({ preset: 'quickstart', set: ['stages.2.epochs=1'] }), /--set stages\.2\.epochs=1: 'stages\.2' does not exist \(the list has 2 entries, numbered from 0\)/);
    await assert.rejects(loadExperimentConfig({ preset: 'quickstart', set: ['stages.x.epochs=1'] }), /'stages\.x' does not exist/);
    await assert.rejects(loadExperimentConfig({ preset: 'quickstart', set: ['model.width.x=1'] }), /'model\.width' is not a section/);
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

  it('exits 2 on usage errors and 3 on bad configs, with the reason', () => {
    const usage = run(['trian']);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /Unknown argument: trian/);
    const missing = run(['predict', '--data', 'x']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /Missing required arguments: checkpoint, out/);
    const bad = run(['train', '--set', 'model.backbone=resnet']);
    assert.equal(bad.status, 3);
    assert.match(bad.stderr, /config\.model\.backbone: Invalid option: expected one of "vgg16"\|"vgg16_bn"/);
  });
});

#!/usr/bin/env node
/**
 * The `ichnet` command. Exit codes: 0 success; a failure ends with its IchnetError code's exit
 * code (src/errors/ichnet-error.ts: 2 a usage error, 3 an invalid config, …, 130 interrupted with
 * a resumable checkpoint), and with 1 for an error ichnet did not classify.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';

import { presetNames } from '../config/load.js';
import { ERROR_CODES, exitCodeOf } from '../errors/ichnet-error.js';
import { doctor } from './doctor.js';
import { evaluateCommand } from './evaluate.js';
import { explainCommand } from './explain.js';
import type { InputArgs } from './input.js';
import { PREDICT_FORMATS, predictCommand } from './predict.js';
import { synthCommand } from './synth.js';
import { trainCommand } from './train.js';

/**
 * The input options of `predict` and `explain`: a dataset folder or a DICOMweb server;
 * `studyDefault` says what is fetched without `--study`.
 */
function inputOptions<T>(y: Argv<T>, studyDefault: string) {
  return y
    .option('data', { type: 'string', describe: 'dataset directory or any folder tree of DICOM files' })
    .option('dicomweb', { type: 'string', describe: 'DICOMweb base URL (http:// or https://), e.g. http://localhost:8042/dicom-web' })
    .option('study', { type: 'string', array: true, describe: `Study Instance UID to fetch (repeatable; default: ${studyDefault})` })
    .option('qido', { type: 'string', array: true, describe: 'QIDO-RS study search filter Keyword=value (repeatable), e.g. StudyDate=20260101-' })
    .option('header', { type: 'string', array: true, describe: "HTTP header for the DICOMweb server (repeatable), e.g. 'Authorization: Basic …'" })
    .option('download-dir', { type: 'string', describe: 'keep the fetched DICOM files here (default: a temporary folder, removed)' })
    .conflicts('data', 'dicomweb');
}

/** The input options of parsed arguments. */
function inputArgs(argv: { data?: string; dicomweb?: string; study?: (string | number)[]; qido?: (string | number)[]; header?: (string | number)[]; downloadDir?: string }): InputArgs {
  return {
    data: argv.data,
    dicomweb: argv.dicomweb,
    study: argv.study?.map(String),
    qido: argv.qido?.map(String),
    header: argv.header?.map(String),
    downloadDir: argv.downloadDir,
  };
}

/** Runs a command, turning a thrown error into its message and its code's exit code. */
async function run(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (e) {
    console.error(`ichnet: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = exitCodeOf(e);
  }
}

await yargs(hideBin(process.argv))
  .scriptName('ichnet')
  .usage('$0 <command> [options]\n\nIntracranial hemorrhage classification on CT: train, evaluate and predict with a LibTorch core.')
  .command(
    'train',
    'Train a model (default: the quickstart preset on the built-in synthetic data)',
    (y) =>
      y
        .option('config', { type: 'string', describe: 'experiment config file (YAML or JSON)' })
        .option('preset', { type: 'string', describe: `a shipped preset: ${presetNames().join(', ')} (default quickstart)` })
        .option('data', { type: 'string', describe: 'dataset directory (or manifest CSV); sets data.root with format auto' })
        .option('out', { type: 'string', describe: 'parent directory of the run directory (default runs/)' })
        .option('set', { type: 'string', array: true, describe: 'override a setting, e.g. --set optim.lr=3e-4 --set model.label_rnn=none' })
        .option('resume', { type: 'string', describe: 'continue an interrupted run from its last checkpoint (a run directory)' })
        .option('nproc', { type: 'number', describe: 'data-parallel training with this many ranks on this machine (one per GPU; on the CPU, threads are shared among them)' })
        .conflicts('config', 'preset')
        .example('$0 train', 'quickstart preset on generated synthetic CT phantoms')
        .example('$0 train --preset seed --data ~/ich-data --set train.pretrained=vgg16-397923af.pth', 'the original recipe on the course data')
        .example('$0 train --resume runs/quickstart-20261125-170000', 'continue after Ctrl-C')
        .example('$0 train --nproc 4 --preset seed --data ~/ich-data', 'data-parallel on 4 GPUs of this machine'),
    (argv) => run(() => trainCommand({ config: argv.config, preset: argv.preset, data: argv.data, out: argv.out, set: argv.set?.map(String), resume: argv.resume, nproc: argv.nproc })),
  )
  .command(
    'evaluate',
    'Score a checkpoint on a labelled dataset, or a predictions CSV against a labels CSV',
    (y) =>
      y
        .option('checkpoint', { type: 'string', describe: 'checkpoint or run directory' })
        .option('data', { type: 'string', describe: 'labelled dataset directory' })
        .option('predictions', { type: 'string', describe: 'CSV: patient,slice,<one probability column per label>' })
        .option('labels', { type: 'string', describe: 'CSV: patient,slice,<one 0/1 column per label>' })
        .option('device', { type: 'string', describe: 'auto, cpu, cuda, cuda:<i> (default: as trained)' })
        .option('json', { type: 'boolean', default: false, describe: 'print the metrics as JSON' })
        .example('$0 evaluate --checkpoint runs/quickstart-… --data data/synthetic', '')
        .example('$0 evaluate --predictions preds.csv --labels truth.csv --json', ''),
    (argv) => run(() => evaluateCommand({ checkpoint: argv.checkpoint, data: argv.data, predictions: argv.predictions, labels: argv.labels, json: argv.json, device: argv.device })),
  )
  .command(
    'predict',
    'Predict per-slice and per-patient probabilities for a dataset, a DICOM folder tree or DICOMweb studies (labels not needed)',
    (y) =>
      inputOptions(y, 'a QIDO-RS search for CT studies')
        .option('checkpoint', { type: 'string', demandOption: true, describe: 'checkpoint or run directory' })
        .option('out', { type: 'string', demandOption: true, describe: 'output CSV (per slice; <out>.patients.csv per patient)' })
        .option('format', {
          choices: PREDICT_FORMATS,
          default: 'csv' as const,
          describe: "course: the course's Kaggle submission, <ID>_<label>,<0|1>; rsna: RSNA's, ID_<image>_<subtype>,<probability> for the six subtypes",
        })
        .option('summary', { type: 'string', describe: 'per-study JSON summary (default <out>.summary.json)' })
        .option('device', { type: 'string', describe: 'auto, cpu, cuda, cuda:<i> (default: as trained)' })
        .example('$0 predict --checkpoint runs/quickstart-… --data ~/export --out preds.csv', 'any folder tree of DICOM files')
        .example("$0 predict --checkpoint runs/… --dicomweb https://pacs/dicom-web --study 1.2.3 --header 'Authorization: Bearer …' --out preds.csv", 'studies from a PACS'),
    (argv) =>
      run(() =>
        predictCommand({ ...inputArgs(argv), checkpoint: argv.checkpoint, out: argv.out, format: argv.format, summary: argv.summary, device: argv.device }),
      ),
  )
  .command(
    'explain',
    'Grad-CAM per label and slice for one patient: PNG overlays and the raw maps',
    (y) =>
      inputOptions(y, 'the study --patient names, or with --qido a search')
        .option('checkpoint', { type: 'string', demandOption: true, describe: 'checkpoint or run directory' })
        .option('patient', { type: 'string', demandOption: true, describe: 'patient (series) id, or a Study Instance UID' })
        .option('out', { type: 'string', demandOption: true, describe: 'output folder' })
        .option('overlays', { choices: ['positive', 'all'] as const, default: 'positive' as const, describe: "positive: slices at or above each label's threshold and each label's top slice; all: every slice and label" })
        .option('device', { type: 'string', describe: 'auto, cpu, cuda, cuda:<i> (default: as trained)' })
        .example('$0 explain --checkpoint runs/… --data data/synthetic --patient ID_1f53a7_00007 --out explain/', 'a patient of the quickstart data'),
    (argv) => run(() => explainCommand({ ...inputArgs(argv), checkpoint: argv.checkpoint, patient: argv.patient, out: argv.out, overlays: argv.overlays, device: argv.device })),
  )
  .command(
    'synth',
    'Write synthetic CT phantoms with the five hemorrhage types (the built-in dataset)',
    (y) =>
      y
        .option('out', { type: 'string', demandOption: true, describe: 'output directory (folders layout: train.csv + train/<patient>/)' })
        .option('seed', { type: 'number', default: 0 })
        .option('patients', { type: 'number', default: 200 })
        .option('slices', { type: 'number', array: true, default: [16, 32], describe: 'slices per patient: MIN MAX' })
        .option('size', { type: 'number', default: 128, describe: 'rows = columns' })
        .option('format', { choices: ['dicom', 'png', 'both'] as const, default: 'dicom' as const }),
    (argv) => run(() => synthCommand({ out: argv.out, seed: argv.seed, patients: argv.patients, slices: argv.slices, size: argv.size, format: argv.format })),
  )
  .command(
    'doctor',
    'Show which native addon loaded, from where, and the LibTorch / CUDA / cuDNN it runs on',
    (y) => y.option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
    (argv) => run(() => doctor({ json: argv.json })),
  )
  .demandCommand(1, 'Name a command (see --help).')
  .strict()
  .help()
  .fail((message, error, y) => {
    if (error) throw error;
    y.showHelp();
    console.error(`\nichnet: ${message}`);
    process.exit(ERROR_CODES.USAGE.exitCode);
  })
  .parseAsync();

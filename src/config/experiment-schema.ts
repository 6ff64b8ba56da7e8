/**
 * The experiment configuration: data, model, preprocessing, augmentation, loss, optimizer and the
 * training recipe, with defaults for everything. YAML or JSON files, presets and `--set key=value`
 * overrides all resolve through this schema; errors name the key and the allowed values.
 */
import { z } from 'zod';

import { augmentSchema } from './augment-schema.js';
import { dataSchema } from './data-schema.js';
import { migrateExperimentConfig } from './deprecated.js';
import { LOSS, lossSchema, MODEL, modelSchema, OPTIM, optimSchema, PREP, prepSchema, sessionSchema } from './session-schema.js';

export const syntheticSchema = z.strictObject({
  patients: z.number().int().min(1).default(200).describe('patients generated when the synthetic set is missing'),
  slices: z.tuple([z.number().int().min(1), z.number().int().min(1)]).default([16, 32]).describe('slices per patient [min, max]'),
  size: z.number().int().min(16).default(128).describe('slice rows = columns'),
  seed: z.number().int().min(0).default(0).describe('seed of the generated phantoms'),
  format: z.enum(['dicom', 'png', 'both']).default('dicom').describe('file format of the generated slices'),
  prevalence: z
    .record(z.string(), z.number().min(0).max(1))
    .optional()
    .describe('per-label probability that a patient has that lesion type (phantom defaults otherwise)'),
  noise: z.tuple([z.number().min(0), z.number().min(0)]).optional().describe('per-patient image noise sigma range in HU'),
});

const lrScheduleSchema = z.strictObject({
  kind: z.enum(['cosine', 'step', 'constant']).default('cosine').describe('after warm-up: cosine decay, step decay, or constant'),
  warmup_epochs: z.number().min(0).default(0).describe('linear warm-up from 0, in epochs (fractions allowed)'),
  min_lr: z.number().min(0).default(0).describe('cosine: the final learning rate'),
  step_epochs: z.number().int().min(1).default(10).describe('step: epochs between decays'),
  gamma: z.number().positive().default(0.1).describe('step: decay factor'),
});

const metricName = z.enum(['val_f2_micro', 'val_f2_macro', 'val_patient_f2_micro', 'val_auc_macro', 'val_loss']);

export const trainSchema = z.strictObject({
  epochs: z.number().int().min(1).default(10).describe('epochs of a run without stages'),
  patients_per_batch: z.number().int().min(1).default(2).describe('series per optimizer step'),
  max_slices: z.number().int().min(1).default(32).describe('training: a random contiguous window of at most this many slices per series'),
  eval_max_slices: z.number().int().min(1).default(64).describe('evaluation/prediction: longer series are chunked and stitched'),
  validation: z.number().gt(0).lt(1).default(0.1).describe('fraction of patients held out (split by patient, stratified)'),
  folds: z.number().int().min(2).optional().describe('k-fold cross-validation: train on all folds but `fold`'),
  fold: z.number().int().min(0).default(0).describe('with `folds`: the fold held out for validation, from 0'),
  lr_schedule: lrScheduleSchema.prefault({}).describe('the learning rate over the epochs'),
  early_stopping: z
    .strictObject({
      metric: metricName.default('val_f2_micro').describe('the metric early stopping watches (may differ from `monitor`)'),
      patience: z.number().int().min(0).default(0).describe('last stage: epochs without improvement of `metric` before stopping; 0 = off'),
    })
    .prefault({})
    .describe('stop the last stage when `metric` has not improved for `patience` epochs'),
  monitor: metricName.default('val_f2_micro').describe('the metric that picks the best checkpoint (last stage)'),
  tune_thresholds: z.boolean().default(true).describe('per-label F2-optimal thresholds on validation, stored with the checkpoint'),
  prefetch: z.number().int().min(1).default(2).describe('batches decoded ahead of the device'),
  overlap: z.boolean().default(true).describe("prepare batch k+1 (host preprocessing, a GPU's upload) on a second thread while step k runs; false: each step prepares its own"),
  log_every: z.number().int().min(1).default(10).describe('steps between metrics.jsonl lines'),
  report_samples: z.number().int().min(0).default(8).describe('sample slices shown in report.html'),
  pretrained: z.string().optional().describe('weights file loaded before training (e.g. torchvision vgg16 .pth)'),
});

export const distributedSchema = z.strictObject({
  backend: z.enum(['auto', 'gloo', 'nccl']).default('auto').describe("c10d backend: auto = NCCL on CUDA when the addon has it, else Gloo"),
  timeout: z.number().positive().default(60).describe('seconds: rendezvous, and how long a rank waits for a silent peer before failing'),
  lr_scaling: z.enum(['none', 'linear']).default('none').describe('linear: the learning rate times the number of ranks (the global batch grows with them)'),
  sync_bn: z.boolean().default(false).describe("BatchNorm batch statistics over every rank's slices (PyTorch's SyncBatchNorm): all-reduced in each training forward and backward; the running statistics are then equal on every rank without a broadcast"),
  broadcast_buffers: z.boolean().default(true).describe("rank 0's BatchNorm running statistics to every rank before each training step (with sync_bn they are equal already and not sent)"),
  bucket_cap_mb: z.number().int().positive().default(25).describe('gradient all-reduce bucket size in MiB'),
});

/** A schema with its defaults removed (also inside defaulted or prefaulted wrappers). */
function withoutDefault(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault ? withoutDefault(schema.unwrap() as z.ZodType) : schema;
}

/**
 * Overrides for an object schema: every key optional and without its default, recursively, so
 * that a stage's `model: { label_rnn: none }` changes that key alone. (`.partial()` keeps the
 * defaults: a stage that named one key silently reset every other key of the section.)
 */
function overridesOf<Shape extends z.ZodRawShape>(schema: z.ZodObject<Shape>) {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    const inner = withoutDefault(field as z.ZodType);
    const override = (inner instanceof z.ZodObject ? overridesOf(inner) : inner).optional();
    const description = (field as z.ZodType).description;
    shape[key] = description === undefined ? override : override.describe(description);
  }
  return z.strictObject(shape) as unknown as z.ZodObject<Overrides<Shape>>;
}

/** The type of `overridesOf(z.object(Shape))`: every key optional, defaults removed, recursively. */
type Overrides<Shape extends z.ZodRawShape> = { [K in keyof Shape]: z.ZodOptional<OverrideOf<Shape[K]>> };
type OverrideOf<T> =
  T extends z.ZodDefault<infer I> ? OverrideOf<I> : T extends z.ZodPrefault<infer I> ? OverrideOf<I> : T extends z.ZodObject<infer S> ? z.ZodObject<Overrides<S>> : T;

/**
 * One stage of a multi-stage recipe: overrides on top of the experiment config (only the keys a
 * stage names change). A later stage starts from the previous stage's final weights, matched by
 * name (so a CNN-only stage hands its backbone to a CNN → LSTM → GRU stage).
 */
export const stageSchema = z.strictObject({
  name: z.string().min(1).describe("the stage's name, as events and results report it"),
  epochs: z.number().int().min(1).describe('epochs of this stage'),
  model: overridesOf(modelSchema).optional().describe(`${MODEL}: the keys this stage changes`),
  prep: overridesOf(prepSchema).optional().describe(`${PREP}: the keys this stage changes`),
  optim: overridesOf(optimSchema).optional().describe(`${OPTIM}: the keys this stage changes`),
  train: overridesOf(trainSchema).optional().describe('the training recipe: the keys this stage changes (epochs: the stage\'s own)'),
});

const runtime = sessionSchema.pick({ device: true, threads: true, seed: true, precision: true, channels_last: true });

/** The whole experiment config (YAML/JSON files, presets and `--set` overrides resolve through it). */
export const experimentSchema = z
  .strictObject({
    name: z.string().regex(/^[\w.-]+$/, 'letters, digits, _ . - only').default('run').describe('the run name: run directories are <name>-<timestamp>'),
    data: dataSchema.prefault({}).describe('the data set: where it is, its layout and columns, what to do with bad input'),
    synthetic: syntheticSchema.prefault({}).describe('the built-in synthetic data set, generated when data.format is synthetic'),
    model: modelSchema.prefault({}).describe(MODEL),
    prep: prepSchema.prefault({}).describe(PREP),
    augment: augmentSchema.prefault({}).describe('training augmentations: probabilities, ranges and a schedule'),
    loss: lossSchema.prefault({}).describe(LOSS),
    optim: optimSchema.prefault({}).describe(OPTIM),
    train: trainSchema.prefault({}).describe('the training recipe: epochs, batches, validation, schedule, checkpoints'),
    stages: z.array(stageSchema).default([]).describe('a multi-stage recipe; empty = one stage with the settings above'),
    out: z.string().default('runs').describe('runs are written to <out>/<name>-<timestamp>/'),
    distributed: distributedSchema.prefault({}).describe('data-parallel training, when started with --nproc or torchrun'),
  })
  .extend(runtime.shape);

/**
 * Validates and completes an experiment config as written, keys that moved included (read from
 * their old places with a DeprecationWarning, src/config/deprecated.ts): every parse of a user's
 * experiment config goes through here.
 */
export function parseExperimentConfig(input: unknown): ReturnType<typeof experimentSchema.safeParse> {
  return experimentSchema.safeParse(migrateExperimentConfig(input));
}

// The types, every key documented: generated from the schema (src/config/config-types.ts checks them).
export type { ExperimentConfig, ExperimentConfigInput } from './types.generated.js';

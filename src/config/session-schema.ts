/**
 * The schema of a native session's configuration, with every default and every limit. The C++
 * addon requires each field and checks only what memory safety needs (native/binding/convert.h),
 * so these defaults and limits are the only ones.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';

import { IchnetError } from '../errors/ichnet-error.js';
import { migrateSessionConfig } from './deprecated.js';
import { COURSE_LABELS } from './labels.js';
import { CLAHE_CLIP_LIMIT, CLAHE_TILES, DEFAULT_WINDOWS, IMAGENET_MEAN, IMAGENET_STD } from './prep-constants.js';

const rnnKind = z.enum(['lstm', 'gru', 'none']);
const positiveInt = z.number().int().positive();
const triple = z.tuple([z.number(), z.number(), z.number()]);

/** The sections' descriptions, shared by the session and the experiment schemas. */
export const MODEL = 'the network: VGG16 per slice, then the label RNN and the slice RNN';
export const PREP = 'what turns a CT slice into the model input: windows, CLAHE, channels, normalisation';
export const LOSS = 'Asymmetric Loss (ASL) settings';
export const OPTIM = 'the optimizer and its learning rates';

export const modelSchema = z.strictObject({
  backbone: z.enum(['vgg16', 'vgg16_bn']).default('vgg16').describe('VGG16, or VGG16 with BatchNorm'),
  width: z.number().positive().max(4).default(1).describe('channel multiplier for every VGG16 stage (CPU presets use < 1)'),
  labels: z.array(z.string().min(1)).min(1).default([...COURSE_LABELS]).describe('label names, in output order'),
  label_rnn: rnnKind.default('lstm').describe('label RNN (DecoderBinaryRNN) kind'),
  label_hidden: positiveInt.default(256).describe('label RNN hidden size'),
  slice_rnn: rnnKind.default('gru').describe('slice RNN (SliceRNN) kind'),
  slice_hidden: positiveInt.default(256).describe('slice RNN hidden size'),
});

export const prepSchema = z.strictObject({
  windows: z
    .array(z.tuple([z.number(), z.number().positive()]))
    .refine((w) => w.length === 1 || w.length === 3, 'expected 1 or 3 windows')
    .default(DEFAULT_WINDOWS.map(([c, w]) => [c, w] as [number, number]))
    .describe('CT windows [center, width] in HU, one per channel'),
  input_size: z.number().int().min(32).default(224).describe("the model's input size in pixels (square): every slice is resampled to it; VGG16's five poolings need 32 or more"),
  mean: triple.default([...IMAGENET_MEAN]).describe('per-channel normalisation mean'),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([...IMAGENET_STD]).describe('per-channel normalisation standard deviation'),
  clahe: z
    .strictObject({
      enabled: z.boolean().default(true).describe('CLAHE on each channel before resampling (the seed recipe)'),
      clip_limit: z.number().min(0).default(CLAHE_CLIP_LIMIT).describe("OpenCV's clipLimit; 0 disables clipping"),
      tiles: z
        .tuple([z.number().int().positive(), z.number().int().positive()])
        .default([CLAHE_TILES, CLAHE_TILES])
        .describe("OpenCV's tileGridSize [columns, rows]"),
    })
    .prefault({})
    .describe('contrast-limited adaptive histogram equalisation, exactly as OpenCV computes it'),
  channels: z
    .enum(['windows', 'neighbors'])
    .default('windows')
    .describe('for 1-channel input: one CT window per channel, or slices s-1, s, s+1 under the first window'),
  where: z
    .enum(['auto', 'host', 'device'])
    .default('auto')
    .describe("where preprocessing runs: 'host' (CPU, slice by slice), 'device' (batched tensor operations on the session's device, CLAHE included) or 'auto' (device on CUDA, host on the CPU)"),
  crop: z
    .enum(['none', 'head'])
    .default('none')
    .describe("what the resampling brings to the input size: 'none' (the whole slice) or 'head' (a square around the head of each series: the pixels above -500 HU over its slices, plus a margin of 1/16 of the box; the whole slice when there are none; needs HU input)"),
});

export const lossSchema = z.strictObject({
  gamma_neg: z.number().min(0).default(4).describe('ASL focusing exponent for negatives'),
  gamma_pos: z.number().min(0).default(1).describe('ASL focusing exponent for positives'),
  clip: z.number().min(0).max(1).default(0.05).describe('ASL probability margin for negatives'),
  eps: z.number().positive().default(1e-8).describe('lower bound of the probabilities inside the logarithms'),
  aux_weight: z.number().min(0).default(0).describe("weight of an extra ASL on the label RNN's own logits"),
});

export const optimSchema = z.strictObject({
  name: z.enum(['adam', 'adamw', 'sgd']).default('adam').describe('the optimizer: Adam, AdamW (decoupled weight decay) or SGD'),
  lr: z.number().positive().default(1e-4).describe('base learning rate (the schedule scales it)'),
  betas: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).default([0.9, 0.999]).describe('Adam/AdamW beta1, beta2'),
  momentum: z.number().min(0).default(0).describe('SGD momentum'),
  weight_decay: z.number().min(0).default(0).describe('L2 penalty (Adam, SGD) or decoupled decay (AdamW)'),
  backbone_lr_mult: z.number().min(0).default(1).describe("the backbone's learning rate is lr times this"),
  grad_clip: z.number().min(0).default(0).describe('maximum global gradient norm; 0 turns clipping off'),
  foreach: z
    .enum(['auto', 'on', 'off'])
    .default('auto')
    .describe('Adam/AdamW as multi-tensor kernels (same arithmetic, far fewer kernel launches); auto = on CUDA'),
});

/**
 * Where and how one rank joins a data-parallel job. The trainer fills it from the `distributed`
 * section of the experiment config and torchrun's environment; `null` is one process.
 */
export const distributedSessionSchema = z.strictObject({
  backend: z.enum(['auto', 'gloo', 'nccl']).default('auto').describe('c10d backend: auto = NCCL on CUDA, Gloo on the CPU'),
  master_addr: z.string().min(1).describe("the host of rank 0, which hosts the rendezvous store (MASTER_ADDR)"),
  master_port: z.number().int().min(1).max(65535).describe('the rendezvous TCP port (MASTER_PORT)'),
  rank: z.number().int().min(0).describe('this process among all (RANK)'),
  world_size: z.number().int().min(1).describe('how many processes (WORLD_SIZE)'),
  timeout_ms: z.number().int().positive().default(60_000).describe('rendezvous and every collective; a peer silent this long is an error'),
  broadcast_buffers: z.boolean().default(true).describe("rank 0's buffers to every rank before each training forward (DDP's default); with sync_bn the BatchNorm statistics are equal already and not sent"),
  sync_bn: z.boolean().default(false).describe("BatchNorm batch statistics over every rank's slices (PyTorch's SyncBatchNorm): count, sum and sum of squares all-reduced in forward, the two gradient sums in backward; their running statistics are not broadcast"),
  bucket_cap_mb: z.number().int().positive().default(25).describe("gradient all-reduce bucket size (DDP's bucket_cap_mb)"),
  fingerprint: z.string().default('').describe('`key=value` lines that must be equal on every rank (the experiment config); compared at rendezvous'),
});

/** A session's configuration: model, preprocessing, loss, optimizer, device and numerics. */
export const sessionSchema = z.strictObject({
  model: modelSchema.prefault({}).describe(MODEL),
  prep: prepSchema.prefault({}).describe(PREP),
  loss: lossSchema.prefault({}).describe(LOSS),
  optim: optimSchema.prefault({}).describe(OPTIM),
  device: z
    .string()
    .regex(/^(auto|cpu|cuda(:\d+)?)$/, "expected 'auto', 'cpu', 'cuda' or 'cuda:<index>'")
    .default('auto')
    .describe("'auto' (cuda:0 when LibTorch sees a GPU, else the CPU), 'cpu', 'cuda' or 'cuda:<index>'"),
  threads: z.number().int().min(0).default(0).describe('intra-op CPU threads; 0 = all cores'),
  seed: z.number().int().min(0).default(0).describe('seed of weight initialisation, sampling and augmentation: the same seed gives the same run'),
  precision: z
    .enum(['fp32', 'bf16', 'fp16', 'auto'])
    .default('fp32')
    .describe('autocast: bf16 (CUDA or CPU), fp16 (CUDA only, with loss scaling; an error on the CPU); auto = bf16 on CUDA and on CPUs with native bf16, else fp32'),
  channels_last: z
    .boolean()
    .default(true)
    .describe('NHWC memory layout for the backbone: oneDNN on the CPU and cuDNN on CUDA run it faster'),
  distributed: distributedSessionSchema.nullable().default(null).describe('data-parallel membership; null = one process'),
});

// The types, every key documented: generated from the schema (src/config/config-types.ts checks them).
export type { SessionConfig, SessionConfigInput } from './types.generated.js';
import type { SessionConfig, SessionConfigInput } from './types.generated.js';

/** Formats schema errors as `config.a.b: message` lines. */
export function formatIssues(error: z.ZodError, root = 'config'): string {
  return error.issues
    .map((issue) => `${[root, ...issue.path.map(String)].join('.')}: ${issue.message}`)
    .join('\n');
}

/** Validates and completes a session configuration; throws an IchnetError CONFIG_INVALID naming every bad key. */
export function resolveSessionConfig(input: SessionConfigInput = {}): SessionConfig {
  const parsed = sessionSchema.safeParse(migrateSessionConfig(input));
  if (!parsed.success) throw new IchnetError('CONFIG_INVALID', `invalid session config:\n${formatIssues(parsed.error)}`);
  const config = parsed.data;
  if (config.threads === 0) config.threads = availableParallelism();
  return config;
}

/** Opening a trained checkpoint for evaluation and prediction. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { dataSchema, type DataConfigInput } from '../config/data-schema.js';
import type { ExperimentConfig } from '../config/experiment-schema.js';
import { openDataset } from '../data/datasets/index.js';
import type { Dataset } from '../data/types.js';
import { Session } from '../session/session.js';
import { infer, type Inference } from './infer.js';
import type { TrainState } from './state.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** The configuration of a run's last stage (the model its checkpoints hold). */
export function finalStageConfig(config: ExperimentConfig): ExperimentConfig {
  const stage = config.stages[config.stages.length - 1];
  if (!stage) return config;
  return { ...config, model: { ...config.model, ...stage.model }, optim: { ...config.optim, ...stage.optim }, train: { ...config.train, ...stage.train } };
}

export interface OpenedCheckpoint {
  session: Session;
  state: TrainState;
  config: ExperimentConfig;
}

/**
 * Opens `dir` — a checkpoint directory (holding state.json) or a run directory (its best, else
 * last, checkpoint) — with the model, labels and thresholds it was trained with.
 */
export async function openCheckpoint(dir: string, overrides: { device?: string; threads?: number } = {}): Promise<OpenedCheckpoint> {
  let ckpt = resolve(dir);
  if (!existsSync(join(ckpt, 'state.json'))) {
    const best = join(ckpt, 'checkpoints', 'best');
    ckpt = existsSync(join(best, 'state.json')) ? best : join(ckpt, 'checkpoints', 'last');
  }
  const statePath = join(ckpt, 'state.json');
  if (!existsSync(statePath)) throw new IchnetError('RUN_DIR_INVALID', `${resolve(dir)}: not a checkpoint or run directory (no state.json)`);
  const state = JSON.parse(await readFile(statePath, 'utf8')) as TrainState;
  const config = finalStageConfig(state.config);
  const c = { ...config, ...overrides };
  const session = await Session.create({ model: c.model, prep: c.prep, loss: c.loss, optim: c.optim, device: c.device, threads: c.threads, seed: c.seed, precision: c.precision, channels_last: c.channels_last });
  await session.loadCheckpoint(ckpt);
  return { session, state, config };
}

/** Runs a checkpoint over a dataset (labels optional): per-slice probabilities for every patient. */
export async function predictDataset(opened: OpenedCheckpoint, data: DataConfigInput, onBatch?: (slices: number, total: number) => void): Promise<{ dataset: Dataset; inference: Inference }> {
  const dataset = await openDataset({ ...data, format: data.format ?? 'auto' });
  const dataConfig = dataSchema.parse({ ...data, format: data.format ?? 'auto' }); // valid: openDataset checked it
  if (dataset.labelNames.length > 0 && dataset.labelNames.join() !== opened.state.labels.join()) {
    throw new IchnetError('DATA_INVALID', `${dataset.root}: its labels (${dataset.labelNames.join(', ')}) differ from the model's (${opened.state.labels.join(', ')})`);
  }
  const t = opened.config.train;
  const total = dataset.patients.reduce((n, p) => n + p.slices.length, 0);
  const inference = await infer(opened.session, dataset.patients, {
    labels: opened.state.labels.length,
    patientsPerBatch: t.patients_per_batch,
    maxSlices: t.eval_max_slices,
    prefetch: t.prefetch,
    onError: dataConfig.on_error,
    ...(onBatch ? { onBatch: (slices: number) => onBatch(slices, total) } : {}),
  });
  return { dataset, inference };
}

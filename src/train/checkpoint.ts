/** Opening a trained checkpoint for evaluation and prediction. */
import { dataSchema, type DataConfigInput } from '../config/data-schema.js';
import type { ExperimentConfig } from '../config/experiment-schema.js';
import { openDataset } from '../data/datasets/index.js';
import type { Dataset } from '../data/types.js';
import { Session } from '../session/session.js';
import { infer, type Inference } from './infer.js';
import { findCheckpoint, readState } from './run-dir.js';
import { sessionConfigOf, stageConfig, stageCount } from './stages.js';
import type { TrainState } from './state.js';
import { IchnetError } from '../errors/ichnet-error.js';

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
  const ckpt = findCheckpoint(dir);
  const state = await readState(ckpt);
  // The model of the stage that wrote the checkpoint: a first-stage checkpoint (an interrupted
  // two-stage run) holds the first stage's model.
  const config = stageConfig(state.config, Math.min(state.stage, stageCount(state.config) - 1)).config;
  const session = await Session.create(sessionConfigOf({ ...config, ...overrides }));
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
    overlap: t.overlap,
    onError: dataConfig.on_error,
    workers: dataConfig.workers,
    ...(onBatch ? { onBatch: (slices: number) => onBatch(slices, total) } : {}),
  });
  return { dataset, inference };
}

/** Multi-stage recipes: the config each stage trains with, the one place that resolves it. */
import type { ExperimentConfig } from '../config/experiment-schema.js';
import type { SessionConfigInput } from '../config/session-schema.js';

/** `base` with the keys `overrides` sets, recursively into plain objects (arrays are replaced). */
function mergeOverrides<T extends object>(base: T, overrides: object | undefined): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value === undefined) continue;
    const current = out[key];
    const plain = (v: unknown): v is object => typeof v === 'object' && v !== null && !Array.isArray(v);
    out[key] = plain(value) && plain(current) ? mergeOverrides(current, value) : value;
  }
  return out as T;
}

/** How many stages `config` runs: its `stages`, or one (`main`) when there are none. */
export function stageCount(config: ExperimentConfig): number {
  return Math.max(1, config.stages.length);
}

/**
 * Stage `index`'s resolved config: the experiment config with that stage's overrides merged in
 * (only the keys the stage names change). The last stage's is the model a run's checkpoints hold.
 */
export function stageConfig(config: ExperimentConfig, index: number): { name: string; epochs: number; config: ExperimentConfig } {
  const stage = config.stages[index];
  if (!stage) return { name: 'main', epochs: config.train.epochs, config };
  return {
    name: stage.name,
    epochs: stage.epochs,
    config: {
      ...config,
      model: mergeOverrides(config.model, stage.model),
      prep: mergeOverrides(config.prep, stage.prep),
      optim: mergeOverrides(config.optim, stage.optim),
      train: mergeOverrides(config.train, stage.train),
    },
  };
}

/** The part of an experiment config a session is built from. */
export function sessionConfigOf(c: ExperimentConfig): SessionConfigInput {
  return { model: c.model, prep: c.prep, loss: c.loss, optim: c.optim, device: c.device, threads: c.threads, seed: c.seed, precision: c.precision, channels_last: c.channels_last };
}

/** Multi-stage recipes: the config each stage trains with. */
import type { ExperimentConfig } from '../config/experiment-schema.js';

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

/** Merges a stage's overrides into the experiment config. */
export function stageConfig(config: ExperimentConfig, index: number): { name: string; epochs: number; config: ExperimentConfig } {
  const stage = config.stages[index];
  if (!stage) return { name: 'main', epochs: config.train.epochs, config };
  return {
    name: stage.name,
    epochs: stage.epochs,
    config: {
      ...config,
      model: mergeOverrides(config.model, stage.model),
      optim: mergeOverrides(config.optim, stage.optim),
      train: mergeOverrides(config.train, stage.train),
    },
  };
}

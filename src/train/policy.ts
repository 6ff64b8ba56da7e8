/**
 * Which epoch becomes the best checkpoint, and when a stage stops early: the rules of PyTorch
 * Lightning's ModelCheckpoint (`monitor`, save the best) and EarlyStopping (`monitor`, `patience`),
 * as pure functions of the epoch history, so that a resumed run decides exactly as an
 * uninterrupted one. Losses improve downwards, scores upwards; a NaN never improves.
 *
 * `train.monitor` picks the best checkpoint; `train.early_stopping.metric` (which may differ)
 * decides when to stop. Both watch the last stage only: earlier stages prepare its weights.
 */
import type { ExperimentConfig } from '../config/experiment-schema.js';
import type { HistoryEntry, StoredBest } from './state.js';

/** A metric that can be monitored. */
export type MetricName = ExperimentConfig['train']['monitor'];

/** The value of `metric` in an epoch's history entry (NaN when absent, or null after JSON). */
export function metricValue(entry: HistoryEntry, metric: MetricName): number {
  const values: Record<MetricName, number | undefined> = {
    val_loss: entry.valLoss,
    val_f2_micro: entry.valF2Micro,
    val_f2_macro: entry.valF2Macro,
    val_patient_f2_micro: entry.valPatientF2Micro,
    val_auc_macro: entry.valAucMacro,
  };
  return values[metric] ?? Number.NaN;
}

/** Whether `value` beats `best` (undefined: nothing yet) for `metric`. */
export function improves(metric: MetricName, value: number, best: number | undefined): boolean {
  return Number.isFinite(value) && (best === undefined || (metric === 'val_loss' ? value < best : value > best));
}

/**
 * ModelCheckpoint: the new best when `entry` (an epoch of stage `stage`) beats `best` on `metric`,
 * else null (keep the old one).
 */
export function newBest(entry: HistoryEntry, metric: MetricName, best: StoredBest | null, stage: number): StoredBest | null {
  const value = metricValue(entry, metric);
  return improves(metric, value, best?.value) ? { metric, value, stage, epoch: entry.epoch } : null;
}

/** EarlyStopping's wait count: epochs after the last improvement of `metric` among `epochs` (in order). */
export function staleEpochs(epochs: readonly HistoryEntry[], metric: MetricName): number {
  let best: number | undefined;
  let stale = 0;
  for (const entry of epochs) {
    const value = metricValue(entry, metric);
    if (improves(metric, value, best)) {
      best = value;
      stale = 0;
    } else {
      stale++;
    }
  }
  return stale;
}

/** The epoch entries of the stage `stage` names, at the end of `history` (the stage running now). */
export function currentStageEpochs(history: readonly HistoryEntry[], stage: string): HistoryEntry[] {
  const epochs = history.filter((h) => h.kind === 'epoch');
  let start = epochs.length;
  while (start > 0 && epochs[start - 1]!.stage === stage) start--;
  return epochs.slice(start);
}

/** EarlyStopping: true once `patience` (> 0) epochs in a row have not improved `metric`. */
export function shouldStop(epochs: readonly HistoryEntry[], { metric, patience }: ExperimentConfig['train']['early_stopping']): boolean {
  return patience > 0 && staleEpochs(epochs, metric) >= patience;
}

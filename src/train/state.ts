/** What a checkpoint's `state.json` holds besides weights and optimizer state (ARCHITECTURE.md §8). */
import type { ExperimentConfig } from '../config/experiment-schema.js';

/** One line of metrics.jsonl / one entry of the training history. */
export interface HistoryEntry {
  kind: 'step' | 'epoch';
  stage: string;
  epoch: number;
  step: number;
  lr: number;
  trainLoss?: number;
  valLoss?: number;
  valF2Micro?: number;
  valF2Macro?: number;
  valPatientF2Micro?: number;
  valAucMacro?: number;
  slicesPerSecond?: number;
  seconds?: number;
}

export interface TrainState {
  /** Format version of this file. */
  version: 1;
  config: ExperimentConfig;
  labels: string[];
  /** Per-label decision thresholds (F2-tuned on validation, or 0.5). */
  thresholds: number[];
  /** Stage index and epoch to continue from, and batches of that epoch already done. */
  stage: number;
  epoch: number;
  batchInEpoch: number;
  /** Optimizer steps over all stages. */
  globalStep: number;
  best: { metric: string; value: number; stage: number; epoch: number } | null;
  /** Epochs since the monitored metric last improved (early stopping). */
  staleEpochs: number;
  history: HistoryEntry[];
  /** Validation patients (ids), so evaluation after resuming uses the same split. */
  validationPatients: string[];
  /** True when written because the run was interrupted. */
  interrupted: boolean;
}

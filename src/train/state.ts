/** What a checkpoint's `state.json` holds besides weights and optimizer state (read by src/train/run-dir.ts). */
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

/** The state.json format this version writes and reads. */
export const STATE_VERSION = 1;

export interface TrainState {
  /** Format version of this file. */
  version: typeof STATE_VERSION;
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
  /** The epoch that checkpoints/best holds, by `train.monitor` (last stage only). */
  best: { metric: string; value: number; stage: number; epoch: number } | null;
  history: HistoryEntry[];
  /** Validation patients (ids), so evaluation after resuming uses the same split. */
  validationPatients: string[];
  /** True when written because the run was interrupted. */
  interrupted: boolean;
}

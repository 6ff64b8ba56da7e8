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
  /** Epochs: seconds the step loop waited for the loader's next batch while no step ran (decoding hidden neither by prefetching nor by the step in flight). */
  dataWaitSeconds?: number;
  /** Inputs left out so far under `data.on_error: skip` (data, training and validation). */
  skipped?: number;
}

/** A best epoch as state.json records it: the stage by index. */
export interface StoredBest {
  /** The monitored metric (`train.monitor`). */
  metric: string;
  /** Its value at that epoch. */
  value: number;
  /** The stage's index in `stages` (0 without stages). */
  stage: number;
  /** The epoch within the stage, from 0. */
  epoch: number;
}

/** A stage's best epoch by `train.monitor`, as the `best` event and `FitResult` report it. */
export interface BestCheckpoint {
  /** The monitored metric (`train.monitor`), e.g. `val_f2_micro`. */
  metric: string;
  /** Its value at that epoch. */
  value: number;
  /** The stage's name, as in the `stage`, `step` and `epoch` events. */
  stage: string;
  /** The stage's index in `stages` (0 without stages). */
  stageIndex: number;
  /** The epoch within the stage, from 0. */
  epoch: number;
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
  best: StoredBest | null;
  /** Each stage's best epoch by `train.monitor`, by stage index (absent in states written before it). */
  stageBests?: Array<StoredBest | undefined>;
  history: HistoryEntry[];
  /** Validation patients (ids), so evaluation after resuming uses the same split. */
  validationPatients: string[];
  /** True when written because the run was interrupted. */
  interrupted: boolean;
  /**
   * Ranks of the data-parallel job that wrote it (absent: one process). `batchInEpoch` counts
   * that many ranks' steps: resuming on another number of ranks rescales it.
   */
  worldSize?: number;
}

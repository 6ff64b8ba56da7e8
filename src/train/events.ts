/**
 * What a Trainer tells its caller while it trains: the events it emits (observers) and the
 * callbacks it awaits (which may take their time, and may stop training through
 * `trainer.stopTraining`).
 */
import type { SkippedItem } from '../data/types.js';
import type { Scores } from './scores.js';
import type { BestCheckpoint } from './state.js';

/** `stage`: before the first step of each stage. */
export interface StageEvent {
  /** The stage's index in `stages` (0 without stages). */
  index: number;
  /** The stage's name (`main` without stages), as in every other event and `FitResult`. */
  name: string;
  /** Epochs the stage trains (early stopping may end it sooner). */
  epochs: number;
  /** Optimizer steps per epoch. */
  stepsPerEpoch: number;
}

/** `step`: after every optimizer step. */
export interface StepEvent {
  /** The stage's name. */
  stage: string;
  /** The stage's index. */
  stageIndex: number;
  /** The epoch within the stage, from 0. */
  epoch: number;
  /** Optimizer steps over the whole run, this one included. */
  step: number;
  /** Optimizer steps the whole run takes when no stage stops early. */
  totalSteps: number;
  /** Batches of this epoch done, this one included. */
  batch: number;
  /** Optimizer steps per epoch of this stage. */
  stepsPerEpoch: number;
  /** This step's training loss. */
  loss: number;
  /** The base learning rate of this step. */
  lr: number;
  /** Training throughput of this epoch so far. */
  slicesPerSecond: number;
  /**
   * Estimated seconds until the last step of the run: the steps left times the mean wall time per
   * step of this `fit()` call so far (validation included).
   */
  etaSeconds: number;
}

/** `epoch`: after each epoch's validation. */
export interface EpochEvent {
  /** The stage's name. */
  stage: string;
  /** The stage's index. */
  stageIndex: number;
  /** The epoch within the stage, from 0. */
  epoch: number;
  /** Mean training loss over the epoch's steps. */
  trainLoss: number;
  /** Validation loss. */
  valLoss: number;
  /** The validation metrics at threshold 0.5. */
  scores: Scores;
  /** Wall time of the epoch, validation included. */
  seconds: number;
}

/** `checkpoint`: after a checkpoint was written. */
export interface CheckpointEvent {
  /** `last` (written after every epoch and when interrupted) or `best`. */
  kind: 'last' | 'best';
  /** The checkpoint directory. */
  path: string;
}

/**
 * `best`: when the monitored metric (`train.monitor`) improved within a stage. Every stage has
 * its best epoch; the last stage's is the one checkpoints/best holds (`checkpoint: true`).
 */
export interface BestEvent extends BestCheckpoint {
  /** True when checkpoints/best now holds this epoch (last stage only). */
  checkpoint: boolean;
}

/** `progress`: validation and prediction passes, by slices done. */
export interface ProgressEvent {
  phase: 'validation' | 'prediction';
  slices: number;
  total: number;
}

/** `pretrained`: after `train.pretrained` was loaded, what it gave the model. */
export interface PretrainedEvent {
  /** The weights file. */
  path: string;
  /** Model tensors that received a value. */
  loaded: number;
  /** Model tensors the file did not provide (they keep their initial values). */
  missing: number;
  /** File tensors the model has no use for. */
  unexpected: number;
  /** Backbone tensors loaded, of all the backbone's. */
  backboneLoaded: number;
  backboneTotal: number;
}

/** `skipped`: inputs newly left out under `data.on_error: skip`. */
export interface SkippedEvent {
  /** Where they were found: opening the data, a training epoch, or a validation pass. */
  phase: 'data' | 'training' | 'validation';
  /** The new ones (each path is reported once per run). */
  items: SkippedItem[];
  /** Inputs left out in the run so far. */
  total: number;
}

/** Events a Trainer emits, with their payloads. */
export interface TrainerEvents {
  stage: [StageEvent];
  step: [StepEvent];
  epoch: [EpochEvent];
  checkpoint: [CheckpointEvent];
  best: [BestEvent];
  progress: [ProgressEvent];
  pretrained: [PretrainedEvent];
  skipped: [SkippedEvent];
}

/**
 * Hooks a Trainer awaits, unlike event listeners: training waits for each to settle. One that
 * throws or rejects stops training as a throwing listener does (see `Trainer.fit`).
 */
export interface TrainerCallbacks {
  /** Before the first step of each stage. */
  onStage?: (event: StageEvent) => void | Promise<void>;
  /** After every optimizer step. */
  onStep?: (event: StepEvent) => void | Promise<void>;
  /** After each epoch's validation and checkpoints. */
  onEpoch?: (event: EpochEvent) => void | Promise<void>;
}

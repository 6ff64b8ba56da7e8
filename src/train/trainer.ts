/**
 * The Trainer: stages → epochs → steps over a dataset, validation with F2, best/last checkpoints,
 * early stopping, threshold tuning, resumable interruption, predictions and the report.
 */
import { EventEmitter } from 'node:events';
import { join, resolve } from 'node:path';

import { parseExperimentConfig, type ExperimentConfig, type ExperimentConfigInput } from '../config/experiment-schema.js';
import { formatIssues } from '../config/session-schema.js';
import { IchnetError } from '../errors/ichnet-error.js';
import type { DataConfigInput } from '../config/data-schema.js';
import { openDataset } from '../data/datasets/index.js';
import { SliceLoader } from '../data/loader.js';
import { kFold, trainValidationSplit } from '../data/split.js';
import type { Dataset, PatientRecord, SkippedItem } from '../data/types.js';
import { Session } from '../session/session.js';
import { openCheckpoint, predictDataset } from './checkpoint.js';
import { ensureSyntheticData } from './synthetic.js';
import type { WaitClock } from './data-wait.js';
import { StagedBatches } from './staged-batches.js';
import { agreeOnStep, learningRateScale, rankSessionConfig } from './data-parallel.js';
import { shardedInference } from './sharded-eval.js';
import { placementFromEnv, type RankPlacement } from '../distributed/env.js';
import { runtimeInfo } from '../session/runtime.js';
import { infer, type Inference } from './infer.js';
import { scoreInference, tuneThresholdsFor, type Scores } from './scores.js';
import { currentStageEpochs, newBest, shouldStop } from './policy.js';
import { learningRateAt } from './schedule.js';
import { sessionConfigOf, stageConfig, stageCount } from './stages.js';
import { writeRunReport } from './report.js';
import { readState, RunDirectory, type CheckpointKind } from './run-dir.js';
import { STATE_VERSION, type BestCheckpoint, type HistoryEntry, type StoredBest, type TrainState } from './state.js';
import type { SkippedEvent, TrainerCallbacks, TrainerEvents } from './events.js';
import { checkPretrained } from './pretrained.js';

export type { TrainerCallbacks, TrainerEvents } from './events.js';

/** One stage of a finished or interrupted run. */
export interface StageResult {
  /** The stage's name, as in the events. */
  name: string;
  /** Its index in `stages`. */
  index: number;
  /** Its best epoch by `train.monitor` so far; null before its first validation. */
  best: BestCheckpoint | null;
}

/** What `Trainer.fit` resolves with. */
export interface FitResult {
  /** The run directory. */
  runDir: string;
  /** True when stopped by the signal: a resumable checkpoint was written, `final` is absent. */
  interrupted: boolean;
  /** The epoch checkpoints/best holds (the last stage's best), or null when there is none yet. */
  best: BestCheckpoint | null;
  /** Every stage's best epoch, in stage order (the stages begun so far). */
  stages: StageResult[];
  /** Validation scores of the best checkpoint with tuned thresholds (absent when interrupted). */
  final?: Scores;
  /** Per-label decision thresholds of the best checkpoint. */
  thresholds: number[];
  /** Every logged step and epoch (metrics.jsonl). */
  history: HistoryEntry[];
  /** Inputs left out under `data.on_error: skip`, with the reason. */
  skipped: SkippedItem[];
}

/** Options of `Trainer.create` and `Trainer.resume`. */
export interface TrainerOptions {
  /** Run directory (default `<config.out>/<name>-<timestamp>`), created when `fit()` starts. */
  runDir?: string;
  /**
   * Stops training at the next step boundary with a resumable checkpoint (e.g. on Ctrl-C). A
   * signal already aborted when `fit()` starts runs no step: the last checkpoint then holds the
   * starting weights.
   */
  signal?: AbortSignal;
  /**
   * What `fit()` does when the signal stopped it, after writing the checkpoint: `resolve`
   * (default) with `interrupted: true`, or `reject` with `signal.reason`.
   */
  onAbort?: 'resolve' | 'reject';
  /** Hooks that training awaits (see {@link TrainerCallbacks}). */
  callbacks?: TrainerCallbacks;
  /**
   * This process's place in a data-parallel job (see README, "GPUs and clusters"); default:
   * torchrun's environment variables (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK,
   * LOCAL_WORLD_SIZE) when set, else one process. `null`: one process whatever the environment.
   * Every rank trains on its shard of each epoch and validates on its shard; only rank 0 writes
   * the run directory.
   */
  distributed?: RankPlacement | null;
  /**
   * Receives the lines the Trainer reports outside the events: the generation of the synthetic
   * data set. Default: written to stderr.
   */
  logger?: (line: string) => void;
}

/** The patients a run trains on and validates on. */
interface Split {
  train: PatientRecord[];
  validation: PatientRecord[];
}

/** A stage with its resolved config and index. */
type Stage = ReturnType<typeof stageConfig> & { index: number };

/** How a stage's training ended. */
type StageEnd = 'done' | 'stopped' | 'halted';

/** What one epoch's training steps did. */
interface TrainedEpoch {
  epoch: number;
  /** performance.now() when the epoch began. */
  startedAt: number;
  /** Batches of the epoch done, replayed ones included. */
  batches: number;
  lossSum: number;
  /** Optimizer steps taken (replayed batches excluded). */
  steps: number;
  slices: number;
  /** The learning rate of the last step. */
  lr: number;
  /** Time the step loop spent waiting for the loader's next batch while no step ran. */
  dataWait: WaitClock;
  /** `halted`: the signal or a failing listener stopped the epoch after `batches` batches; `stopped`: `stopTraining`. */
  end: 'complete' | 'stopped' | 'halted';
}

/**
 * Trains, evaluates and predicts with an experiment config.
 *
 * Events (`on`) observe training; their listeners run synchronously and are not awaited.
 * `options.callbacks` are awaited. A listener that throws, an async listener that rejects, or a
 * callback that fails stops training at the next step boundary: `fit()` writes a resumable last
 * checkpoint and rejects with that error. Setting {@link Trainer.stopTraining} ends training
 * early instead, as early stopping does.
 *
 * @example
 * import { Trainer } from 'ichnet';
 *
 * // one epoch of a small model on 8 synthetic patients (generated into data/tiny on first use)
 * const trainer = await Trainer.create({
 *   data: { format: 'synthetic', root: 'data/tiny' },
 *   synthetic: { patients: 8, slices: [4, 4], size: 32 },
 *   model: { width: 1 / 16, label_hidden: 8, slice_hidden: 8 },
 *   prep: { input_size: 32 },
 *   train: { epochs: 1, validation: 0.25, report_samples: 0 },
 * });
 * trainer.on('epoch', (e) => console.log(e.stage, e.epoch, e.scores.slice.f2.micro));
 * const result = await trainer.fit();
 * console.log(result.runDir, result.best?.stage, result.final?.slice.f2.micro);
 */
export class Trainer extends EventEmitter<TrainerEvents> {
  /**
   * Set to true — from a listener, a callback or anywhere else — to end training after the
   * current step, as early stopping does: that epoch is validated, then `fit()` scores the best
   * checkpoint and writes the report. `fit()` resets it when it starts.
   */
  stopTraining = false;
  /** Set by `resume`: the first stage run by `fit` continues from the last checkpoint. */
  private resumed = false;
  /** Inputs left out so far (data, training and validation), each path once. */
  private readonly skipped: SkippedItem[] = [];
  private readonly startedAt = Date.now();
  /** The first error a listener or callback threw during `fit()`. */
  private listenerError: { error: unknown } | undefined;
  /** performance.now() and the global step when `fit()` started, for the ETA. */
  private fitStart = { at: 0, step: 0 };
  /** This rank's place in a data-parallel job, or null for one process. */
  private readonly placement: RankPlacement | null;
  /** Another rank of the job is stopping with a resumable checkpoint: this one stops with it. */
  private peerHalted = false;
  /** The last stage's latest validation: the epoch, the global step it ran at, and its inference. */
  private lastValidation: { stage: number; epoch: number; step: number; inference: Inference } | undefined;

  private constructor(
    /** The resolved experiment config (labels filled in from the data). */
    readonly config: ExperimentConfig,
    private readonly dataset: Dataset,
    private readonly run: RunDirectory,
    private state: TrainState,
    private readonly options: TrainerOptions,
  ) {
    super({ captureRejections: true });
    this.placement = options.distributed === undefined ? placementFromEnv(process.env) : options.distributed;
  }

  /** Whether this process writes the run directory: rank 0 of a job, or the only process. */
  private get writer(): boolean {
    return (this.placement?.rank ?? 0) === 0;
  }

  /** The session config of stage config `c` for this process (its rank's device and rendezvous in a job). */
  private sessionConfigFor(c: ExperimentConfig) {
    const base = sessionConfigOf(c);
    return this.placement ? rankSessionConfig(base, c, this.placement, runtimeInfo().cudaAvailable) : base;
  }

  /** An async listener's rejection (EventEmitter's captureRejections): stops training like a throw. */
  override [EventEmitter.captureRejectionSymbol]<K>(error: Error, _event: keyof TrainerEvents | K, ..._args: unknown[]): void {
    this.listenerError ??= { error };
  }

  /** Emits `event`; a listener that throws is recorded and stops training at the next step boundary. */
  private notify<K extends keyof TrainerEvents>(event: K, ...payload: TrainerEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: TrainerEvents[K]) => boolean)(event, ...payload);
    } catch (error) {
      this.listenerError ??= { error };
    }
  }

  /** Awaits a callback; one that fails is recorded like a throwing listener. */
  private async callback<E>(hook: ((event: E) => void | Promise<void>) | undefined, event: E): Promise<void> {
    try {
      await hook?.(event);
    } catch (error) {
      this.listenerError ??= { error };
    }
  }

  /** True when the signal or a failed listener asks training to halt with a resumable checkpoint. */
  private get halting(): boolean {
    return this.options.signal?.aborted === true || this.listenerError !== undefined || this.peerHalted;
  }

  /** A line for the user (the `logger` option, else stderr). */
  private log(line: string): void {
    (this.options.logger ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
  }

  /** The run directory (config.yaml, metrics.jsonl, checkpoints/, predictions.csv, report.html). */
  get runDir(): string {
    return this.run.dir;
  }

  /**
   * Validates the config and prepares the data (generating the synthetic set when needed). The
   * run directory is created by `fit()`.
   */
  static async create(input: ExperimentConfigInput | ExperimentConfig, options: TrainerOptions = {}): Promise<Trainer> {
    const parsed = parseExperimentConfig(input);
    if (!parsed.success) throw new IchnetError('CONFIG_INVALID', `invalid config:\n${formatIssues(parsed.error)}`);
    const config = parsed.data;
    // In a job, rank 0 generates the synthetic set and the others wait for it (same machine or a
    // shared file system).
    const placement = options.distributed === undefined ? placementFromEnv(process.env) : options.distributed;
    await ensureSyntheticData(config, options.logger, placement && placement.rank !== 0 ? { waitSeconds: Math.max(600, 10 * config.distributed.timeout) } : undefined);
    const dataset = await openDataset(config.data);
    if (dataset.patients.length === 0) throw new IchnetError('DATA_INVALID', `${dataset.root}: the dataset holds no patients`);
    if (dataset.labelNames.length === 0) throw new IchnetError('DATA_INVALID', `${dataset.root}: the dataset has no labels to train on`);
    const resolved: ExperimentConfig = { ...config, model: { ...config.model, labels: dataset.labelNames } };
    // A generated name that another run took (started in the same second) gets a suffix when
    // fit() creates it; a directory the caller named must be new.
    const run = options.runDir
      ? RunDirectory.at(options.runDir)
      : RunDirectory.at(join(resolve(config.out), `${config.name}-${RunDirectory.timestamp()}`), { suffix: true });
    const state: TrainState = {
      version: STATE_VERSION,
      config: resolved,
      labels: dataset.labelNames,
      thresholds: dataset.labelNames.map(() => 0.5),
      stage: 0,
      epoch: 0,
      batchInEpoch: 0,
      globalStep: 0,
      best: null,
      stageBests: [],
      history: [],
      validationPatients: [],
      interrupted: false,
    };
    return new Trainer(resolved, dataset, run, state, options);
  }

  /** Continues the run in `runDir` from its last checkpoint, on the same trajectory. */
  static async resume(runDir: string, options: Omit<TrainerOptions, 'runDir'> = {}): Promise<Trainer> {
    const run = await RunDirectory.open(runDir);
    const state = await run.lastState();
    const dataset = await openDataset(state.config.data);
    const trainer = new Trainer(state.config, dataset, run, { ...state, interrupted: false }, { ...options, runDir });
    trainer.resumed = true;
    return trainer;
  }

  private split(): Split {
    const L = this.state.labels.length;
    const t = this.config.train;
    if (this.state.validationPatients.length > 0) {
      const val = new Set(this.state.validationPatients);
      return { train: this.dataset.patients.filter((p) => !val.has(p.id)), validation: this.dataset.patients.filter((p) => val.has(p.id)) };
    }
    const parts = t.folds ? kFold(this.dataset.patients, L, t.folds, t.fold, this.config.seed) : trainValidationSplit(this.dataset.patients, L, t.validation, this.config.seed);
    this.state.validationPatients = parts.validation.map((p) => p.id);
    return parts;
  }

  private async validate(session: Session, patients: PatientRecord[], config: ExperimentConfig): Promise<Inference> {
    let inference: Inference;
    if (this.placement) {
      // Every rank evaluates rank 0's model (its BatchNorm statistics too) on its shard.
      await session.syncReplicas();
      inference = await shardedInference(session, patients, this.state.labels.length, this.placement, (shard) => this.validateHere(session, shard, config));
    } else {
      inference = await this.validateHere(session, patients, config);
    }
    if (inference.slices === 0) throw new IchnetError('DATA_INVALID', this.everySliceSkipped('validation', patients.length));
    return inference;
  }

  private async validateHere(session: Session, patients: PatientRecord[], config: ExperimentConfig): Promise<Inference> {
    const total = patients.reduce((n, p) => n + p.slices.length, 0);
    const inference = await infer(session, patients, {
      labels: this.state.labels.length,
      patientsPerBatch: config.train.patients_per_batch,
      maxSlices: config.train.eval_max_slices,
      prefetch: config.train.prefetch,
      overlap: config.train.overlap,
      onError: config.data.on_error,
      workers: config.data.workers,
      onBatch: (slices) => this.notify('progress', { phase: 'validation', slices, total }),
    });
    this.noteSkipped('validation', inference.skipped);
    return inference;
  }

  /** Adds newly skipped inputs to the run's list (each path once) and announces them. */
  private noteSkipped(phase: SkippedEvent['phase'], items: SkippedItem[]): void {
    const known = new Set(this.skipped.map((x) => x.path));
    const fresh = items.filter((x) => !known.has(x.path));
    if (fresh.length === 0) return;
    this.skipped.push(...fresh);
    this.notify('skipped', { phase, items: fresh, total: this.skipped.length });
  }

  /** The error for a pass in which every slice was left out: said plainly, with the first reason. */
  private everySliceSkipped(phase: 'training' | 'validation', patients: number): string {
    const first = this.skipped[0];
    return (
      `every slice of the ${patients} ${phase} patient(s) was skipped (data.on_error: skip), so there is nothing to ${phase === 'training' ? 'train on' : 'validate on'}; ` +
      `${this.skipped.length} input(s) were left out${first ? `, the first: ${first.path}: ${first.reason}` : ''}`
    );
  }

  private async saveCheckpoint(session: Session, kind: CheckpointKind): Promise<void> {
    if (!this.writer) return; // rank 0's model is every rank's
    const path = this.run.checkpoint(kind);
    await session.saveCheckpoint(path, RunDirectory.checkpointFiles(this.state));
    this.notify('checkpoint', { kind, path });
  }

  /**
   * Scores this run's best checkpoint (its tuned thresholds) on a labelled dataset — by default
   * the run's own validation patients.
   */
  async evaluate(data?: DataConfigInput): Promise<Scores> {
    this.listenerError = undefined;
    const opened = await openCheckpoint(this.run.dir);
    try {
      if (!data) {
        const { validation } = this.split();
        const inference = await this.validate(opened.session, validation, opened.config);
        return this.unlessListenerFailed(scoreInference(opened.state.labels, validation, inference, opened.state.thresholds));
      }
      const { dataset, inference } = await predictDataset(opened, data);
      if (dataset.labelNames.length === 0) throw new IchnetError('DATA_INVALID', `${dataset.root}: no labels to evaluate against`);
      return this.unlessListenerFailed(scoreInference(opened.state.labels, dataset.patients, inference, opened.state.thresholds));
    } finally {
      await opened.session.close();
    }
  }

  /** `value`, unless a `progress` listener threw meanwhile: then that error. */
  private unlessListenerFailed<T>(value: T): T {
    const failed = this.listenerError as { error: unknown } | undefined;
    if (failed) throw failed.error;
    return value;
  }

  /**
   * Predicts a dataset (labels not needed) with this run's best checkpoint: per patient, slice
   * probabilities (slices × labels), plus the thresholds that turn them into decisions.
   */
  async predict(data: DataConfigInput): Promise<{ dataset: Dataset; probs: Map<string, Float32Array>; thresholds: number[]; labels: string[] }> {
    this.listenerError = undefined;
    const opened = await openCheckpoint(this.run.dir);
    try {
      const { dataset, inference } = await predictDataset(opened, data, (slices, total) => this.notify('progress', { phase: 'prediction', slices, total }));
      return this.unlessListenerFailed({ dataset, probs: inference.probs, thresholds: opened.state.thresholds, labels: opened.state.labels });
    } finally {
      await opened.session.close();
    }
  }

  /**
   * Runs every remaining stage and epoch, then scores the best checkpoint on validation and writes
   * predictions.csv, final-metrics.json and report.html. Creates the run directory first.
   *
   * When the signal aborts, training stops after the current step (an aborted signal: before the
   * first), a resumable last checkpoint is written, and `fit()` resolves with `interrupted: true`
   * — or rejects with `signal.reason` under `onAbort: 'reject'`. When a listener or callback
   * throws, the same checkpoint is written and `fit()` rejects with that error.
   */
  async fit(): Promise<FitResult> {
    const split = this.split();
    if (split.train.length === 0 || split.validation.length === 0) {
      throw new IchnetError('DATA_INVALID', `${this.dataset.root}: ${this.dataset.patients.length} patient(s) cannot be split into training and validation`);
    }
    if (!this.resumed && this.state.globalStep === 0 && this.writer) {
      await this.run.make();
      await this.run.writeConfig(this.config);
    }
    this.stopTraining = false;
    this.listenerError = undefined;
    this.peerHalted = false;
    this.adoptWorldSize();
    this.fitStart = { at: performance.now(), step: this.state.globalStep };
    this.noteSkipped('data', this.dataset.skipped);
    let session: Session | undefined;
    try {
      for (let s = this.state.stage; s < stageCount(this.config); s++) {
        // One stage's model at a time: the next starts from the checkpoint the last one saved.
        await session?.close();
        session = await this.openStage(s);
        const end = await this.runStage(s, session, split);
        if (end === 'halted') {
          await session.close();
          return this.halted();
        }
        if (end === 'stopped') break;
      }
    } catch (e) {
      // In a job, the other ranks' errors then name this rank and why it stopped.
      if (this.placement) await session?.publishFailure(e instanceof Error ? e.message : String(e));
      await session?.close(); // the error propagates; the memory need not wait for GC
      throw e;
    }
    // When the checkpoint the final evaluation scores holds this session's weights, the session and
    // its last validation serve it; otherwise the training session is closed first, so that the
    // final evaluation's session reuses its memory instead of adding to it.
    const reusable = session ? this.validationOfFinalWeights() : undefined;
    const current = session && reusable ? { session, inference: reusable } : undefined;
    if (!current) await session?.close();
    const result = await this.finish(split.validation, current);
    const failed = this.listenerError as { error: unknown } | undefined; // set by listeners during finish()
    if (failed) throw failed.error;
    return result;
  }

  /**
   * A checkpoint written by N ranks resumed on M: `batchInEpoch` counted N ranks' steps, so the
   * epoch continues after about as many patients (the shards differ, so not the same trajectory;
   * with N unchanged it is).
   */
  private adoptWorldSize(): void {
    const world = this.placement?.worldSize ?? 1;
    const before = this.state.worldSize ?? 1;
    if (before !== world && this.state.batchInEpoch > 0) {
      const batches = Math.floor((this.state.batchInEpoch * before) / world);
      this.log(`ichnet: resuming a checkpoint of ${before} rank(s) on ${world}: epoch ${this.state.epoch + 1} continues after ${batches} step(s) instead of ${this.state.batchInEpoch}`);
      this.state.batchInEpoch = batches;
    }
    if (this.placement || this.state.worldSize !== undefined) this.state.worldSize = world;
  }

  /** The end of a halted `fit()`: the listener's error, the signal's reason, or the interrupted result. */
  private halted(): FitResult {
    if (this.listenerError) throw this.listenerError.error;
    if (this.options.onAbort === 'reject' && this.options.signal?.aborted) throw this.options.signal.reason;
    return { runDir: this.run.dir, interrupted: true, best: this.bestOf(this.state.best), stages: this.stageResults(), thresholds: this.state.thresholds, history: this.state.history, skipped: [...this.skipped] };
  }

  /** A stored best epoch with its stage's name. */
  private bestOf(stored: StoredBest | null | undefined): BestCheckpoint | null {
    if (!stored) return null;
    return { metric: stored.metric, value: stored.value, stage: stageConfig(this.config, stored.stage).name, stageIndex: stored.stage, epoch: stored.epoch };
  }

  /** Every stage begun so far, with its best epoch. */
  private stageResults(): StageResult[] {
    const begun = Math.min(stageCount(this.config), this.state.stage + 1);
    return Array.from({ length: begun }, (_, index) => ({ name: stageConfig(this.config, index).name, index, best: this.bestOf(this.state.stageBests?.[index]) }));
  }

  /** Training patients each rank takes per epoch (its padded shard in a job). */
  private patientsPerRank(trainPatients: number): number {
    return this.placement ? Math.ceil(trainPatients / this.placement.worldSize) : trainPatients;
  }

  /** Optimizer steps the whole run takes when no stage stops early. */
  private totalSteps(trainPatients: number): number {
    let total = 0;
    for (let s = 0; s < stageCount(this.config); s++) {
      const stage = stageConfig(this.config, s);
      total += stage.epochs * Math.ceil(this.patientsPerRank(trainPatients) / stage.config.train.patients_per_batch);
    }
    return total;
  }

  /**
   * A session for stage `s`, starting from the last checkpoint (when resuming), else from the
   * previous stage's weights, else from `train.pretrained`.
   */
  private async openStage(s: number): Promise<Session> {
    const c = stageConfig(this.config, s).config;
    const resuming = this.resumed;
    this.resumed = false;
    const session = await Session.create(this.sessionConfigFor(c));
    try {
      // Resuming, every rank reads the checkpoint (the optimizer state too: the run directory must
      // be readable on every machine); otherwise rank 0 loads and passes its weights on.
      if (resuming) await session.loadCheckpoint(this.run.checkpoint('last'));
      else if (s > 0 && this.writer) await session.loadWeights(this.run.weights('last'));
      else if (c.train.pretrained && this.writer) this.notify('pretrained', checkPretrained(c.train.pretrained, await session.loadWeights(c.train.pretrained)));
      if (this.placement) await session.syncReplicas();
    } catch (e) {
      await session.close();
      throw e;
    }
    if (!resuming) Object.assign(this.state, { stage: s, epoch: 0, batchInEpoch: 0 });
    return session;
  }

  /**
   * Trains stage `s` from the state's epoch to its last, or until early stopping (`done`) or
   * `stopTraining` (`stopped`). `halted` when the signal or a failed listener stopped it; the last
   * checkpoint then holds where to resume.
   */
  private async runStage(s: number, session: Session, split: Split): Promise<StageEnd> {
    const stage = { ...stageConfig(this.config, s), index: s };
    const c = stage.config;
    const loader = new SliceLoader(split.train, {
      labels: this.state.labels.length,
      patientsPerBatch: c.train.patients_per_batch,
      maxSlices: c.train.max_slices,
      mode: 'train',
      seed: c.seed,
      prefetch: c.train.prefetch,
      onError: c.data.on_error,
      workers: c.data.workers,
      augment: c.augment,
      ...(this.placement ? { shard: { rank: this.placement.rank, worldSize: this.placement.worldSize } } : {}),
    });
    const stepsPerEpoch = Math.ceil(this.patientsPerRank(split.train.length) / c.train.patients_per_batch);
    const event = { index: s, name: stage.name, epochs: stage.epochs, stepsPerEpoch };
    this.notify('stage', event);
    await this.callback(this.options.callbacks?.onStage, event);
    const totalSteps = this.totalSteps(split.train.length);

    for (let epoch = this.state.epoch; epoch < stage.epochs; epoch++) {
      const trained = await this.trainEpoch(session, loader, stage, epoch, stepsPerEpoch, totalSteps);
      this.noteSkipped('training', loader.skipped);
      if (trained.batches === 0 && trained.end === 'complete') throw new IchnetError('DATA_INVALID', this.everySliceSkipped('training', split.train.length));
      if (trained.end === 'halted') {
        Object.assign(this.state, { epoch, batchInEpoch: trained.batches, interrupted: true });
        await this.saveCheckpoint(session, 'last');
        return 'halted';
      }
      const earlyStop = await this.endEpoch(session, stage, trained, split.validation);
      if (this.placement) {
        // A stop that arrived during validation: every rank learns it at the same point.
        const agreed = await agreeOnStep(session, { hasBatch: true, halting: this.halting, stop: this.stopTraining, slices: 0 });
        if (agreed.halting) this.peerHalted = true;
        if (agreed.stop) this.stopTraining = true;
      }
      if (this.halting) {
        // A listener failed during validation: the epoch is complete and checkpointed.
        this.state.interrupted = true;
        await this.saveCheckpoint(session, 'last');
        return 'halted';
      }
      if (trained.end === 'stopped' || this.stopTraining) return 'stopped';
      if (earlyStop) break;
    }
    Object.assign(this.state, { stage: s + 1, epoch: 0, batchInEpoch: 0 });
    return 'done';
  }

  /**
   * One epoch's optimizer steps. Resuming inside an epoch replays its batches (the loader's
   * stream is seeded) up to where the interruption stopped, without training on them.
   */
  private async trainEpoch(session: Session, loader: SliceLoader, stage: Stage, epoch: number, stepsPerEpoch: number, totalSteps: number): Promise<TrainedEpoch> {
    const c = stage.config;
    const batches = new StagedBatches(loader.batches(epoch), session, 'train', c.train.overlap);
    const out: TrainedEpoch = { epoch, startedAt: performance.now(), batches: 0, lossSum: 0, steps: 0, slices: 0, lr: Number.NaN, dataWait: batches.wait, end: 'complete' };
    const lrScale = learningRateScale(c, this.placement);
    try {
      // A resumed epoch replays its batches up to where the interruption stopped, staging none of them.
      let loaded = await batches.next(undefined, this.state.batchInEpoch === 0);
      while (loaded && out.batches < this.state.batchInEpoch) {
        out.batches++;
        loaded = await batches.next(undefined, out.batches >= this.state.batchInEpoch);
      }
      for (;;) {
        let slices = loaded ? loaded.batch.lengths.reduce((a, v) => a + v, 0) : 0;
        if (this.placement) {
          // Every rank steps, stops or halts together.
          const agreed = await agreeOnStep(session, { hasBatch: loaded !== undefined, halting: this.halting, stop: this.stopTraining, slices });
          if (agreed.halting) {
            this.peerHalted = true;
            out.end = 'halted';
          }
          else if (agreed.stop) out.end = 'stopped';
          if (agreed.leftOver > 0 && loaded) this.log(`ichnet: rank ${this.placement.rank}: a batch left over at the end of epoch ${epoch + 1} (the ranks' batch counts differ: series of other image sizes or skipped slices); not trained on`);
          if (out.end !== 'complete' || !agreed.allHaveBatch) break;
          slices = agreed.slices;
        } else {
          if (!loaded) break;
          if (this.halting) {
            out.end = 'halted';
            break;
          }
        }
        const lr = lrScale * learningRateAt(c.optim.lr, c.train.lr_schedule, epoch + (out.batches + 1) / stepsPerEpoch, stage.epochs);
        if (lr !== out.lr) await session.setLearningRate((out.lr = lr));
        const current = loaded as NonNullable<typeof loaded>;
        const pending = session.trainStep(current.batch);
        pending.catch(() => undefined); // awaited below, once the next batch is staged
        // Batch k+1 is read and staged while step k runs (train.overlap).
        loaded = await batches.next(pending);
        const result = await pending;
        loader.release(current); // the step has read the pixels: a later batch reuses their memory
        const loss = result.globalLoss ?? result.loss;
        out.batches++;
        out.steps++;
        out.lossSum += loss;
        out.slices += slices;
        const step = ++this.state.globalStep;
        const now = performance.now();
        const slicesPerSecond = out.slices / ((now - out.startedAt) / 1000);
        const perStep = (now - this.fitStart.at) / 1000 / (step - this.fitStart.step);
        const event = { stage: stage.name, stageIndex: stage.index, epoch, step, totalSteps, batch: out.batches, stepsPerEpoch, loss, lr, slicesPerSecond, etaSeconds: Math.max(0, totalSteps - step) * perStep };
        this.notify('step', event);
        if (step % c.train.log_every === 0 && this.writer) await this.run.log({ kind: 'step', stage: stage.name, epoch, step, lr, trainLoss: loss, slicesPerSecond });
        await this.callback(this.options.callbacks?.onStep, event);
        if (this.stopTraining && !this.placement) {
          out.end = 'stopped';
          break;
        }
      }
    } finally {
      await batches.close();
    }
    return out;
  }

  /**
   * Validates after an epoch, records it (history, metrics.jsonl, `epoch` event), writes the
   * checkpoints the policy asks for (src/train/policy.ts) and says whether to stop early.
   */
  private async endEpoch(session: Session, stage: Stage, trained: TrainedEpoch, validation: PatientRecord[]): Promise<boolean> {
    const s = stage.index;
    const c = stage.config;
    const { epoch } = trained;
    const inference = await this.validate(session, validation, c);
    if (s === stageCount(this.config) - 1) this.lastValidation = { stage: s, epoch, step: this.state.globalStep, inference };
    const scores = scoreInference(this.state.labels, validation, inference, this.state.thresholds.map(() => 0.5));
    const seconds = (performance.now() - trained.startedAt) / 1000;
    const trainLoss = trained.steps > 0 ? trained.lossSum / trained.steps : Number.NaN;
    const entry: HistoryEntry = {
      kind: 'epoch',
      stage: stage.name,
      epoch,
      step: this.state.globalStep,
      lr: trained.lr,
      trainLoss,
      valLoss: inference.loss,
      valF2Micro: scores.slice.f2.micro,
      valF2Macro: scores.slice.f2.macro,
      valPatientF2Micro: scores.patient.f2.micro,
      valAucMacro: scores.slice.auc.macro ?? Number.NaN,
      slicesPerSecond: trained.slices / seconds,
      seconds,
      dataWaitSeconds: trained.dataWait.seconds,
      skipped: this.skipped.length,
    };
    this.state.history.push(entry);
    if (this.writer) await this.run.log(entry);
    const epochEvent = { stage: stage.name, stageIndex: s, epoch, trainLoss, valLoss: inference.loss, scores, seconds };
    this.notify('epoch', epochEvent);
    Object.assign(this.state, { epoch: epoch + 1, batchInEpoch: 0 });

    const lastStage = s === stageCount(this.config) - 1;
    const stageBests = (this.state.stageBests ??= []);
    // States written before per-stage bests have the last stage's in `best` only.
    const best = newBest(entry, c.train.monitor, stageBests[s] ?? (lastStage ? this.state.best : null), s);
    if (best) {
      stageBests[s] = best;
      if (lastStage) {
        this.state.best = best;
        if (c.train.tune_thresholds) this.state.thresholds = tuneThresholdsFor(this.state.labels, validation, inference);
        await this.saveCheckpoint(session, 'best');
      }
      this.notify('best', { ...(this.bestOf(best) as BestCheckpoint), checkpoint: lastStage });
    }
    await this.saveCheckpoint(session, 'last');
    await this.callback(this.options.callbacks?.onEpoch, epochEvent);
    return lastStage && shouldStop(currentStageEpochs(this.state.history, stage.name), c.train.early_stopping);
  }

  /**
   * The last stage's latest validation when the checkpoint `finish` scores (the best, else the
   * last) holds the training session's weights as they are: written at that validation, with no
   * step since (one process; in a job every rank evaluates from the checkpoint as before).
   */
  private validationOfFinalWeights(): Inference | undefined {
    const v = this.lastValidation;
    if (this.placement || !v || v.step !== this.state.globalStep) return undefined;
    const best = this.state.best;
    return !best || (best.stage === v.stage && best.epoch === v.epoch) ? v.inference : undefined;
  }

  /**
   * The run's result: the best checkpoint (else the last) scored on validation with its tuned
   * thresholds; writes predictions.csv, final-metrics.json and report.html.
   */
  private async finish(validation: PatientRecord[], current?: { session: Session; inference: Inference }): Promise<FitResult> {
    const skipped = this.skipped;
    const dir = this.run.bestOrLast();
    // In a job only rank 0 reads the run directory; the others get its weights through the
    // session. The stage comes from the state every rank holds, so that all build the same model.
    const saved = this.writer ? await readState(dir) : { stage: this.state.best?.stage ?? this.state.stage, thresholds: this.state.thresholds };
    const stage = this.placement ? (this.state.best?.stage ?? this.state.stage) : saved.stage;
    // The last stage's model, or an earlier stage's when stopTraining ended the run there.
    const c = stageConfig(this.config, Math.min(stage, stageCount(this.config) - 1)).config;
    const { thresholds } = saved;
    const session = current?.session ?? (await Session.create(this.sessionConfigFor(c)));
    try {
      if (this.writer && !current) await session.loadCheckpoint(dir);
      const inference = current?.inference ?? (await this.validate(session, validation, c));
      const final = scoreInference(this.state.labels, validation, inference, thresholds);
      if (this.writer) {
        await this.run.writePredictions(this.state.labels, validation, inference.probs, thresholds);
        await this.run.writeFinalMetrics({ thresholds, best: this.state.best, ...final, skipped });
        await writeRunReport(this.run.reportPath, { config: this.config, state: { ...this.state, thresholds }, scores: final, validation, inference, session, skipped, startedAt: this.startedAt });
      }
      return { runDir: this.run.dir, interrupted: false, best: this.bestOf(this.state.best), stages: this.stageResults(), final, thresholds, history: this.state.history, skipped: [...skipped] };
    } finally {
      await session.close();
    }
  }

}

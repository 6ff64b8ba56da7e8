/**
 * The Trainer: stages → epochs → steps over a dataset, validation with F2, best/last checkpoints,
 * early stopping, threshold tuning, resumable interruption, predictions and the report.
 */
import { EventEmitter } from 'node:events';
import { join, resolve } from 'node:path';

import { experimentSchema, type ExperimentConfig, type ExperimentConfigInput } from '../config/experiment-schema.js';
import { formatIssues } from '../config/session-schema.js';
import type { DataConfigInput } from '../config/data-schema.js';
import { openDataset } from '../data/datasets/index.js';
import { SliceLoader } from '../data/loader.js';
import { kFold, trainValidationSplit } from '../data/split.js';
import type { Dataset, PatientRecord, SkippedItem } from '../data/types.js';
import { Session } from '../session/session.js';
import { openCheckpoint, predictDataset } from './checkpoint.js';
import { ensureSyntheticData } from './synthetic.js';
import { infer, type Inference } from './infer.js';
import { scoreInference, tuneThresholdsFor, type Scores } from './scores.js';
import { currentStageEpochs, newBest, shouldStop } from './policy.js';
import { learningRateAt } from './schedule.js';
import { sessionConfigOf, stageConfig, stageCount } from './stages.js';
import { writeRunReport } from './report.js';
import { readState, RunDirectory, type CheckpointKind } from './run-dir.js';
import { STATE_VERSION, type HistoryEntry, type TrainState } from './state.js';

/** Events a Trainer emits, with their payloads. */
export interface TrainerEvents {
  /** Before the first step of each stage. */
  stage: [{ index: number; name: string; epochs: number; stepsPerEpoch: number }];
  /** After every optimizer step. */
  step: [{ stage: string; epoch: number; step: number; batch: number; stepsPerEpoch: number; loss: number; lr: number; slicesPerSecond: number }];
  /** After each epoch's validation. */
  epoch: [{ stage: string; epoch: number; trainLoss: number; valLoss: number; scores: Scores; seconds: number }];
  /** After a checkpoint was written. */
  checkpoint: [{ kind: 'last' | 'best'; path: string }];
  /** When the monitored metric improved. */
  best: [{ metric: string; value: number; stage: string; epoch: number }];
  /** Progress of validation/prediction passes (slices done). */
  progress: [{ phase: 'validation' | 'prediction'; slices: number; total: number }];
}

export interface FitResult {
  runDir: string;
  /** True when stopped early by the signal (a resumable checkpoint was written). */
  interrupted: boolean;
  best: TrainState['best'];
  /** Validation scores of the best checkpoint with tuned thresholds (absent when interrupted). */
  final?: Scores;
  thresholds: number[];
  history: HistoryEntry[];
  skipped: SkippedItem[];
}

export interface TrainerOptions {
  /** Run directory (default <config.out>/<name>-<timestamp>). */
  runDir?: string;
  /** Stop after the current step, writing a resumable checkpoint (e.g. on Ctrl-C). */
  signal?: AbortSignal;
}

/** The patients a run trains on and validates on. */
interface Split {
  train: PatientRecord[];
  validation: PatientRecord[];
}

/** A stage with its resolved config. */
type Stage = ReturnType<typeof stageConfig>;

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
  /** True when the signal stopped the epoch after `batches` batches. */
  interrupted: boolean;
}

/**
 * Trains, evaluates and predicts with an experiment config.
 *
 * @example
 * const trainer = await Trainer.create({ preset: 'quickstart' } as never); // or a config object
 * trainer.on('epoch', (e) => console.log(e.epoch, e.scores.slice.f2.micro));
 * const result = await trainer.fit();
 */
export class Trainer extends EventEmitter<TrainerEvents> {
  /** Set by `resume`: the first stage run by `fit` continues from the last checkpoint. */
  private resumed = false;
  private readonly startedAt = Date.now();

  private constructor(
    /** The resolved experiment config (labels filled in from the data). */
    readonly config: ExperimentConfig,
    private readonly dataset: Dataset,
    private readonly run: RunDirectory,
    private state: TrainState,
    private readonly options: TrainerOptions,
  ) {
    super();
  }

  /** The run directory (config.yaml, metrics.jsonl, checkpoints/, predictions.csv, report.html). */
  get runDir(): string {
    return this.run.dir;
  }

  /** Validates the config, prepares the data (generating the synthetic set when needed) and the run directory. */
  static async create(input: ExperimentConfigInput | ExperimentConfig, options: TrainerOptions = {}): Promise<Trainer> {
    const parsed = experimentSchema.safeParse(input);
    if (!parsed.success) throw new TypeError(`invalid config:\n${formatIssues(parsed.error)}`);
    const config = parsed.data;
    await ensureSyntheticData(config);
    const dataset = await openDataset(config.data);
    if (dataset.patients.length === 0) throw new Error(`${dataset.root}: the dataset holds no patients`);
    if (dataset.labelNames.length === 0) throw new Error(`${dataset.root}: the dataset has no labels to train on`);
    const resolved: ExperimentConfig = { ...config, model: { ...config.model, labels: dataset.labelNames } };
    const run = await RunDirectory.create(options.runDir ?? join(resolve(config.out), `${config.name}-${RunDirectory.timestamp()}`));
    await run.writeConfig(resolved);
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
    const total = patients.reduce((n, p) => n + p.slices.length, 0);
    return infer(session, patients, {
      labels: this.state.labels.length,
      patientsPerBatch: config.train.patients_per_batch,
      maxSlices: config.train.eval_max_slices,
      prefetch: config.train.prefetch,
      onError: config.data.on_error,
      onBatch: (slices) => this.emit('progress', { phase: 'validation', slices, total }),
    });
  }

  private async saveCheckpoint(session: Session, kind: CheckpointKind): Promise<void> {
    const path = this.run.checkpoint(kind);
    await session.saveCheckpoint(path, RunDirectory.checkpointFiles(this.state));
    this.emit('checkpoint', { kind, path });
  }

  /**
   * Scores this run's best checkpoint (its tuned thresholds) on a labelled dataset — by default
   * the run's own validation patients.
   */
  async evaluate(data?: DataConfigInput): Promise<Scores> {
    const opened = await openCheckpoint(this.run.dir);
    try {
      if (!data) {
        const { validation } = this.split();
        const inference = await this.validate(opened.session, validation, opened.config);
        return scoreInference(opened.state.labels, validation, inference, opened.state.thresholds);
      }
      const { dataset, inference } = await predictDataset(opened, data);
      if (dataset.labelNames.length === 0) throw new Error(`${dataset.root}: no labels to evaluate against`);
      return scoreInference(opened.state.labels, dataset.patients, inference, opened.state.thresholds);
    } finally {
      await opened.session.close();
    }
  }

  /**
   * Predicts a dataset (labels not needed) with this run's best checkpoint: per patient, slice
   * probabilities (slices × labels), plus the thresholds that turn them into decisions.
   */
  async predict(data: DataConfigInput): Promise<{ dataset: Dataset; probs: Map<string, Float32Array>; thresholds: number[]; labels: string[] }> {
    const opened = await openCheckpoint(this.run.dir);
    try {
      const { dataset, inference } = await predictDataset(opened, data, (slices, total) => this.emit('progress', { phase: 'prediction', slices, total }));
      return { dataset, probs: inference.probs, thresholds: opened.state.thresholds, labels: opened.state.labels };
    } finally {
      await opened.session.close();
    }
  }

  /** Runs every remaining stage and epoch. Resolves when done or interrupted by the signal. */
  async fit(): Promise<FitResult> {
    const split = this.split();
    if (split.train.length === 0 || split.validation.length === 0) {
      throw new Error(`${this.dataset.root}: ${this.dataset.patients.length} patient(s) cannot be split into training and validation`);
    }
    const skipped: SkippedItem[] = [...this.dataset.skipped];
    let session: Session | undefined;
    try {
      for (let s = this.state.stage; s < stageCount(this.config); s++) {
        // One stage's model at a time: the next starts from the checkpoint the last one saved.
        await session?.close();
        session = await this.openStage(s);
        if (!(await this.runStage(s, session, split, skipped))) {
          await session.close();
          return { runDir: this.run.dir, interrupted: true, best: this.state.best, thresholds: this.state.thresholds, history: this.state.history, skipped };
        }
      }
    } catch (e) {
      await session?.close(); // the error propagates; the memory need not wait for GC
      throw e;
    }
    // The training session is closed first so that the final evaluation reuses its memory
    // instead of adding to it.
    await session?.close();
    return this.finish(split.validation, skipped);
  }

  /**
   * A session for stage `s`, starting from the last checkpoint (when resuming), else from the
   * previous stage's weights, else from `train.pretrained`.
   */
  private async openStage(s: number): Promise<Session> {
    const c = stageConfig(this.config, s).config;
    const resuming = this.resumed;
    this.resumed = false;
    const session = await Session.create(sessionConfigOf(c));
    try {
      if (resuming) await session.loadCheckpoint(this.run.checkpoint('last'));
      else if (s > 0) await session.loadWeights(this.run.weights('last'));
      else if (c.train.pretrained) await session.loadWeights(c.train.pretrained);
    } catch (e) {
      await session.close();
      throw e;
    }
    if (!resuming) Object.assign(this.state, { stage: s, epoch: 0, batchInEpoch: 0 });
    return session;
  }

  /**
   * Trains stage `s` from the state's epoch to its last, or until early stopping. False when the
   * signal interrupted it; the last checkpoint then holds where to resume.
   */
  private async runStage(s: number, session: Session, split: Split, skipped: SkippedItem[]): Promise<boolean> {
    const stage = stageConfig(this.config, s);
    const c = stage.config;
    const loader = new SliceLoader(split.train, {
      labels: this.state.labels.length,
      patientsPerBatch: c.train.patients_per_batch,
      maxSlices: c.train.max_slices,
      mode: 'train',
      seed: c.seed,
      prefetch: c.train.prefetch,
      onError: c.data.on_error,
      augment: c.augment,
    });
    const stepsPerEpoch = Math.ceil(split.train.length / c.train.patients_per_batch);
    this.emit('stage', { index: s, name: stage.name, epochs: stage.epochs, stepsPerEpoch });

    for (let epoch = this.state.epoch; epoch < stage.epochs; epoch++) {
      const trained = await this.trainEpoch(session, loader, stage, epoch, stepsPerEpoch);
      for (const item of loader.skipped) if (!skipped.some((x) => x.path === item.path)) skipped.push(item);
      if (trained.interrupted) {
        Object.assign(this.state, { epoch, batchInEpoch: trained.batches, interrupted: true });
        await this.saveCheckpoint(session, 'last');
        return false;
      }
      if (await this.endEpoch(session, s, stage, trained, split.validation)) break;
    }
    Object.assign(this.state, { stage: s + 1, epoch: 0, batchInEpoch: 0 });
    return true;
  }

  /**
   * One epoch's optimizer steps. Resuming inside an epoch replays its batches (the loader's
   * stream is seeded) up to where the interruption stopped, without training on them.
   */
  private async trainEpoch(session: Session, loader: SliceLoader, stage: Stage, epoch: number, stepsPerEpoch: number): Promise<TrainedEpoch> {
    const c = stage.config;
    const out: TrainedEpoch = { epoch, startedAt: performance.now(), batches: 0, lossSum: 0, steps: 0, slices: 0, lr: Number.NaN, interrupted: false };
    for await (const loaded of loader.batches(epoch)) {
      if (out.batches < this.state.batchInEpoch) {
        out.batches++;
        continue;
      }
      const lr = learningRateAt(c.optim.lr, c.train.lr_schedule, epoch + (out.batches + 1) / stepsPerEpoch, stage.epochs);
      if (lr !== out.lr) await session.setLearningRate((out.lr = lr));
      const { loss } = await session.trainStep(loaded.batch);
      out.batches++;
      out.steps++;
      out.lossSum += loss;
      out.slices += loaded.batch.lengths.reduce((a, v) => a + v, 0);
      const step = ++this.state.globalStep;
      const slicesPerSecond = out.slices / ((performance.now() - out.startedAt) / 1000);
      this.emit('step', { stage: stage.name, epoch, step, batch: out.batches, stepsPerEpoch, loss, lr, slicesPerSecond });
      if (step % c.train.log_every === 0) await this.run.log({ kind: 'step', stage: stage.name, epoch, step, lr, trainLoss: loss, slicesPerSecond });
      if (this.options.signal?.aborted) {
        out.interrupted = true;
        break;
      }
    }
    return out;
  }

  /**
   * Validates after an epoch, records it (history, metrics.jsonl, `epoch` event), writes the
   * checkpoints the policy asks for (src/train/policy.ts) and says whether to stop early.
   */
  private async endEpoch(session: Session, s: number, stage: Stage, trained: TrainedEpoch, validation: PatientRecord[]): Promise<boolean> {
    const c = stage.config;
    const { epoch } = trained;
    const inference = await this.validate(session, validation, c);
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
    };
    this.state.history.push(entry);
    await this.run.log(entry);
    this.emit('epoch', { stage: stage.name, epoch, trainLoss, valLoss: inference.loss, scores, seconds });
    Object.assign(this.state, { epoch: epoch + 1, batchInEpoch: 0 });

    const lastStage = s === stageCount(this.config) - 1;
    const best = lastStage ? newBest(entry, c.train.monitor, this.state.best, s) : null;
    if (best) {
      this.state.best = best;
      if (c.train.tune_thresholds) this.state.thresholds = tuneThresholdsFor(this.state.labels, validation, inference);
      await this.saveCheckpoint(session, 'best');
      this.emit('best', { metric: best.metric, value: best.value, stage: stage.name, epoch });
    }
    await this.saveCheckpoint(session, 'last');
    return lastStage && shouldStop(currentStageEpochs(this.state.history, stage.name), c.train.early_stopping);
  }

  /**
   * The run's result: the best checkpoint (else the last) scored on validation with its tuned
   * thresholds; writes predictions.csv, final-metrics.json and report.html.
   */
  private async finish(validation: PatientRecord[], skipped: SkippedItem[]): Promise<FitResult> {
    const c = stageConfig(this.config, stageCount(this.config) - 1).config;
    const session = await Session.create(sessionConfigOf(c));
    try {
      const dir = this.run.bestOrLast();
      await session.loadCheckpoint(dir);
      const { thresholds } = await readState(dir);
      const inference = await this.validate(session, validation, c);
      const final = scoreInference(this.state.labels, validation, inference, thresholds);
      await this.run.writePredictions(this.state.labels, validation, inference.probs, thresholds);
      await this.run.writeFinalMetrics({ thresholds, best: this.state.best, ...final });
      await writeRunReport(this.run.reportPath, { config: this.config, state: { ...this.state, thresholds }, scores: final, validation, inference, session, skipped, startedAt: this.startedAt });
      return { runDir: this.run.dir, interrupted: false, best: this.state.best, final, thresholds, history: this.state.history, skipped };
    } finally {
      await session.close();
    }
  }
}

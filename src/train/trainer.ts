/**
 * The Trainer: stages → epochs → steps over a dataset, validation with F2, best/last checkpoints,
 * early stopping, threshold tuning, resumable interruption, predictions and the report.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { experimentSchema, type ExperimentConfig, type ExperimentConfigInput } from '../config/experiment-schema.js';
import { formatIssues, type SessionConfigInput } from '../config/session-schema.js';
import { IchnetError } from '../errors/ichnet-error.js';
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
import { learningRateAt } from './schedule.js';
import { stageConfig } from './stages.js';
import { writeRunReport } from './report.js';
import { RunDirectory } from './run-dir.js';
import type { HistoryEntry, TrainState } from './state.js';

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

const metricValue = (scores: Scores, loss: number, metric: string): number =>
  metric === 'val_loss'
    ? loss
    : metric === 'val_f2_macro'
      ? scores.slice.f2.macro
      : metric === 'val_patient_f2_micro'
        ? scores.patient.f2.micro
        : metric === 'val_auc_macro'
          ? (scores.slice.auc.macro ?? Number.NaN)
          : scores.slice.f2.micro;
const improves = (metric: string, value: number, best: number | undefined) =>
  Number.isFinite(value) && (best === undefined || (metric === 'val_loss' ? value < best : value > best));

function sessionConfig(c: ExperimentConfig): SessionConfigInput {
  return { model: c.model, prep: c.prep, loss: c.loss, optim: c.optim, device: c.device, threads: c.threads, seed: c.seed, precision: c.precision, channels_last: c.channels_last };
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
    if (!parsed.success) throw new IchnetError('CONFIG_INVALID', `invalid config:\n${formatIssues(parsed.error)}`);
    const config = parsed.data;
    await ensureSyntheticData(config);
    const dataset = await openDataset(config.data);
    if (dataset.patients.length === 0) throw new IchnetError('DATA_INVALID', `${dataset.root}: the dataset holds no patients`);
    if (dataset.labelNames.length === 0) throw new IchnetError('DATA_INVALID', `${dataset.root}: the dataset has no labels to train on`);
    const resolved: ExperimentConfig = { ...config, model: { ...config.model, labels: dataset.labelNames } };
    const run = await RunDirectory.create(options.runDir ?? join(resolve(config.out), `${config.name}-${RunDirectory.timestamp()}`));
    await run.writeConfig(resolved);
    const state: TrainState = {
      version: 1,
      config: resolved,
      labels: dataset.labelNames,
      thresholds: dataset.labelNames.map(() => 0.5),
      stage: 0,
      epoch: 0,
      batchInEpoch: 0,
      globalStep: 0,
      best: null,
      staleEpochs: 0,
      history: [],
      validationPatients: [],
      interrupted: false,
    };
    return new Trainer(resolved, dataset, run, state, options);
  }

  /** Continues the run in `runDir` from its last checkpoint, on the same trajectory. */
  static async resume(runDir: string, options: Omit<TrainerOptions, 'runDir'> = {}): Promise<Trainer> {
    const statePath = join(runDir, 'checkpoints', 'last', 'state.json');
    if (!existsSync(statePath)) throw new IchnetError('RUN_DIR_INVALID', `${runDir}: nothing to resume (${statePath} is missing)`);
    const state = JSON.parse(await readFile(statePath, 'utf8')) as TrainState;
    const dataset = await openDataset(state.config.data);
    const run = await RunDirectory.open(runDir);
    const trainer = new Trainer(state.config, dataset, run, { ...state, interrupted: false }, { ...options, runDir });
    trainer.resumed = true;
    return trainer;
  }

  private split(): { train: PatientRecord[]; validation: PatientRecord[] } {
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

  private async saveCheckpoint(session: Session, kind: 'last' | 'best'): Promise<void> {
    const path = this.run.checkpoint(kind);
    await session.saveCheckpoint(path, { 'state.json': JSON.stringify(this.state) });
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
      if (dataset.labelNames.length === 0) throw new IchnetError('DATA_INVALID', `${dataset.root}: no labels to evaluate against`);
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
    const { train, validation } = this.split();
    if (train.length === 0 || validation.length === 0) {
      throw new IchnetError('DATA_INVALID', `${this.dataset.root}: ${this.dataset.patients.length} patient(s) cannot be split into training and validation`);
    }
    const L = this.state.labels.length;
    const stages = Math.max(1, this.config.stages.length);
    const skipped: SkippedItem[] = [...this.dataset.skipped];
    let session: Session | undefined;

    try {
      for (let s = this.state.stage; s < stages; s++) {
        const stage = stageConfig(this.config, s);
        const c = stage.config;
        const resuming = this.resumed;
        this.resumed = false;
        // One stage's model at a time: the next starts from the checkpoint the last one saved.
        await session?.close();
        session = await Session.create(sessionConfig(c));
        if (resuming) {
          await session.loadCheckpoint(this.run.checkpoint('last'));
        } else if (s > 0) {
          await session.loadWeights(join(this.run.checkpoint('last'), 'model.safetensors'));
        } else if (c.train.pretrained) {
          await session.loadWeights(c.train.pretrained);
        }
        if (!resuming) Object.assign(this.state, { stage: s, epoch: 0, batchInEpoch: 0 });
        const loader = new SliceLoader(train, {
          labels: L,
          patientsPerBatch: c.train.patients_per_batch,
          maxSlices: c.train.max_slices,
          mode: 'train',
          seed: c.seed,
          prefetch: c.train.prefetch,
          onError: c.data.on_error,
          augment: c.augment,
        });
        const stepsPerEpoch = Math.ceil(train.length / c.train.patients_per_batch);
        this.emit('stage', { index: s, name: stage.name, epochs: stage.epochs, stepsPerEpoch });

        for (let epoch = this.state.epoch; epoch < stage.epochs; epoch++) {
          const t0 = performance.now();
          let lossSum = 0;
          let lossSteps = 0;
          let slices = 0;
          let batch = 0;
          let lr = Number.NaN;
          for await (const loaded of loader.batches(epoch)) {
            if (batch < this.state.batchInEpoch) {
              batch++; // replaying the interrupted epoch up to where it stopped
              continue;
            }
            const next = learningRateAt(c.optim.lr, c.train.lr_schedule, epoch + (batch + 1) / stepsPerEpoch, stage.epochs);
            if (next !== lr) await session.setLearningRate((lr = next));
            const result = await session.trainStep(loaded.batch);
            batch++;
            this.state.globalStep++;
            lossSum += result.loss;
            lossSteps++;
            slices += loaded.batch.lengths.reduce((a, v) => a + v, 0);
            const slicesPerSecond = slices / ((performance.now() - t0) / 1000);
            this.emit('step', { stage: stage.name, epoch, step: this.state.globalStep, batch, stepsPerEpoch, loss: result.loss, lr, slicesPerSecond });
            if (this.state.globalStep % c.train.log_every === 0) {
              await this.run.log({ kind: 'step', stage: stage.name, epoch, step: this.state.globalStep, lr, trainLoss: result.loss, slicesPerSecond });
            }
            if (this.options.signal?.aborted) {
              Object.assign(this.state, { epoch, batchInEpoch: batch, interrupted: true });
              await this.saveCheckpoint(session, 'last');
              await session.close();
              return { runDir: this.run.dir, interrupted: true, best: this.state.best, thresholds: this.state.thresholds, history: this.state.history, skipped: [...skipped, ...loader.skipped] };
            }
          }
          for (const item of loader.skipped) if (!skipped.some((x) => x.path === item.path)) skipped.push(item);

          const inference = await this.validate(session, validation, c);
          const scores = scoreInference(this.state.labels, validation, inference, this.state.thresholds.map(() => 0.5));
          const seconds = (performance.now() - t0) / 1000;
          const trainLoss = lossSteps > 0 ? lossSum / lossSteps : Number.NaN;
          const entry: HistoryEntry = {
            kind: 'epoch',
            stage: stage.name,
            epoch,
            step: this.state.globalStep,
            lr,
            trainLoss,
            valLoss: inference.loss,
            valF2Micro: scores.slice.f2.micro,
            valF2Macro: scores.slice.f2.macro,
            valPatientF2Micro: scores.patient.f2.micro,
            valAucMacro: scores.slice.auc.macro ?? Number.NaN,
            slicesPerSecond: slices / seconds,
            seconds,
          };
          this.state.history.push(entry);
          await this.run.log(entry);
          this.emit('epoch', { stage: stage.name, epoch, trainLoss, valLoss: inference.loss, scores, seconds });

          Object.assign(this.state, { epoch: epoch + 1, batchInEpoch: 0 });
          const monitored = metricValue(scores, inference.loss, c.train.monitor);
          const isLastStage = s === stages - 1;
          if (isLastStage && improves(c.train.monitor, monitored, this.state.best?.value)) {
            this.state.best = { metric: c.train.monitor, value: monitored, stage: s, epoch };
            this.state.staleEpochs = 0;
            if (c.train.tune_thresholds) this.state.thresholds = tuneThresholdsFor(this.state.labels, validation, inference);
            await this.saveCheckpoint(session, 'best');
            this.emit('best', { metric: c.train.monitor, value: monitored, stage: stage.name, epoch });
          } else if (isLastStage) {
            this.state.staleEpochs++;
          }
          await this.saveCheckpoint(session, 'last');
          const patience = c.train.early_stopping.patience;
          if (isLastStage && patience > 0 && this.state.staleEpochs >= patience) break;
        }
        Object.assign(this.state, { stage: s + 1, epoch: 0, batchInEpoch: 0 });
      }
    } catch (e) {
      await session?.close(); // the error propagates; the memory need not wait for GC
      throw e;
    }

    // Final scores: the best checkpoint on validation, with its tuned thresholds. The training
    // session is closed first so that the evaluation reuses its memory instead of adding to it.
    await session?.close();
    const best = await Session.create(sessionConfig(stageConfig(this.config, stages - 1).config));
    try {
      const bestDir = existsSync(this.run.checkpoint('best')) ? this.run.checkpoint('best') : this.run.checkpoint('last');
      await best.loadCheckpoint(bestDir);
      const bestState = JSON.parse(await readFile(join(bestDir, 'state.json'), 'utf8')) as TrainState;
      const inference = await this.validate(best, validation, stageConfig(this.config, stages - 1).config);
      const final = scoreInference(this.state.labels, validation, inference, bestState.thresholds);
      await this.run.writePredictions(this.state.labels, validation, inference.probs, bestState.thresholds);
      await this.run.writeAtomic('final-metrics.json', JSON.stringify({ thresholds: bestState.thresholds, best: this.state.best, ...final }, null, 2));
      await writeRunReport(join(this.run.dir, 'report.html'), { config: this.config, state: { ...this.state, thresholds: bestState.thresholds }, scores: final, validation, inference, session: best, skipped, startedAt: this.startedAt });
      return { runDir: this.run.dir, interrupted: false, best: this.state.best, final, thresholds: bestState.thresholds, history: this.state.history, skipped };
    } finally {
      await best.close();
    }
  }
}

/**
 * The run directory, and the one module that knows its layout (docs/ARCHITECTURE.md, "The run
 * directory"):
 *
 *     config.yaml          the resolved experiment config
 *     metrics.jsonl        one line per logged step and per epoch
 *     checkpoints/last/    written after every epoch (and on interruption): resume from here
 *     checkpoints/best/    the epoch the monitored metric liked best (last stage only)
 *     predictions.csv      the best checkpoint's validation predictions
 *     final-metrics.json   its scores with tuned thresholds
 *     report.html          the run report
 *
 * A checkpoint directory holds model.safetensors and the optimizer state (written by the addon)
 * and state.json ({@link TrainState}), read here with a format check.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { configToYaml } from '../config/load.js';
import type { ExperimentConfig } from '../config/experiment-schema.js';
import type { PatientRecord } from '../data/types.js';
import { predictionsCsv } from './predictions.js';
import { IchnetError } from '../errors/ichnet-error.js';
import { STATE_VERSION, type HistoryEntry, type TrainState } from './state.js';

/** The two checkpoints a run keeps. */
export type CheckpointKind = 'last' | 'best';

/** The file in a checkpoint directory that holds its {@link TrainState}. */
export const STATE_FILE = 'state.json';

/** The weights file in a checkpoint directory (the addon's `saveCheckpoint` writes it). */
const WEIGHTS_FILE = 'model.safetensors';

export class RunDirectory {
  private constructor(readonly dir: string) {}

  /** `YYYYMMDD-HHMMSS` in UTC, for run names. */
  static timestamp(date = new Date()): string {
    return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  }

  /** The run directory `dir` of a new run, not created yet: {@link RunDirectory.make} creates it. */
  static at(dir: string): RunDirectory {
    return new RunDirectory(resolve(dir));
  }

  /** Creates the directory and its checkpoints/ (a new run's, when training starts). */
  async make(): Promise<void> {
    await mkdir(join(this.dir, 'checkpoints'), { recursive: true });
  }

  /** Opens an existing run directory; throws when `dir` has no checkpoints/. */
  static async open(dir: string): Promise<RunDirectory> {
    const full = resolve(dir);
    if (!existsSync(join(full, 'checkpoints'))) throw new IchnetError('RUN_DIR_INVALID', `${full}: not a run directory (no checkpoints/)`);
    return new RunDirectory(full);
  }

  /** The directory of the `kind` checkpoint. */
  checkpoint(kind: CheckpointKind): string {
    return join(this.dir, 'checkpoints', kind);
  }

  /** The weights file of the `kind` checkpoint. */
  weights(kind: CheckpointKind): string {
    return join(this.checkpoint(kind), WEIGHTS_FILE);
  }

  /** The best checkpoint when one was written, else the last. */
  bestOrLast(): string {
    return existsSync(join(this.checkpoint('best'), STATE_FILE)) ? this.checkpoint('best') : this.checkpoint('last');
  }

  /** The state of the last checkpoint, for resuming; throws naming the file when there is none. */
  async lastState(): Promise<TrainState> {
    const path = join(this.checkpoint('last'), STATE_FILE);
    if (!existsSync(path)) throw new IchnetError('RUN_DIR_INVALID', `${this.dir}: nothing to resume (${path} is missing)`);
    return readState(this.checkpoint('last'));
  }

  /** The files `saveCheckpoint` writes into a checkpoint besides weights and optimizer state. */
  static checkpointFiles(state: TrainState): Record<string, string> {
    return { [STATE_FILE]: JSON.stringify(state) };
  }

  /** Writes a file atomically (temporary name, then rename). */
  async writeAtomic(name: string, text: string): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(`${path}.tmp`, text);
    await rename(`${path}.tmp`, path);
    return path;
  }

  /** Writes config.yaml. */
  async writeConfig(config: ExperimentConfig): Promise<void> {
    await this.writeAtomic('config.yaml', configToYaml(config));
  }

  /** Appends one line to metrics.jsonl. */
  async log(entry: HistoryEntry): Promise<void> {
    await appendFile(join(this.dir, 'metrics.jsonl'), `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  }

  /** Writes predictions.csv. */
  async writePredictions(labels: string[], patients: PatientRecord[], probs: Map<string, Float32Array>, thresholds: number[]): Promise<string> {
    return this.writeAtomic('predictions.csv', predictionsCsv(labels, patients, probs, thresholds));
  }

  /** Writes final-metrics.json. */
  async writeFinalMetrics(metrics: object): Promise<string> {
    return this.writeAtomic('final-metrics.json', JSON.stringify(metrics, null, 2));
  }

  /** Where report.html goes. */
  get reportPath(): string {
    return join(this.dir, 'report.html');
  }
}

/**
 * The checkpoint directory `dir` names: `dir` itself when it holds a state.json, else, for a run
 * directory, its best checkpoint, else its last. Throws when `dir` is neither.
 */
export function findCheckpoint(dir: string): string {
  const full = resolve(dir);
  if (existsSync(join(full, STATE_FILE))) return full;
  for (const kind of ['best', 'last'] as const) {
    const ckpt = join(full, 'checkpoints', kind);
    if (existsSync(join(ckpt, STATE_FILE))) return ckpt;
  }
  throw new IchnetError('RUN_DIR_INVALID', `${full}: not a checkpoint or run directory (no ${STATE_FILE}, nor checkpoints/best or checkpoints/last holding one)`);
}

/**
 * Reads a checkpoint's state.json, checking its format version and the fields every reader relies
 * on; an error names the file and what is wrong with it.
 */
export async function readState(checkpointDir: string): Promise<TrainState> {
  const path = join(checkpointDir, STATE_FILE);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new IchnetError('RUN_DIR_INVALID', `${path}: cannot read the checkpoint's state (${(e as Error).message})`);
  }
  const s = value as Partial<TrainState> | null;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new IchnetError('RUN_DIR_INVALID', `${path}: expected a JSON object`);
  if (s.version !== STATE_VERSION) {
    throw new IchnetError('RUN_DIR_INVALID', `${path}: state format version ${JSON.stringify(s.version)}, but this ichnet reads version ${STATE_VERSION}; use the ichnet version that wrote it`);
  }
  const problems: string[] = [];
  if (typeof s.config !== 'object' || s.config === null) problems.push('config: expected the experiment config');
  if (!Array.isArray(s.labels) || !s.labels.every((l) => typeof l === 'string')) problems.push('labels: expected a list of names');
  if (!Array.isArray(s.thresholds) || s.thresholds.length !== s.labels?.length) problems.push('thresholds: expected one number per label');
  for (const key of ['stage', 'epoch', 'batchInEpoch', 'globalStep'] as const) {
    if (!Number.isInteger(s[key]) || (s[key] as number) < 0) problems.push(`${key}: expected an integer ≥ 0`);
  }
  if (!Array.isArray(s.history)) problems.push('history: expected a list');
  if (!Array.isArray(s.validationPatients)) problems.push('validationPatients: expected a list');
  if (problems.length > 0) throw new IchnetError('RUN_DIR_INVALID', `${path}: not a valid checkpoint state:\n  ${problems.join('\n  ')}`);
  return s as TrainState;
}

/**
 * The run directory, and the one module that knows its layout (docs/ARCHITECTURE.md §8):
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
import { appendFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { configToYaml } from '../config/load.js';
import type { ExperimentConfig } from '../config/experiment-schema.js';
import type { PatientRecord } from '../data/types.js';
import { predictionsCsv } from './predictions.js';
import { IchnetError } from '../errors/ichnet-error.js';
import { STATE_VERSION, type HistoryEntry, type TrainState } from './state.js';

/** The two checkpoints a run keeps. */
export type CheckpointKind = 'last' | 'best';

/** The file in a checkpoint directory that holds its {@link TrainState}. */
const STATE_FILE = 'state.json';

/** The weights file in a checkpoint directory (the addon's `saveCheckpoint` writes it). */
const WEIGHTS_FILE = 'model.safetensors';

export class RunDirectory {
  private constructor(
    private path: string,
    /** For a new run: whether a taken name may become `<dir>-2`, `<dir>-3`, … (else it is an error). */
    private readonly suffix = false,
  ) {}

  /** The directory (for a new run, the name it was given a suffix to, once made). */
  get dir(): string {
    return this.path;
  }

  /** `YYYYMMDD-HHMMSS` in UTC, for run names. */
  static timestamp(date = new Date()): string {
    return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  }

  /**
   * The run directory `dir` of a new run, not created yet: {@link RunDirectory.make} creates it.
   * With `suffix` (a generated name), a name another run took becomes `<dir>-2`, `<dir>-3`, ….
   */
  static at(dir: string, { suffix = false }: { suffix?: boolean } = {}): RunDirectory {
    return new RunDirectory(resolve(dir), suffix);
  }

  /**
   * Creates a new run's directory and its checkpoints/ when training starts. The parent is created
   * as needed; the directory itself exclusively (never reused), so two runs started in the same
   * second get two directories; without `suffix` a taken name is an error. Errors name the
   * directory and the cause (a read-only mount, no permission, a full disk).
   */
  async make(): Promise<void> {
    const wanted = this.path;
    await makeDirectory(dirname(wanted), 'the parent of the run directory', true);
    for (let n = 1; ; n++) {
      const full = n === 1 ? wanted : `${wanted}-${n}`;
      try {
        await mkdir(full);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' && this.suffix && n < 1000) continue;
        if (code === 'EEXIST') throw new IchnetError('RUN_DIR_INVALID', `${full}: already exists; a new run needs a new directory (continue that run with --resume ${full})`);
        throw writeError(e, full, 'cannot create the run directory');
      }
      this.path = full;
      await makeDirectory(join(full, 'checkpoints'), 'the checkpoints directory', false);
      return;
    }
  }

  /**
   * Opens an existing run directory, e.g. to resume it; throws when `dir` has no checkpoints/.
   * Removes what interrupted checkpoint writes left behind ({@link RunDirectory.removeLeftovers}).
   */
  static async open(dir: string): Promise<RunDirectory> {
    const full = resolve(dir);
    if (!existsSync(join(full, 'checkpoints'))) throw new IchnetError('RUN_DIR_INVALID', `${full}: not a run directory (no checkpoints/)`);
    const run = new RunDirectory(full);
    await run.removeLeftovers();
    return run;
  }

  /**
   * Cleans checkpoints/ after a process was killed while writing a checkpoint: the addon writes
   * into `<kind>.tmp-<pid>` and moves the previous checkpoint aside as `<kind>.old.tmp-<pid>`
   * (the native Session's saveCheckpoint). Leftovers of processes that are no longer running are
   * removed; a checkpoint moved aside but never replaced is put back first. Returns what was removed.
   */
  async removeLeftovers(): Promise<string[]> {
    const root = join(this.dir, 'checkpoints');
    const removed: string[] = [];
    for (const name of await readdir(root)) {
      const m = /^(last|best)(\.old)?\.tmp-(\d+)$/.exec(name);
      if (!m || processRunning(Number(m[3]))) continue;
      const path = join(root, name);
      const target = join(root, m[1] as string);
      if (m[2] && !existsSync(join(target, STATE_FILE)) && existsSync(join(path, STATE_FILE))) {
        await rm(target, { recursive: true, force: true });
        await rename(path, target);
        continue;
      }
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    }
    return removed;
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

  /** Writes a file atomically (temporary name, then rename); a failure names the file and leaves no temporary. */
  async writeAtomic(name: string, text: string): Promise<string> {
    const path = join(this.dir, name);
    try {
      await writeFile(`${path}.tmp`, text);
      await rename(`${path}.tmp`, path);
    } catch (e) {
      await rm(`${path}.tmp`, { force: true });
      throw writeError(e, path, 'cannot write');
    }
    return path;
  }

  /** Writes config.yaml. */
  async writeConfig(config: ExperimentConfig): Promise<void> {
    await this.writeAtomic('config.yaml', configToYaml(config));
  }

  /** Appends one line to metrics.jsonl. */
  async log(entry: HistoryEntry): Promise<void> {
    const path = join(this.dir, 'metrics.jsonl');
    try {
      await appendFile(path, `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
    } catch (e) {
      throw writeError(e, path, 'cannot write');
    }
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

/** Whether a process with this id runs (one we may not signal runs too). */
function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A failed write as `<path>: <what> (<reason>)`: Node's own messages omit the path of writes, and
 * a recursive mkdir reports a read-only parent as ENOENT.
 */
function writeError(e: unknown, path: string, what: string): IchnetError {
  const err = e as NodeJS.ErrnoException;
  const reasons: Record<string, string> = { EROFS: 'read-only file system', EACCES: 'permission denied', ENOSPC: 'no space left on device', ENOTDIR: 'a part of the path is a file', EDQUOT: 'disk quota exceeded' };
  return new IchnetError('WRITE_FAILED', `${path}: ${what} (${(err.code && reasons[err.code]) ?? err.message})`, { cause: e });
}

/** Creates `path` (with its parents when `recursive`), naming the first directory that cannot be created and why. */
async function makeDirectory(path: string, what: string, recursive: boolean): Promise<void> {
  if (existsSync(path)) return;
  if (recursive) await makeDirectory(dirname(path), what, true);
  try {
    await mkdir(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw writeError(e, path, `cannot create ${what}`);
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

/** A run directory (ARCHITECTURE.md §8): config.yaml, metrics.jsonl, checkpoints/, predictions.csv, report.html. */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { configToYaml } from '../config/load.js';
import type { ExperimentConfig } from '../config/experiment-schema.js';
import type { PatientRecord } from '../data/types.js';
import type { HistoryEntry } from './state.js';
import { predictionsCsv } from './predictions.js';
import { IchnetError } from '../errors/ichnet-error.js';

export class RunDirectory {
  private constructor(readonly dir: string) {}

  /** `YYYYMMDD-HHMMSS` in UTC, for run names. */
  static timestamp(date = new Date()): string {
    return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  }

  static async create(dir: string): Promise<RunDirectory> {
    const full = resolve(dir);
    await mkdir(join(full, 'checkpoints'), { recursive: true });
    return new RunDirectory(full);
  }

  static async open(dir: string): Promise<RunDirectory> {
    const full = resolve(dir);
    if (!existsSync(join(full, 'checkpoints'))) throw new IchnetError('RUN_DIR_INVALID', `${full}: not a run directory (no checkpoints/)`);
    return new RunDirectory(full);
  }

  checkpoint(kind: 'last' | 'best'): string {
    return join(this.dir, 'checkpoints', kind);
  }

  /** Writes a file atomically (temporary name, then rename). */
  async writeAtomic(name: string, text: string): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(`${path}.tmp`, text);
    await rename(`${path}.tmp`, path);
    return path;
  }

  async writeConfig(config: ExperimentConfig): Promise<void> {
    await this.writeAtomic('config.yaml', configToYaml(config));
  }

  /** Appends one line to metrics.jsonl. */
  async log(entry: HistoryEntry): Promise<void> {
    await appendFile(join(this.dir, 'metrics.jsonl'), `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  }

  async writePredictions(labels: string[], patients: PatientRecord[], probs: Map<string, Float32Array>, thresholds: number[]): Promise<string> {
    return this.writeAtomic('predictions.csv', predictionsCsv(labels, patients, probs, thresholds));
  }
}

/** Runs the PyTorch reference (test/oracle/reference.py) on Debian's python3 with torch. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { Batch, SessionConfig } from '../../src/index.js';
import { packageRoot } from '../../src/package-root.js';
import { tempDir } from './temp-dir.js';

/** The interpreter with torch: Debian's, not a pyenv one earlier in PATH (ICHNET_PYTHON overrides). */
export const python = process.env.ICHNET_PYTHON ?? '/usr/bin/python3';
const script = resolve(packageRoot, 'test', 'oracle', 'reference.py');

/** A fresh directory holding config.json, batch.json, images.bin and labels.bin for the oracle. */
export function oracleDir(config: SessionConfig, batch: Batch): string {
  const dir = tempDir('ichnet-oracle-');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeOracleBatch(dir, batch);
  return dir;
}

/** Writes batch.json, images.bin and labels.bin (if labelled) into an existing directory. */
export function writeOracleBatch(dir: string, batch: Batch): void {
  const dtype = batch.images instanceof Uint8Array ? 'uint8' : batch.images instanceof Int16Array ? 'int16' : 'float32';
  writeFileSync(join(dir, 'batch.json'), JSON.stringify({ shape: batch.shape, dtype, lengths: Array.from(batch.lengths) }));
  writeFileSync(join(dir, 'images.bin'), Buffer.from(batch.images.buffer, batch.images.byteOffset, batch.images.byteLength));
  if (batch.labels) writeFileSync(join(dir, 'labels.bin'), batch.labels);
}

/** Runs `reference.py <command> <dir>`; throws with the oracle's stderr on failure. */
export function runOracle(command: string, dir: string): void {
  try {
    execFileSync(python, [script, command, dir], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`oracle ${command} failed: ${err.stderr || err.message}`);
  }
}

/** Runs an inline Python program (with torch available); returns its stdout. */
export function runPython(code: string, args: string[] = []): string {
  return execFileSync(python, ['-c', code, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Reads a batch written by `oracleDir` (float32 images only). */
export function readOracleBatch(dir: string): Batch {
  const meta = JSON.parse(readFileSync(join(dir, 'batch.json'), 'utf8')) as { shape: Batch['shape']; dtype: string; lengths: number[] };
  if (meta.dtype !== 'float32') throw new Error(`${dir}: only float32 batches are supported here`);
  const raw = readFileSync(join(dir, 'images.bin'));
  const images = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return { images, shape: meta.shape, lengths: Int32Array.from(meta.lengths), labels: new Uint8Array(readFileSync(join(dir, 'labels.bin'))) };
}

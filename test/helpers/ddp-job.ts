/** The files of a small data-parallel job for tests: per-step, per-rank batches in the oracle's layout. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { Batch } from '../../src/index.js';
import { packageRoot } from '../../src/package-root.js';
import type { RankSpec } from './ddp-rank.js';
import { writeOracleBatch } from './oracle.js';
import { randomBatch } from './tiny.js';

/** The compiled rank program (test/helpers/ddp-rank.ts). */
export const rankScript = resolve(packageRoot, 'dist', 'test', 'helpers', 'ddp-rank.js');

/** Patients [from, to) of a batch, keeping its padded length. */
function patients(batch: Batch, from: number, to: number): Batch {
  const [B, S, C, H, W] = batch.shape;
  const per = S * C * H * W;
  const labels = batch.labels as Uint8Array;
  const L = labels.length / (B * S);
  return {
    images: (batch.images as Float32Array).slice(from * per, to * per),
    shape: [to - from, S, C, H, W],
    lengths: batch.lengths.slice(from, to),
    labels: labels.slice(from * S * L, to * S * L),
  };
}

/**
 * Writes <dir>/step<k>-rank<r>/ (each rank's patients of step k's global batch, in equal parts)
 * and <dir>/step<k>-global/ (the whole global batch), from seeded random float32 batches.
 */
export function writeJobBatches(dir: string, steps: number[][], world: number, seed = 500): void {
  steps.forEach((lengths, k) => {
    const global = randomBatch(seed + k, lengths, { pixels: 'float32', size: 32 });
    const per = lengths.length / world;
    for (let r = 0; r < world; r++) {
      const sub = join(dir, `step${k}-rank${r}`);
      mkdirSync(sub, { recursive: true });
      writeOracleBatch(sub, patients(global, per * r, per * (r + 1)));
    }
    const all = join(dir, `step${k}-global`);
    mkdirSync(all, { recursive: true });
    writeOracleBatch(all, global);
  });
}

/** Writes a rank spec file and returns its path. */
export function writeSpec(path: string, spec: RankSpec): string {
  writeFileSync(path, JSON.stringify(spec));
  return path;
}

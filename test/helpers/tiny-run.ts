/** A tiny trained run (synthetic DICOM data, one short epoch) for tests that need a checkpoint. */
import { join } from 'node:path';

import { Trainer } from '../../src/index.js';
import { tinyExperiment } from './tiny.js';

/** Trains the tiny experiment for one epoch on 8 synthetic patients under `dir`. */
export async function tinyRun(dir: string): Promise<{ runDir: string; dataRoot: string }> {
  const dataRoot = join(dir, 'data');
  const trainer = await Trainer.create(
    tinyExperiment(dataRoot, join(dir, 'runs'), {
      synthetic: { patients: 8, slices: [4, 6], size: 32, format: 'dicom', seed: 11 },
      train: { epochs: 1, patients_per_batch: 2, max_slices: 4, eval_max_slices: 8, validation: 0.25, report_samples: 0, log_every: 1 },
    }),
  );
  const { runDir } = await trainer.fit();
  return { runDir, dataRoot };
}

/** Tiny training experiments for end-to-end tests: a 1/16-width model on 32² synthetic slices. */
import type { ExperimentConfigInput } from '../../src/index.js';

/**
 * An experiment on the synthetic set at `root` (generated on first use) writing runs under `out`;
 * `overrides` replace whole top-level sections.
 */
export function tinyExperiment(root: string, out: string, overrides: Partial<ExperimentConfigInput> = {}): ExperimentConfigInput {
  return {
    name: 'tiny',
    data: { format: 'synthetic', root },
    synthetic: { patients: 12, slices: [4, 6], size: 32, format: 'dicom', seed: 3 },
    model: { backbone: 'vgg16_bn', width: 1 / 16, input_size: 32, label_hidden: 8, slice_hidden: 8 },
    optim: { lr: 1e-3 },
    train: { epochs: 2, patients_per_batch: 2, max_slices: 4, eval_max_slices: 4, validation: 0.25, report_samples: 2, log_every: 1 },
    device: 'cpu',
    threads: 2,
    out,
    ...overrides,
  };
}

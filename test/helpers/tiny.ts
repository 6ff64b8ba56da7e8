/** Tiny models and seeded random batches for tests (shapes small enough for a 2-core CI). */
import type { Batch, ExperimentConfigInput, SessionConfigInput } from '../../src/index.js';

/** A deterministic PRNG (mulberry32) so that test data is the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 1/16-width VGG16 on 32x32 inputs with small RNNs, on the CPU. */
export function tinyConfig(overrides: { model?: object; optim?: object; loss?: object; prep?: object } & Record<string, unknown> = {}): SessionConfigInput {
  const { model, optim, loss, prep, ...rest } = overrides;
  return {
    model: { backbone: 'vgg16_bn', width: 1 / 16, label_hidden: 8, slice_hidden: 8, ...model },
    optim: { name: 'adam', lr: 1e-3, ...optim },
    loss: { ...loss },
    // The PyTorch oracle has no CLAHE (OpenCV parity is tested on its own).
    prep: { input_size: 32, clahe: { enabled: false }, ...(prep as object | undefined) },
    device: 'cpu',
    threads: 2,
    seed: 7,
    ...rest,
  } as SessionConfigInput;
}

export type Pixels = 'uint8' | 'int16' | 'float32';

/** A model shape and a batch to run it on, for parity tests against the PyTorch oracle. */
export interface ModelCase {
  backbone: 'vgg16' | 'vgg16_bn';
  label_rnn: 'lstm' | 'gru' | 'none';
  slice_rnn: 'gru' | 'lstm' | 'none';
  lengths: number[];
  pixels: Pixels;
  size: number;
}

/** A random batch; `lengths` gives each patient's valid slices (S = max). */
export function randomBatch(
  seed: number,
  lengths: number[],
  { pixels = 'float32', size = 32, labels = 5, channels }: { pixels?: Pixels; size?: number; labels?: number; channels?: number } = {},
): Batch {
  const r = rng(seed);
  const B = lengths.length;
  const S = Math.max(...lengths);
  const C = channels ?? (pixels === 'float32' ? 3 : 1);
  const n = B * S * C * size * size;
  const images =
    pixels === 'uint8'
      ? Uint8Array.from({ length: n }, () => Math.floor(r() * 256))
      : pixels === 'int16'
        ? Int16Array.from({ length: n }, () => Math.round(r() * 2400 - 1000))
        : Float32Array.from({ length: n }, () => r() * 4 - 2);
  return {
    images,
    shape: [B, S, C, size, size],
    lengths: Int32Array.from(lengths),
    labels: Uint8Array.from({ length: B * S * labels }, () => (r() < 0.3 ? 1 : 0)),
  };
}

/**
 * A two-epoch experiment on 12 synthetic 32×32 patients (generated into `dataRoot` on first use),
 * writing its runs under `out`.
 */
export function tinyExperiment(dataRoot: string, out: string, overrides: Partial<ExperimentConfigInput> = {}): ExperimentConfigInput {
  return {
    name: 'tiny',
    data: { format: 'synthetic', root: dataRoot },
    synthetic: { patients: 12, slices: [4, 6], size: 32, format: 'dicom', seed: 3 },
    model: { backbone: 'vgg16_bn', width: 1 / 16, label_hidden: 8, slice_hidden: 8 },
    prep: { input_size: 32 },
    optim: { lr: 1e-3 },
    train: { epochs: 2, patients_per_batch: 2, max_slices: 4, eval_max_slices: 4, validation: 0.25, report_samples: 2, log_every: 1 },
    device: 'cpu',
    threads: 2,
    out,
    ...overrides,
  };
}

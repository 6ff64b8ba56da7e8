/** What the model sees: the training pipeline's preprocessing, exposed for previews and tests. */
import { availableParallelism } from 'node:os';

import { formatIssues, prepSchema, type SessionConfigInput } from '../config/session-schema.js';
import { callNative } from '../session/binding.js';
import type { Batch } from '../session/types.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** How `preprocess` prepares a batch: the preprocessing settings, output size, device and threads. */
export interface PreprocessOptions {
  /** Preprocessing settings (input size, windows, CLAHE, channels, normalisation); defaults as in a session. */
  prep?: NonNullable<SessionConfigInput['prep']>;
  /** `cpu` (default), `cuda` or `cuda:<i>`. */
  device?: string;
  threads?: number;
}

/**
 * Runs docs/ARCHITECTURE.md §3 on a batch exactly as a session does: window/scale → CLAHE → one
 * resampling of the whole slice or, with `prep.crop: head`, of each series' head box (moved by the
 * augmentation's affine when `batch.aug` is set, then colour jitter) → normalise.
 * Returns float32 [sum(lengths), 3, prep.input_size, prep.input_size] for the valid slices, patient-major.
 */
export async function preprocess(batch: Batch, options: PreprocessOptions = {}): Promise<Float32Array> {
  const parsed = prepSchema.safeParse(options.prep ?? {});
  if (!parsed.success) throw new IchnetError('CONFIG_INVALID', `invalid prep config:\n${formatIssues(parsed.error, 'prep')}`);
  return callNative((addon) => addon.preprocess(batch, parsed.data, options.device ?? 'cpu', options.threads ?? availableParallelism()));
}

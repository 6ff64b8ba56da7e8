/** Shared input types and validation for the metrics (docs/ARCHITECTURE.md §6). */

/**
 * Multi-label predictions with their ground truth, both N × L row-major: row `i`, label `l` at
 * index `i * L + l`. `probs` are probabilities in [0, 1]; `targets` are 0 or 1.
 */
import { IchnetError } from '../errors/ichnet-error.js';

export interface Scored {
  /** Predicted probabilities, N × L row-major. */
  probs: Float32Array;
  /** Ground truth, N × L row-major, each 0 or 1. */
  targets: Uint8Array;
}

/** True-positive, false-positive, false-negative and true-negative counts of one label. */
export interface LabelCounts {
  /** Rows predicted positive that are positive. */
  tp: number;
  /** Rows predicted positive that are negative. */
  fp: number;
  /** Rows predicted negative that are positive. */
  fn: number;
  /** Rows predicted negative that are negative. */
  tn: number;
  /** Positive rows (`tp + fn`), scikit-learn's `support`. */
  support: number;
}

/**
 * Checks that `probs` and `targets` are N × `numLabels` and returns N. Throws an IchnetError INVALID_ARGUMENT on
 * a size mismatch, a NaN probability or a target other than 0/1.
 */
export function checkScored(probs: Float32Array, targets: Uint8Array, numLabels: number): number {
  if (!Number.isInteger(numLabels) || numLabels < 1) throw new IchnetError('INVALID_ARGUMENT', `metrics: numLabels must be a positive integer, got ${numLabels}`);
  if (probs.length % numLabels !== 0) throw new IchnetError('INVALID_ARGUMENT', `metrics: probs has ${probs.length} values, not a multiple of ${numLabels} labels`);
  if (targets.length !== probs.length) throw new IchnetError('INVALID_ARGUMENT', `metrics: targets has ${targets.length} values but probs has ${probs.length}`);
  for (let i = 0; i < probs.length; i++) {
    if (Number.isNaN(probs[i] as number)) throw new IchnetError('INVALID_ARGUMENT', `metrics: probs[${i}] is NaN`);
    if ((targets[i] as number) > 1) throw new IchnetError('INVALID_ARGUMENT', `metrics: targets[${i}] is ${targets[i]}, expected 0 or 1`);
  }
  return probs.length / numLabels;
}

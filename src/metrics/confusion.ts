/** Thresholded predictions and their per-label confusion counts. */
import { checkScored, type LabelCounts } from './types.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** Checks per-label thresholds (one finite-or-infinite, non-NaN number per label); returns L. */
export function checkThresholds(thresholds: readonly number[]): number {
  if (thresholds.length < 1) throw new IchnetError('INVALID_ARGUMENT', 'metrics: thresholds must hold one value per label');
  thresholds.forEach((t, l) => {
    if (typeof t !== 'number' || Number.isNaN(t)) throw new IchnetError('INVALID_ARGUMENT', `metrics: thresholds[${l}] is not a number`);
  });
  return thresholds.length;
}

/**
 * Thresholded predictions: `1` where `probs[i, l] >= thresholds[l]` (compared in double
 * precision), else `0`. `probs` is N × L row-major with L = `thresholds.length`.
 */
export function binarize(probs: Float32Array, thresholds: readonly number[]): Uint8Array {
  const L = checkThresholds(thresholds);
  if (probs.length % L !== 0) throw new IchnetError('INVALID_ARGUMENT', `metrics: probs has ${probs.length} values, not a multiple of ${L} labels`);
  const out = new Uint8Array(probs.length);
  for (let i = 0; i < probs.length; i += L) {
    for (let l = 0; l < L; l++) out[i + l] = (probs[i + l] as number) >= (thresholds[l] as number) ? 1 : 0;
  }
  return out;
}

/**
 * Per-label TP/FP/FN/TN counts of the predictions `probs >= thresholds[l]` against `targets`
 * (both N × L row-major, L = `thresholds.length`), for a confusion summary.
 */
export function confusionCounts(probs: Float32Array, targets: Uint8Array, thresholds: readonly number[]): LabelCounts[] {
  const L = checkThresholds(thresholds);
  const N = checkScored(probs, targets, L);
  const tp = new Float64Array(L);
  const fp = new Float64Array(L);
  const fn = new Float64Array(L);
  for (let i = 0, k = 0; i < N; i++) {
    for (let l = 0; l < L; l++, k++) {
      const pred = (probs[k] as number) >= (thresholds[l] as number);
      if (targets[k] === 1) {
        if (pred) tp[l] = (tp[l] as number) + 1;
        else fn[l] = (fn[l] as number) + 1;
      } else if (pred) fp[l] = (fp[l] as number) + 1;
    }
  }
  return Array.from({ length: L }, (_, l) => {
    const t = tp[l] as number;
    const f = fp[l] as number;
    const n = fn[l] as number;
    return { tp: t, fp: f, fn: n, tn: N - t - f - n, support: t + n };
  });
}

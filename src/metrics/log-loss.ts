/**
 * RSNA Intracranial Hemorrhage Detection's weighted multi-label log loss.
 *
 * The competition scores a submission of one row per (image, subtype) with scikit-learn's
 * `log_loss(y, p, sample_weight=w)` over all those rows, w = 2 for `any` and 1 for the five
 * subtypes, with scikit-learn's clipping of the time, eps = 1e-15. Every image carries the same
 * total weight (7), so that equals the mean over images of each image's weighted mean loss:
 *
 *     L = (1/N) Σᵢ [ Σₗ wₗ · −(yᵢₗ·ln p̂ᵢₗ + (1 − yᵢₗ)·ln(1 − p̂ᵢₗ)) ] / Σₗ wₗ,
 *     p̂ = min(max(p, 1e-15), 1 − 1e-15)   (in double precision).
 */
import { RSNA_LABELS } from '../config/labels.js';
import { checkScored } from './types.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** The probability clipping of the RSNA log loss: p is clipped to [eps, 1 − eps]. */
export const RSNA_LOG_LOSS_EPS = 1e-15;

/** RSNA's per-label log-loss weights: 2 for `any`, 1 for each subtype. */
export const RSNA_LOG_LOSS_WEIGHTS: Readonly<Record<(typeof RSNA_LABELS)[number], number>> = {
  epidural: 1,
  intraparenchymal: 1,
  intraventricular: 1,
  subarachnoid: 1,
  subdural: 1,
  any: 2,
};

/** Whether `labels` are exactly RSNA's six label names (in any order, each once). */
export function isRsnaLabels(labels: readonly string[]): boolean {
  const set = new Set(labels);
  return labels.length === RSNA_LABELS.length && set.size === labels.length && RSNA_LABELS.every((l) => set.has(l));
}

/**
 * Weighted multi-label log loss: the mean over rows of Σₗ wₗ·BCE(yᵢₗ, p̂ᵢₗ) / Σₗ wₗ with
 * p̂ = p clipped to [eps, 1 − eps]. `NaN` with no rows.
 *
 * @param probs N × L row-major probabilities, L = `weights.length`.
 * @param targets N × L row-major 0/1 ground truth.
 * @param weights one non-negative weight per label (not all 0).
 * @param eps clipping (default 1e-15).
 */
export function weightedLogLoss(probs: Float32Array, targets: Uint8Array, weights: readonly number[], eps: number = RSNA_LOG_LOSS_EPS): number {
  const L = weights.length;
  const N = checkScored(probs, targets, L);
  const wsum = weights.reduce((a, b) => a + b, 0);
  if (!(wsum > 0) || weights.some((w) => !(w >= 0))) throw new IchnetError('INVALID_ARGUMENT', 'metrics: log-loss weights must be >= 0 and not all 0');
  if (N === 0) return Number.NaN;
  const lo = eps;
  const hi = 1 - eps;
  // Neumaier-compensated sum of the per-row losses.
  let sum = 0;
  let comp = 0;
  for (let i = 0, k = 0; i < N; i++) {
    let row = 0;
    for (let l = 0; l < L; l++, k++) {
      const p = Math.min(Math.max(probs[k] as number, lo), hi);
      row -= (weights[l] as number) * (targets[k] === 1 ? Math.log(p) : Math.log(1 - p));
    }
    const v = row / wsum;
    const t = sum + v;
    comp += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum;
    sum = t;
  }
  return (sum + comp) / N;
}

/**
 * RSNA's weighted log loss (module doc) of `probs`/`targets` (N × 6 row-major) whose columns are
 * named by `labels`, which must be RSNA's six names ({@link isRsnaLabels}; any order).
 */
export function rsnaLogLoss(probs: Float32Array, targets: Uint8Array, labels: readonly string[]): number {
  if (!isRsnaLabels(labels)) throw new IchnetError('INVALID_ARGUMENT', `metrics: the RSNA log loss needs the labels ${RSNA_LABELS.join(', ')}; got ${labels.join(', ')}`);
  const weights = labels.map((l) => RSNA_LOG_LOSS_WEIGHTS[l as (typeof RSNA_LABELS)[number]]);
  return weightedLogLoss(probs, targets, weights);
}

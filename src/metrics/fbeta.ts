/**
 * F-beta, precision and recall on thresholded multi-label predictions, equal to scikit-learn
 * 1.2's `precision_recall_fscore_support(y, p, beta=β, average=…, zero_division=1)`.
 *
 * Zero-division semantics (scikit-learn 1.2, `zero_division=1`), applied per label (macro, per
 * label), per row (samples) or to the pooled counts (micro):
 * - precision = TP / (TP + FP), or 1 when nothing is predicted positive;
 * - recall = TP / (TP + FN), or 1 when nothing is positive;
 * - Fβ = (1 + β²)·P·R / (β²·P + R) from those P and R, or 0 when β²·P + R = 0.
 *
 * Hence Fβ = 1 exactly when there are no positives and no predicted positives, 0 whenever
 * TP = 0 otherwise, and (1 + β²)TP / ((1 + β²)TP + β²FN + FP) in general (for β = 2:
 * 5TP / (5TP + 4FN + FP)). A label with no true and no predicted positives therefore counts as
 * 1 in the macro mean, and such a row counts as 1 in the samples mean.
 */
import { checkThresholds } from './confusion.js';
import { checkScored, type LabelCounts } from './types.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** The F-beta's default β: recall weighted four times as much as precision (F2). */
export const DEFAULT_BETA = 2;

/** Precision, recall and F-beta of one set of counts. */
export interface Prf {
  /** TP / (TP + FP), 1 when TP + FP = 0. */
  precision: number;
  /** TP / (TP + FN), 1 when TP + FN = 0. */
  recall: number;
  /** (1 + β²)·P·R / (β²·P + R), 0 when the denominator is 0. */
  fbeta: number;
}

/** One score averaged three ways plus its per-label values. */
export interface AveragedScore {
  /** From the TP/FP/FN pooled over all rows × labels. */
  micro: number;
  /** Unweighted mean of the per-label values. */
  macro: number;
  /** Mean over rows of each row's value (NaN when there are no rows). */
  samples: number;
  /** One value per label, in label order. */
  perLabel: number[];
}

/** Everything {@link fbetaScore} computes. */
export interface FbetaResult {
  /** The β used. */
  beta: number;
  /** F-beta, averaged micro / macro / samples and per label. */
  fbeta: AveragedScore;
  /** Precision, averaged the same ways. */
  precision: AveragedScore;
  /** Recall, averaged the same ways. */
  recall: AveragedScore;
  /** Per-label confusion counts (their `support` is scikit-learn's per-label support). */
  counts: LabelCounts[];
}

/**
 * Precision, recall and F-beta of counts with scikit-learn 1.2's `zero_division=1` rules, using
 * its arithmetic (so results match it to the last bit where the operations coincide).
 */
export function prfFromCounts(tp: number, fp: number, fn: number, beta: number = DEFAULT_BETA): Prf {
  const predicted = tp + fp;
  const actual = tp + fn;
  const precision = predicted === 0 ? 1 : tp / predicted;
  const recall = actual === 0 ? 1 : tp / actual;
  const beta2 = beta * beta;
  let denom = beta2 * precision + recall;
  if (denom === 0) denom = 1;
  const fbeta = ((1 + beta2) * precision * recall) / denom;
  return { precision, recall, fbeta };
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] as number;
  return s / values.length;
}

/**
 * F-beta (β = 2 by default), precision and recall of the predictions `probs >= thresholds[l]`
 * against `targets`, averaged micro, macro and samples, and per label, plus per-label counts.
 *
 * @param probs N × L row-major probabilities, L = `thresholds.length`.
 * @param targets N × L row-major 0/1 ground truth.
 * @param thresholds one threshold per label; a prediction is positive when prob >= threshold.
 * @param options `beta` (default 2; must be >= 0).
 */
export function fbetaScore(
  probs: Float32Array,
  targets: Uint8Array,
  thresholds: readonly number[],
  options: { beta?: number } = {},
): FbetaResult {
  const beta = options.beta ?? DEFAULT_BETA;
  if (!(beta >= 0) || !Number.isFinite(beta)) throw new IchnetError('INVALID_ARGUMENT', `metrics: beta must be a finite number >= 0, got ${beta}`);
  const L = checkThresholds(thresholds);
  const N = checkScored(probs, targets, L);
  const tp = new Float64Array(L);
  const fp = new Float64Array(L);
  const fn = new Float64Array(L);
  let sumP = 0;
  let sumR = 0;
  let sumF = 0;
  for (let i = 0, k = 0; i < N; i++) {
    let rtp = 0;
    let rfp = 0;
    let rfn = 0;
    for (let l = 0; l < L; l++, k++) {
      const pred = (probs[k] as number) >= (thresholds[l] as number);
      if (targets[k] === 1) {
        if (pred) {
          tp[l] = (tp[l] as number) + 1;
          rtp++;
        } else {
          fn[l] = (fn[l] as number) + 1;
          rfn++;
        }
      } else if (pred) {
        fp[l] = (fp[l] as number) + 1;
        rfp++;
      }
    }
    const row = prfFromCounts(rtp, rfp, rfn, beta);
    sumP += row.precision;
    sumR += row.recall;
    sumF += row.fbeta;
  }
  const counts: LabelCounts[] = [];
  const perLabel: Prf[] = [];
  let TP = 0;
  let FP = 0;
  let FN = 0;
  for (let l = 0; l < L; l++) {
    const t = tp[l] as number;
    const f = fp[l] as number;
    const n = fn[l] as number;
    counts.push({ tp: t, fp: f, fn: n, tn: N - t - f - n, support: t + n });
    perLabel.push(prfFromCounts(t, f, n, beta));
    TP += t;
    FP += f;
    FN += n;
  }
  const micro = prfFromCounts(TP, FP, FN, beta);
  const averaged = (key: keyof Prf, sum: number): AveragedScore => {
    const values = perLabel.map((p) => p[key]);
    return { micro: micro[key], macro: mean(values), samples: N === 0 ? Number.NaN : sum / N, perLabel: values };
  };
  return {
    beta,
    fbeta: averaged('fbeta', sumF),
    precision: averaged('precision', sumP),
    recall: averaged('recall', sumR),
    counts,
  };
}

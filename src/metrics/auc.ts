/**
 * ROC AUC per label and macro, equal to scikit-learn's `roc_auc_score` (the trapezoidal area
 * under the ROC curve through every distinct threshold, i.e. the Mann–Whitney statistic with ties
 * counted one half).
 */
import { labelCurves, type LabelCurve } from './curve.js';

/** ROC AUC of every label and their macro mean. */
export interface RocAuc {
  /**
   * One AUC per label. `NaN` where the label has only one class among the rows (no positives or
   * no negatives): scikit-learn raises there ("Only one class present in y_true").
   */
  perLabel: number[];
  /** Mean of the labels whose AUC is defined (non-NaN); `NaN` when none is. */
  macro: number;
}

/**
 * Area under the ROC curve of one label's {@link LabelCurve}; `NaN` when it has no positives or
 * no negatives. The trapezoid sums are accumulated in exact integers (counts up to 2^26 per class
 * stay exact) and divided once.
 */
export function aucFromCurve(curve: LabelCurve): number {
  const { tps, fps, positives, negatives } = curve;
  if (positives === 0 || negatives === 0) return Number.NaN;
  let area2 = 0;
  let prevTp = 0;
  let prevFp = 0;
  for (let i = 0; i < tps.length; i++) {
    const tp = tps[i] as number;
    const fp = fps[i] as number;
    area2 += (fp - prevFp) * (tp + prevTp);
    prevTp = tp;
    prevFp = fp;
  }
  return area2 / (2 * positives * negatives);
}

/** Mean of the non-NaN values; `NaN` when there are none. */
export function nanMean(values: readonly number[]): number {
  let s = 0;
  let n = 0;
  for (const v of values) {
    if (!Number.isNaN(v)) {
      s += v;
      n++;
    }
  }
  return n === 0 ? Number.NaN : s / n;
}

/**
 * ROC AUC of each label of `probs` (N × `numLabels` row-major) against `targets`, and the macro
 * mean over the labels where both classes are present. One sort per label.
 */
export function rocAuc(probs: Float32Array, targets: Uint8Array, numLabels: number): RocAuc {
  const perLabel = labelCurves(probs, targets, numLabels).map(aucFromCurve);
  return { perLabel, macro: nanMean(perLabel) };
}

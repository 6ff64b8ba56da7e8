/**
 * Precision–recall curves and average precision, equal to scikit-learn's
 * `precision_recall_curve` and `average_precision_score` (non-interpolated).
 */
import { curveOf, labelCurves, type LabelCurve } from './curve.js';
import { checkScored } from './types.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** One label's precision–recall curve, in scikit-learn's order. */
export interface PrCurve {
  /**
   * Precision at each threshold (ascending thresholds), then a final 1: `precision[i]` is the
   * precision of `prob >= thresholds[i]`. Length `thresholds.length + 1`.
   */
  precision: Float64Array;
  /**
   * Recall at each threshold, then a final 0 (non-increasing). When the label has no positives,
   * every recall but the last is 1, as in scikit-learn.
   */
  recall: Float64Array;
  /** The distinct predicted probabilities of the label, ascending. */
  thresholds: Float64Array;
}

/** The precision–recall curve of a {@link LabelCurve}. */
export function prCurveFromCurve(curve: LabelCurve): PrCurve {
  const n = curve.thresholds.length;
  const precision = new Float64Array(n + 1);
  const recall = new Float64Array(n + 1);
  const thresholds = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const j = n - 1 - i;
    const tp = curve.tps[i] as number;
    const predicted = tp + (curve.fps[i] as number);
    precision[j] = predicted === 0 ? 0 : tp / predicted;
    recall[j] = curve.positives === 0 ? 1 : tp / curve.positives;
    thresholds[j] = curve.thresholds[i] as number;
  }
  precision[n] = 1;
  recall[n] = 0;
  return { precision, recall, thresholds };
}

/**
 * Average precision of a {@link LabelCurve}: Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the thresholds from the
 * highest down. 0 when the label has no positives (scikit-learn's value there, with a warning).
 */
export function averagePrecisionFromCurve(curve: LabelCurve): number {
  const { tps, fps, positives } = curve;
  if (positives === 0) return 0;
  let ap = 0;
  let prevTp = 0;
  for (let i = 0; i < tps.length; i++) {
    const tp = tps[i] as number;
    if (tp !== prevTp) ap += ((tp - prevTp) / positives) * (tp / (tp + (fps[i] as number)));
    prevTp = tp;
  }
  return ap;
}

/**
 * The precision–recall curve of label `label` of `probs`/`targets` (N × `numLabels` row-major),
 * as `sklearn.metrics.precision_recall_curve(targets[:, label], probs[:, label])`: one point
 * (recall, precision) per distinct probability, plus the final point (0, 1).
 */
export function precisionRecallCurve(probs: Float32Array, targets: Uint8Array, numLabels: number, label: number): PrCurve {
  checkScored(probs, targets, numLabels);
  if (!Number.isInteger(label) || label < 0 || label >= numLabels) throw new IchnetError('INVALID_ARGUMENT', `metrics: label ${label} is not in [0, ${numLabels})`);
  return prCurveFromCurve(curveOf(probs, targets, numLabels, label));
}

/** Average precision per label and its macro mean. */
export interface AveragePrecision {
  /** One value per label (0 for a label with no positives, as scikit-learn). */
  perLabel: number[];
  /** Mean over all labels: `average_precision_score(targets, probs, average='macro')`. */
  macro: number;
}

/**
 * Average precision of each label, equal to `sklearn.metrics.average_precision_score`, and the
 * macro mean over all labels (labels without positives included as 0, as scikit-learn does).
 */
export function averagePrecision(probs: Float32Array, targets: Uint8Array, numLabels: number): AveragePrecision {
  const perLabel = labelCurves(probs, targets, numLabels).map(averagePrecisionFromCurve);
  return { perLabel, macro: perLabel.reduce((a, b) => a + b, 0) / perLabel.length };
}

/** {@link precisionRecallCurve} for every label (one sort per label). */
export function precisionRecallCurves(probs: Float32Array, targets: Uint8Array, numLabels: number): PrCurve[] {
  return labelCurves(probs, targets, numLabels).map(prCurveFromCurve);
}

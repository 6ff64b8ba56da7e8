/**
 * Per-label threshold tuning: the threshold that maximises each label's F-beta (F2 by default)
 * on validation predictions, found exactly over every distinct predicted probability.
 */
import { curvesOf, type LabelCurve } from './curve.js';
import { DEFAULT_BETA, prfFromCounts } from './fbeta.js';
import { checkScored } from './types.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** The threshold used when a label has no rows to tune on (the project's default). */
export const DEFAULT_THRESHOLD = 0.5;

/** The smallest float32 strictly greater than `x` (a finite float32 value). */
export function nextFloat32Up(x: number): number {
  if (x === 0) return 2 ** -149;
  if (!Number.isFinite(x)) return x === -Infinity ? -3.4028234663852886e38 : x;
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] = (u[0] as number) + (x > 0 ? 1 : -1);
  return f[0] as number;
}

/** The threshold {@link tuneThresholds} picks for one label, with the F-beta it reaches. */
export interface TunedThreshold {
  /** The chosen threshold (predict positive when prob >= threshold). */
  threshold: number;
  /** The label's F-beta at that threshold on the tuning data (scikit-learn, `zero_division=1`). */
  fbeta: number;
}

/**
 * The F-beta-maximising threshold of one label's {@link LabelCurve}.
 *
 * Candidates: every distinct predicted probability `t` (predictions `prob >= t`), plus "predict
 * nothing" represented by the smallest float32 above the largest probability. Scores are compared
 * exactly (integer cross-multiplication of (1+β²)TP / ((1+β²)TP + β²FN + FP) for integer β², else
 * in doubles); ties go to the largest threshold (fewest positive predictions). "Predict nothing"
 * wins only when the label has no positives (F-beta 1 there by `zero_division=1`, 0 at any
 * other candidate). With no rows at all, returns {@link DEFAULT_THRESHOLD} with F-beta 1.
 */
export function tuneFromCurve(curve: LabelCurve, beta: number = DEFAULT_BETA): TunedThreshold {
  const { thresholds, tps, fps, positives } = curve;
  if (thresholds.length === 0) return { threshold: DEFAULT_THRESHOLD, fbeta: 1 };
  const b2 = beta * beta;
  const w = 1 + b2;
  // Best so far as a fraction num/den; start with "predict nothing".
  let bestNum = positives === 0 ? 1 : 0;
  let bestDen = 1;
  let best = -1;
  for (let i = 0; i < thresholds.length; i++) {
    const tp = tps[i] as number;
    if (tp === 0) continue; // F-beta 0 here: never strictly better than the start
    const num = w * tp;
    const den = w * tp + b2 * (positives - tp) + (fps[i] as number);
    if (num * bestDen > bestNum * den) {
      bestNum = num;
      bestDen = den;
      best = i;
    }
  }
  if (best < 0) return { threshold: nextFloat32Up(thresholds[0] as number), fbeta: prfFromCounts(0, 0, positives, beta).fbeta };
  const tp = tps[best] as number;
  return { threshold: thresholds[best] as number, fbeta: prfFromCounts(tp, fps[best] as number, positives - tp, beta).fbeta };
}

/**
 * Per label, the threshold maximising that label's F-beta (β = 2 by default) on `probs`/`targets`
 * (N × `numLabels` row-major), searched exactly over the distinct predicted probabilities (one
 * sort per label). Ties go to the largest threshold; a label without positives gets a threshold
 * just above its largest probability (it then predicts nothing, which scores 1); see
 * {@link tuneFromCurve}.
 */
export function tuneThresholds(probs: Float32Array, targets: Uint8Array, numLabels: number, options: { beta?: number } = {}): number[] {
  return tuneThresholdsDetailed(probs, targets, numLabels, options).map((t) => t.threshold);
}

/** {@link tuneThresholds} with the F-beta each chosen threshold reaches. */
export function tuneThresholdsDetailed(
  probs: Float32Array,
  targets: Uint8Array,
  numLabels: number,
  options: { beta?: number } = {},
): TunedThreshold[] {
  const beta = options.beta ?? DEFAULT_BETA;
  if (!(beta >= 0) || !Number.isFinite(beta)) throw new IchnetError('INVALID_ARGUMENT', `metrics: beta must be a finite number >= 0, got ${beta}`);
  checkScored(probs, targets, numLabels);
  return curvesOf(probs, targets, numLabels).map((curve) => tuneFromCurve(curve, beta));
}

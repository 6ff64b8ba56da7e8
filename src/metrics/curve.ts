/**
 * The per-label cumulative counts behind ROC AUC, precision–recall curves, average precision
 * and threshold tuning: scikit-learn's `_binary_clf_curve`, computed with one radix sort of the
 * label's positive and of its negative probabilities (O(N), no comparator) and a merge walk.
 */
import { float32BitsToKey, keyToFloat32Bits, radixSortUint32 } from './radix.js';
import { checkScored } from './types.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** Cumulative counts of one label at each distinct predicted probability, highest first. */
export interface LabelCurve {
  /** The distinct probabilities of the label, strictly decreasing (float32 values as doubles). */
  thresholds: Float64Array;
  /** `tps[i]`: positive rows with prob >= `thresholds[i]` (non-decreasing). */
  tps: Float64Array;
  /** `fps[i]`: negative rows with prob >= `thresholds[i]` (non-decreasing). */
  fps: Float64Array;
  /** Positive rows of the label (`tps` at the last threshold, or 0 with no rows). */
  positives: number;
  /** Negative rows of the label. */
  negatives: number;
}

/**
 * The order-preserving keys (see `float32BitsToKey`) of the chosen labels' probabilities, split
 * into positive and negative rows, in one pass over the rows.
 */
function keysByClass(probs: Float32Array, targets: Uint8Array, numLabels: number, labels: readonly number[]): { pos: Uint32Array; neg: Uint32Array }[] {
  const L = numLabels;
  const N = probs.length / L;
  const positives = new Float64Array(L);
  for (let k = 0, l = 0; k < targets.length; k++) {
    positives[l] = (positives[l] as number) + (targets[k] as number);
    if (++l === L) l = 0;
  }
  const pos: (Uint32Array | undefined)[] = new Array<Uint32Array | undefined>(L);
  const neg: (Uint32Array | undefined)[] = new Array<Uint32Array | undefined>(L);
  for (const l of labels) {
    pos[l] = new Uint32Array(positives[l] as number);
    neg[l] = new Uint32Array(N - (positives[l] as number));
  }
  const bits = new Uint32Array(probs.buffer, probs.byteOffset, probs.length);
  if (labels.length === 1) {
    const l = labels[0] as number;
    const p = pos[l] as Uint32Array;
    const q = neg[l] as Uint32Array;
    for (let k = l, a = 0, b = 0; k < probs.length; k += L) {
      const key = float32BitsToKey(bits[k] as number);
      if (targets[k] === 1) p[a++] = key;
      else q[b++] = key;
    }
  } else {
    const a = new Float64Array(L);
    const b = new Float64Array(L);
    for (let k = 0, l = 0; k < probs.length; k++) {
      const p = pos[l];
      if (p) {
        const key = float32BitsToKey(bits[k] as number);
        if (targets[k] === 1) {
          p[a[l] as number] = key;
          a[l] = (a[l] as number) + 1;
        } else {
          (neg[l] as Uint32Array)[b[l] as number] = key;
          b[l] = (b[l] as number) + 1;
        }
      }
      if (++l === L) l = 0;
    }
  }
  return labels.map((l) => ({ pos: pos[l] as Uint32Array, neg: neg[l] as Uint32Array }));
}

/** The curve of one label from its positive and negative keys (sorted here, in place). */
function curveFromKeys(pos: Uint32Array, neg: Uint32Array): LabelCurve {
  radixSortUint32(pos);
  radixSortUint32(neg);
  const P = pos.length;
  const N = P + neg.length;
  // Merge walk from the largest key down, one step per distinct value.
  const valueBits = new Uint32Array(N);
  const tps = new Float64Array(N);
  const fps = new Float64Array(N);
  let i = P - 1;
  let j = N - P - 1;
  let tp = 0;
  let fp = 0;
  let n = 0;
  while (i >= 0 || j >= 0) {
    const pk = i >= 0 ? (pos[i] as number) : -1;
    const nk = j >= 0 ? (neg[j] as number) : -1;
    const key = pk > nk ? pk : nk;
    while (i >= 0 && pos[i] === key) {
      tp++;
      i--;
    }
    while (j >= 0 && neg[j] === key) {
      fp++;
      j--;
    }
    valueBits[n] = keyToFloat32Bits(key);
    tps[n] = tp;
    fps[n] = fp;
    n++;
  }
  const thresholds = new Float64Array(new Float32Array(valueBits.buffer, 0, n));
  return { thresholds, tps: tps.slice(0, n), fps: fps.slice(0, n), positives: P, negatives: N - P };
}

/** {@link labelCurve} without validation. */
export function curveOf(probs: Float32Array, targets: Uint8Array, numLabels: number, label: number): LabelCurve {
  const [keys] = keysByClass(probs, targets, numLabels, [label]);
  return curveFromKeys((keys as { pos: Uint32Array }).pos, (keys as { neg: Uint32Array }).neg);
}

/** {@link labelCurves} without validation: one pass over the rows, then one sort per label. */
export function curvesOf(probs: Float32Array, targets: Uint8Array, numLabels: number): LabelCurve[] {
  const all = Array.from({ length: numLabels }, (_, l) => l);
  return keysByClass(probs, targets, numLabels, all).map(({ pos, neg }) => curveFromKeys(pos, neg));
}

/**
 * The cumulative TP/FP counts of label `label` at each distinct probability (descending), as
 * scikit-learn's `_binary_clf_curve(targets[:, label], probs[:, label])`.
 *
 * @param probs N × `numLabels` row-major probabilities.
 * @param targets N × `numLabels` row-major 0/1 ground truth.
 */
export function labelCurve(probs: Float32Array, targets: Uint8Array, numLabels: number, label: number): LabelCurve {
  checkScored(probs, targets, numLabels);
  if (!Number.isInteger(label) || label < 0 || label >= numLabels) throw new IchnetError('INVALID_ARGUMENT', `metrics: label ${label} is not in [0, ${numLabels})`);
  return curveOf(probs, targets, numLabels, label);
}

/** {@link labelCurve} for every label, validating the inputs once. */
export function labelCurves(probs: Float32Array, targets: Uint8Array, numLabels: number): LabelCurve[] {
  checkScored(probs, targets, numLabels);
  return curvesOf(probs, targets, numLabels);
}

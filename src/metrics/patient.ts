/**
 * Patient-level reduction: one row per patient, its probability the maximum over the patient's
 * slices and its target the maximum (a patient has a label when any slice has it), so the slice
 * metrics apply unchanged at patient level.
 */
import { checkScored } from './types.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** One patient's slice predictions (slices × L row-major) and, when known, slice targets. */
export interface PatientSlices {
  /** Slice probabilities, slices × L row-major. */
  probs: Float32Array;
  /** Slice ground truth, slices × L row-major 0/1; absent when unknown. */
  targets?: Uint8Array;
}

/** Rows reduced to one per patient. */
export interface PatientRows {
  /** Per-patient probabilities, patients × L row-major (max over slices). */
  probs: Float32Array;
  /** Per-patient targets, patients × L (max over slices); present when every patient had targets. */
  targets?: Uint8Array;
}

/**
 * Reduces each patient's slices to one row: probability = max over slices, target = max over
 * slices. Every patient needs at least one slice; targets must be given for all patients or none.
 *
 * @param patients the patients in output-row order.
 * @param numLabels L, the labels per slice.
 */
export function patientLevel(patients: readonly PatientSlices[], numLabels: number): PatientRows {
  const L = numLabels;
  const withTargets = patients.filter((p) => p.targets !== undefined).length;
  if (withTargets !== 0 && withTargets !== patients.length) throw new IchnetError('INVALID_ARGUMENT', 'metrics: targets must be given for every patient or for none');
  const probs = new Float32Array(patients.length * L);
  const targets = withTargets > 0 ? new Uint8Array(patients.length * L) : undefined;
  patients.forEach((p, n) => {
    const slices = checkScored(p.probs, p.targets ?? new Uint8Array(p.probs.length), L);
    if (slices === 0) throw new IchnetError('INVALID_ARGUMENT', `metrics: patient ${n} has no slices`);
    reduceRows(p.probs, p.targets, 0, slices, L, probs, targets, n * L);
  });
  return targets ? { probs, targets } : { probs };
}

/**
 * {@link patientLevel} for slices concatenated patient after patient (the batch layout): patient
 * `n` owns the next `lengths[n]` rows of `probs`/`targets` (rows × L row-major); the lengths must
 * be positive and sum to the number of rows.
 */
export function patientLevelFromLengths(probs: Float32Array, targets: Uint8Array | undefined, lengths: ArrayLike<number>, numLabels: number): PatientRows {
  const L = numLabels;
  const rows = checkScored(probs, targets ?? new Uint8Array(probs.length), L);
  let total = 0;
  for (let n = 0; n < lengths.length; n++) {
    const len = lengths[n] as number;
    if (!Number.isInteger(len) || len < 1) throw new IchnetError('INVALID_ARGUMENT', `metrics: lengths[${n}] is ${len}; every patient needs at least one slice`);
    total += len;
  }
  if (total !== rows) throw new IchnetError('INVALID_ARGUMENT', `metrics: lengths sum to ${total} but there are ${rows} slice rows`);
  const P = lengths.length;
  const outProbs = new Float32Array(P * L);
  const outTargets = targets ? new Uint8Array(P * L) : undefined;
  for (let n = 0, start = 0; n < P; n++) {
    const len = lengths[n] as number;
    reduceRows(probs, targets, start, len, L, outProbs, outTargets, n * L);
    start += len;
  }
  return outTargets ? { probs: outProbs, targets: outTargets } : { probs: outProbs };
}

function reduceRows(
  probs: Float32Array,
  targets: Uint8Array | undefined,
  start: number,
  count: number,
  L: number,
  outProbs: Float32Array,
  outTargets: Uint8Array | undefined,
  at: number,
): void {
  for (let l = 0; l < L; l++) {
    let p = -Infinity;
    let t = 0;
    for (let r = start, k = start * L + l; r < start + count; r++, k += L) {
      const v = probs[k] as number;
      if (v > p) p = v;
      if (targets && targets[k] === 1) t = 1;
    }
    outProbs[at + l] = p;
    if (outTargets) outTargets[at + l] = t;
  }
}

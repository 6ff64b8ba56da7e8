/**
 * Patient-level splits (never by slice): a seeded train/validation split or k folds, stratified so
 * that every label present in the data lands in each part when there are enough positive patients.
 */
import type { PatientRecord } from './types.js';
import { Rng } from './rng.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** Per patient, which labels are positive on any slice. */
function patientLabels(p: PatientRecord, L: number): boolean[] {
  const out = new Array<boolean>(L).fill(false);
  if (!p.labels) return out;
  for (let i = 0; i < p.labels.length; i++) if (p.labels[i]) out[i % L] = true;
  return out;
}

/**
 * Assigns patients to parts with target fractions (greedy iterative stratification): patients
 * carrying the rarest labels are placed first, each into the part furthest below its share of
 * that label, ties broken by the part furthest below its share of patients.
 */
export function stratifiedParts(patients: PatientRecord[], L: number, fractions: number[], seed: number): number[] {
  const rng = new Rng(seed);
  const order = patients.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const has = patients.map((p) => patientLabels(p, L));
  const totals = Array.from({ length: L }, (_, l) => has.filter((h) => h[l]).length);
  const rarest = (i: number) => {
    let best = -1;
    for (let l = 0; l < L; l++) if (has[i]?.[l] && (best < 0 || (totals[l] as number) < (totals[best] as number))) best = l;
    return best;
  };
  // Rare-label patients first (stable within the shuffled order), label-free patients last.
  const keyed = order.map((i) => ({ i, l: rarest(i) }));
  keyed.sort((a, b) => (a.l < 0 ? Infinity : (totals[a.l] as number)) - (b.l < 0 ? Infinity : (totals[b.l] as number)));

  const k = fractions.length;
  const count = new Array<number>(k).fill(0);
  const labelCount = Array.from({ length: k }, () => new Array<number>(L).fill(0));
  const part = new Array<number>(patients.length).fill(0);
  for (const { i, l } of keyed) {
    let best = 0;
    let bestKey: [number, number] = [-Infinity, -Infinity];
    for (let f = 0; f < k; f++) {
      const share = fractions[f] as number;
      const labelDeficit = l < 0 ? 0 : share * (totals[l] as number) - (labelCount[f]?.[l] as number);
      const sizeDeficit = share * patients.length - (count[f] as number);
      if (labelDeficit > bestKey[0] || (labelDeficit === bestKey[0] && sizeDeficit > bestKey[1])) {
        best = f;
        bestKey = [labelDeficit, sizeDeficit];
      }
    }
    part[i] = best;
    count[best] = (count[best] as number) + 1;
    has[i]?.forEach((h, lab) => {
      if (h) (labelCount[best] as number[])[lab] = ((labelCount[best] as number[])[lab] as number) + 1;
    });
  }
  return part;
}

/** A seeded, stratified train/validation split by patient. */
export function trainValidationSplit(patients: PatientRecord[], L: number, validation: number, seed: number) {
  if (!(validation > 0 && validation < 1)) throw new IchnetError('INVALID_ARGUMENT', `validation fraction must be in (0, 1), got ${validation}`);
  const part = stratifiedParts(patients, L, [1 - validation, validation], seed);
  return {
    train: patients.filter((_, i) => part[i] === 0),
    validation: patients.filter((_, i) => part[i] === 1),
  };
}

/** Fold `fold` of `folds` as validation, the rest as training (stratified, seeded). */
export function kFold(patients: PatientRecord[], L: number, folds: number, fold: number, seed: number) {
  if (!Number.isInteger(folds) || folds < 2) throw new IchnetError('INVALID_ARGUMENT', `folds must be an integer >= 2, got ${folds}`);
  if (!Number.isInteger(fold) || fold < 0 || fold >= folds) throw new IchnetError('INVALID_ARGUMENT', `fold must be in 0..${folds - 1}, got ${fold}`);
  const part = stratifiedParts(patients, L, new Array<number>(folds).fill(1 / folds), seed);
  return {
    train: patients.filter((_, i) => part[i] !== fold),
    validation: patients.filter((_, i) => part[i] === fold),
  };
}

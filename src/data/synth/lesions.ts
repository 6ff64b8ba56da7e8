/**
 * The five hemorrhage types' sampling: which lesions a patient has (per-type prevalence), their
 * shape variant, the run of slices they span, their size profile and blood density (with faint
 * ends or faint lesions), and their type-specific shape parameters.
 */
import { COURSE_LABELS } from '../../config/labels.js';
import type { Rng } from '../rng.js';
import type { Anatomy } from './anatomy.js';
import { TWO_PI } from './geometry.js';

/** One of the course's five hemorrhage types (the labels' order is {@link COURSE_LABELS}). */
export type LesionType = (typeof COURSE_LABELS)[number];

/** Default per-type prevalence (probability of ≥ 1 lesion of that type per patient). */
export const DEFAULT_PREVALENCE: Readonly<Record<LesionType, number>> = Object.freeze({
  ich: 0.14,
  ivh: 0.09,
  sah: 0.14,
  sdh: 0.14,
  edh: 0.08,
});

/** A sampled lesion: its run of slices, per-slice profile and the parameters of its shape. */
export interface Lesion {
  type: LesionType;
  variant: string;
  first: number;
  length: number;
  /** Per slice of the run: size factor, blood HU (or null = faint, computed from grey matter), faint flag. */
  profile: number[];
  hu: number[];
  faint: boolean[];
  /** Type-specific parameters. */
  angle: number;
  angleDrift: number;
  halfAngle: number;
  thickness: number;
  cu: number;
  cv: number;
  radius: number;
  harmonics: [number, number, number, number, number, number];
  edema: number;
  edemaHu: number;
  fill: number;
  side: number;
  area: number[];
}

/** Inclusive range of the number of slices a lesion of each type spans. */
const RUN_LENGTH: Record<LesionType, readonly [number, number]> = {
  ich: [2, 5],
  ivh: [2, 5],
  sah: [2, 6],
  sdh: [3, 8],
  edh: [2, 5],
};

/** Range of each type's blood density (HU). */
const BLOOD_HU: Record<LesionType, readonly [number, number]> = {
  ich: [60, 85],
  ivh: [55, 80],
  sah: [58, 82],
  sdh: [55, 80],
  edh: [62, 88],
};

/** Samples a patient's lesions from the lesion stream, for a series at the given levels (0 = skull base, 1 = vertex). */
export function sampleLesions(
  rng: Rng,
  an: Anatomy,
  levels: number[],
  prevalence: Record<LesionType, number>,
  extra: number,
  faintEnd: number,
  faintWhole: number,
): Lesion[] {
  const S = levels.length;
  const k = an.k;
  const lesions: Lesion[] = [];
  for (const type of COURSE_LABELS) {
    if (!rng.chance(prevalence[type])) continue;
    const count = rng.chance(extra) ? 2 : 1;
    for (let c = 0; c < count; c++) {
      let variant = '';
      let tRange: [number, number];
      switch (type) {
        case 'edh':
          variant = 'lens';
          tRange = [0.25, 0.88];
          break;
        case 'sdh':
          variant = 'crescent';
          tRange = [0.22, 0.92];
          break;
        case 'sah':
          variant = rng.chance(0.35) ? 'basal' : 'convexity';
          tRange = variant === 'basal' ? [0.2, 0.46] : [0.35, 0.95];
          break;
        case 'ich':
          variant = rng.chance(0.5) ? 'deep' : 'lobar';
          tRange = variant === 'deep' ? [an.ventCenter - 0.2, an.ventCenter + 0.05] : [0.3, 0.85];
          break;
        case 'ivh':
          variant = rng.chance(0.2) ? 'cast' : 'layering';
          tRange = [an.ventCenter - 0.12, an.ventCenter + 0.12];
          break;
      }
      const [lo, hi] = RUN_LENGTH[type];
      const length = Math.min(S, rng.int(lo, hi));
      // Candidate centre slices: those whose level lies in the type's range.
      const candidates: number[] = [];
      for (let s = 0; s < S; s++) if (levels[s]! >= tRange[0] && levels[s]! <= tRange[1]) candidates.push(s);
      const centre = candidates.length ? rng.pick(candidates) : rng.int(0, S - 1);
      const first = Math.max(0, Math.min(S - length, centre - Math.floor((length - 1) / 2)));
      const profile: number[] = [];
      const hu: number[] = [];
      const faint: boolean[] = [];
      const blood = rng.range(BLOOD_HU[type][0], BLOOD_HU[type][1]);
      const wholeFaint = rng.chance(faintWhole);
      const faintSlice = length >= 3 && rng.chance(faintEnd) ? (rng.chance(0.5) ? 0 : length - 1) : -1;
      for (let j = 0; j < length; j++) {
        profile.push(Math.sin((Math.PI * (j + 1)) / (length + 1)) ** 0.6);
        const isFaint = wholeFaint || j === faintSlice;
        faint.push(isFaint);
        hu.push(isFaint ? an.hu.gm + rng.range(8, 15) : blood + rng.range(-3, 3));
      }
      const sideAngle = rng.range(-Math.PI, Math.PI);
      const lesion: Lesion = {
        type,
        variant,
        first,
        length,
        profile,
        hu,
        faint,
        angle: sideAngle,
        angleDrift: rng.range(-0.06, 0.06),
        halfAngle: 0,
        thickness: 0,
        cu: 0,
        cv: 0,
        radius: 0,
        harmonics: [rng.range(0, 0.18), rng.range(0, TWO_PI), rng.range(0, 0.12), rng.range(0, TWO_PI), rng.range(0, 0.06), rng.range(0, TWO_PI)],
        edema: rng.range(1, 2.5) * k,
        edemaHu: rng.range(4, 8),
        fill: rng.range(0.25, 0.7),
        side: rng.pick([-1, 0, 1]),
        area: new Array<number>(length).fill(0),
      };
      switch (type) {
        case 'edh':
          lesion.halfAngle = rng.range(0.28, 0.5);
          lesion.thickness = rng.range(4.5, 10) * k;
          break;
        case 'sdh':
          lesion.halfAngle = rng.range(0.6, 1.2);
          lesion.thickness = rng.range(2.2, 5.5) * k;
          break;
        case 'sah':
          lesion.halfAngle = rng.range(0.4, 1.0);
          break;
        case 'ich': {
          lesion.radius = rng.range(3, 10) * k;
          if (variant === 'deep') {
            lesion.cu = rng.sign() * rng.range(0.16, 0.3);
            lesion.cv = rng.range(-0.15, 0.18);
          } else {
            const a = rng.range(-Math.PI, Math.PI);
            const r = rng.range(0.35, 0.6);
            lesion.cu = r * Math.cos(a);
            lesion.cv = r * Math.sin(a);
          }
          break;
        }
        case 'ivh':
          if (variant === 'cast') lesion.fill = 1;
          break;
      }
      lesions.push(lesion);
    }
  }
  return lesions;
}

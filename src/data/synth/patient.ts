/**
 * One synthetic patient end to end: options, the three seeded streams (anatomy, lesions, noise),
 * the series' levels and slice thickness, and per slice the anatomy render, the lesion masks and
 * labels, and the noise, rounded to 16-bit HU.
 */
import { COURSE_LABELS } from '../../config/labels.js';
import { hashParts, Rng } from '../rng.js';
import { sampleAnatomy } from './anatomy.js';
import { renderAnatomy } from './head.js';
import { DRAW_ORDER, lesionMask } from './lesion-masks.js';
import { DEFAULT_PREVALENCE, type LesionType, sampleLesions } from './lesions.js';
import { addNoiseAndArtifacts } from './noise.js';
import { createSliceGeometry } from './slice-geometry.js';
import type { Tissue } from './tissue.js';
import { IchnetError } from '../../errors/ichnet-error.js';

/** Options of {@link generatePatient}. Only `seed` is required. */
export interface PhantomOptions {
  /** Seed of this patient (any number); the same options give the same patient, bit for bit. */
  seed: number;
  /** Identifier reported back in {@link Phantom.id}; default `synth_<seed>`. */
  id?: string;
  /** Slices in the series, a fixed count or an inclusive [min, max] range. Default [16, 32]. */
  slices?: number | readonly [number, number];
  /** Rows = columns of every slice. Default 128. Sizes in pixels scale with `size / 128`. */
  size?: number;
  /** Displayed field of view in mm (sets the pixel spacing). Default 250. */
  fieldOfViewMm?: number;
  /**
   * Per-type probability that the patient has at least one lesion of that type. Defaults:
   * ich 0.14, ivh 0.09, sah 0.14, sdh 0.14, edh 0.08 (≈ 44 % of patients with any lesion).
   */
  prevalence?: Partial<Record<LesionType, number>>;
  /** Probability that a patient with a lesion type has a second lesion of that type. Default 0.25. */
  extraLesionProbability?: number;
  /** Probability that a lesion of 3+ slices is faint (+8..+15 HU over grey matter) on one end slice. Default 0.35. */
  faintEndProbability?: number;
  /** Probability that a whole lesion is faint. Default 0.05. */
  faintLesionProbability?: number;
  /** Per-patient image-noise standard deviation range in HU (correlated Gaussian). Default [5, 8]; [0, 0] for none. */
  noiseSigma?: readonly [number, number];
  /** Streaks and cupping (beam-hardening-like texture). Default true. */
  artifacts?: boolean;
  /**
   * Which lesions to draw: true (all, default), false (none), or a list of types. Lesions that are
   * not drawn leave the pixels untouched and their labels 0; everything else stays identical.
   */
  drawLesions?: boolean | readonly LesionType[];
  /** Smallest number of changed pixels for a lesion to be drawn (and labelled) on a slice. Default max(3, round(10·(size/128)²)). */
  minLesionArea?: number;
  /** Also return the lesion-free tissue map of each slice. Default false. */
  withTissue?: boolean;
}

/** One sampled lesion and where it was drawn. */
export interface LesionSummary {
  type: LesionType;
  /** Shape variant, e.g. `lens`, `crescent`, `convexity`, `basal`, `deep`, `lobar`, `layering`, `cast`. */
  variant: string;
  /** First and last slice (inclusive) of its run. */
  firstSlice: number;
  lastSlice: number;
  /** Pixels it changed on each slice of its run (0 where it stayed below `minLesionArea` and was not drawn). */
  area: number[];
  /** Whether it is faint (+8..+15 HU over grey matter) on each slice of its run. */
  faint: boolean[];
  /** Whether this render drew it (per `drawLesions`). */
  drawn: boolean;
}

/** A generated patient: its slices in HU and their labels. */
export interface Phantom {
  id: string;
  rows: number;
  cols: number;
  /** Slices from the skull base (index 0) to the vertex, each rows × cols HU, row-major. */
  slices: Int16Array[];
  /** Per-slice labels, slices × 5, row-major, in {@link COURSE_LABELS} order. */
  labels: Uint8Array;
  labelNames: readonly LesionType[];
  /** In-plane pixel spacing (mm), the same along rows and columns. */
  pixelSpacingMm: number;
  /** Distance between consecutive slices (mm); slice i sits at z = i × this. */
  sliceThicknessMm: number;
  /** This patient's noise standard deviation (HU). */
  noiseSigma: number;
  lesions: LesionSummary[];
  /** Lesion-free tissue maps ({@link Tissue} values), present with `withTissue: true`. */
  tissue?: Uint8Array[];
}

const NUM_LABELS = COURSE_LABELS.length;
const HU_MIN = -1024;
const HU_MAX = 3071;

/** The seed of patient `index` of a dataset generated with `seed`. */
export function patientSeed(seed: number, index: number): number {
  return hashParts('ichnet-synth-patient', seed, index);
}

/**
 * Generates one patient: an axial head-CT series in HU with its per-slice labels.
 * Pure and deterministic: the same options give the same output bit for bit.
 * For instance, `generatePatient({ seed: 7 })` has 16..32 slices (`p.slices.length`), and
 * `p.labels[s * 5 + COURSE_LABELS.indexOf('sdh')]` is 1 where a subdural hematoma is drawn on slice s.
 */
export function generatePatient(options: PhantomOptions): Phantom {
  const size = options.size ?? 128;
  if (!Number.isInteger(size) || size < 32 || size > 1024) throw new IchnetError('INVALID_ARGUMENT', `synthetic phantom: size must be an integer in [32, 1024], got ${size}`);
  const sliceRange: readonly [number, number] =
    typeof options.slices === 'number' ? [options.slices, options.slices] : (options.slices ?? [16, 32]);
  const [sMin, sMax] = sliceRange;
  if (!Number.isInteger(sMin) || !Number.isInteger(sMax) || sMin < 1 || sMax < sMin || sMax > 512) {
    throw new IchnetError('INVALID_ARGUMENT', `synthetic phantom: slices must be integers with 1 ≤ min ≤ max ≤ 512, got [${sMin}, ${sMax}]`);
  }
  const prevalence: Record<LesionType, number> = { ...DEFAULT_PREVALENCE, ...(options.prevalence ?? {}) };
  for (const type of COURSE_LABELS) {
    const pr = prevalence[type];
    if (!(pr >= 0 && pr <= 1)) throw new IchnetError('INVALID_ARGUMENT', `synthetic phantom: prevalence.${type} must be in [0, 1], got ${pr}`);
  }
  const sigmaRange = options.noiseSigma ?? [5, 8];
  const minArea = Math.max(1, Math.ceil(options.minLesionArea ?? Math.max(3, Math.round(10 * (size / 128) ** 2))));
  const draw = options.drawLesions ?? true;
  const drawSet = new Set<LesionType>(draw === true ? COURSE_LABELS : draw === false ? [] : draw);
  const artifacts = options.artifacts ?? true;
  const seed = options.seed;

  const anatomyRng = new Rng(hashParts('anatomy', seed));
  const lesionRng = new Rng(hashParts('lesions', seed));
  const noiseRng = new Rng(hashParts('noise', seed));

  const S = anatomyRng.int(sMin, sMax);
  const an = sampleAnatomy(anatomyRng, size, sigmaRange);
  const coverageMm = anatomyRng.range(132, 150);
  const thickness = S > 1 ? Math.round((coverageMm / (S - 1)) * 10) / 10 : 5;
  const t0 = anatomyRng.range(0.0, 0.06);
  const levels: number[] = [];
  for (let s = 0; s < S; s++) levels.push(Math.min(1.02, t0 + (s * thickness) / 150));

  const lesions = sampleLesions(
    lesionRng,
    an,
    levels,
    prevalence,
    options.extraLesionProbability ?? 0.25,
    options.faintEndProbability ?? 0.35,
    options.faintLesionProbability ?? 0.05,
  );
  const ordered = [...lesions].sort((a, b) => DRAW_ORDER.indexOf(a.type) - DRAW_ORDER.indexOf(b.type));

  const N = size * size;
  const g = createSliceGeometry(N);
  const owner = new Int16Array(N);
  const work = new Float32Array(N);
  const work2 = new Float32Array(N);
  const mask = new Map<number, number>();
  const labels = new Uint8Array(S * NUM_LABELS);
  const slices: Int16Array[] = [];
  const tissueMaps: Uint8Array[] = [];

  for (let s = 0; s < S; s++) {
    renderAnatomy(an, levels[s]!, g);
    if (options.withTissue) tissueMaps.push(g.tissue.slice());
    owner.fill(-1);
    for (let li = 0; li < ordered.length; li++) {
      const lesion = ordered[li]!;
      const j = s - lesion.first;
      if (j < 0 || j >= lesion.length) continue;
      lesionMask(lesion, j, g, an, owner, mask);
      if (mask.size < minArea) continue;
      lesion.area[j] = mask.size;
      const drawn = drawSet.has(lesion.type);
      if (drawn) labels[s * NUM_LABELS + COURSE_LABELS.indexOf(lesion.type)] = 1;
      const L = lesion.hu[j]!;
      for (const [i, w] of mask) {
        owner[i] = li;
        if (!drawn) continue;
        const b = g.clean[i]!;
        const delta = w < 0 ? -Math.max(3, lesion.edemaHu * (0.5 + 0.5 * lesion.profile[j]!)) : Math.max(3, w * (L - b));
        g.clean[i] = b + delta;
      }
    }
    addNoiseAndArtifacts(an, g, noiseRng, artifacts, work, work2);
    const out = new Int16Array(N);
    for (let i = 0; i < N; i++) {
      const r = Math.round(g.clean[i]!);
      out[i] = r < HU_MIN ? HU_MIN : r > HU_MAX ? HU_MAX : r;
    }
    slices.push(out);
  }

  const phantom: Phantom = {
    id: options.id ?? `synth_${seed}`,
    rows: size,
    cols: size,
    slices,
    labels,
    labelNames: COURSE_LABELS,
    pixelSpacingMm: Number(((options.fieldOfViewMm ?? 250) / size).toFixed(6)),
    sliceThicknessMm: thickness,
    noiseSigma: an.sigma,
    lesions: lesions.map((l) => ({
      type: l.type,
      variant: l.variant,
      firstSlice: l.first,
      lastSlice: l.first + l.length - 1,
      area: l.area.slice(),
      faint: l.faint.slice(),
      drawn: drawSet.has(l.type),
    })),
  };
  if (options.withTissue) phantom.tissue = tissueMaps;
  return phantom;
}

/**
 * Synthetic head-CT phantoms in Hounsfield units with the course's five hemorrhage types.
 *
 * A patient is an axial series from the skull base (slice 0) to the vertex. Each slice is
 * rendered analytically: air, scalp, a skull ring (dense tables around a diploe, thickness varying
 * with angle), cerebrospinal-fluid spaces (a rim under the inner table, cortical sulci that
 * continue from slice to slice, the interhemispheric and Sylvian fissures, basal cisterns, the
 * lateral/third/fourth ventricles), grey and white matter with deep grey nuclei, skull-base bone
 * and sinus air in the lowest slices, occasional calcifications — all with partial-volume edges.
 * Lesions are 3-D objects spanning a run of adjacent slices, tapering at the run's ends:
 * epidural (biconvex lens against the inner table), subdural (crescent along the inner table),
 * subarachnoid (blood filling sulci/fissures/cisterns), intraparenchymal (irregular blob with an
 * oedema rim) and intraventricular (layering or casting blood in a ventricle).
 *
 * Labels are computed from the drawn pixels: a slice's label for a type is 1 iff some lesion of
 * that type changed at least `minLesionArea` pixels of that slice (lesions that would change fewer
 * are not drawn at all), and every drawn pixel differs from the lesion-free render by ≥ 2 HU.
 * Lesion masks never overlap (earlier types in the draw order own their pixels), and they are
 * computed the same way whatever `drawLesions` says, so a render with only some types drawn
 * differs from the lesion-free render exactly on those types' labelled slices.
 *
 * Anatomy, lesions and noise come from three independent seeded streams, so switching lesions
 * off leaves the anatomy and the noise untouched.
 */
import { COURSE_LABELS } from '../../config/labels.js';
import { hashParts, Rng, standardNormalTable } from '../rng.js';

/** One of the course's five hemorrhage types (the labels' order is {@link COURSE_LABELS}). */
export type LesionType = (typeof COURSE_LABELS)[number];

/** Tissue classes of the per-pixel tissue map returned with `withTissue: true`. */
export const Tissue = {
  AIR: 0,
  SCALP: 1,
  BONE: 2,
  WHITE_MATTER: 3,
  GREY_MATTER: 4,
  DEEP_GREY: 5,
  /** The thin subarachnoid CSF layer under the inner table. */
  CSF_RIM: 6,
  SULCUS: 7,
  /** Interhemispheric fissure (with the falx along its middle). */
  FISSURE: 8,
  CISTERN: 9,
  VENTRICLE: 10,
  CALCIFICATION: 11,
  /** Air in the skull base's sinuses. */
  SINUS: 12,
} as const;

/** A value of {@link Tissue}. */
export type TissueClass = (typeof Tissue)[keyof typeof Tissue];

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

/** Default per-type prevalence (probability of ≥ 1 lesion of that type per patient). */
export const DEFAULT_PREVALENCE: Readonly<Record<LesionType, number>> = Object.freeze({
  ich: 0.14,
  ivh: 0.09,
  sah: 0.14,
  sdh: 0.14,
  edh: 0.08,
});

/** Order in which lesion masks claim pixels (earlier types win overlaps). */
const DRAW_ORDER: readonly LesionType[] = ['ivh', 'ich', 'edh', 'sdh', 'sah'];

const TWO_PI = 2 * Math.PI;
const NUM_LABELS = COURSE_LABELS.length;
const HU_MIN = -1024;
const HU_MAX = 3071;
/** Standard deviation of white noise after the separable [1 2 1]/4 blur. */
const BLUR_STD_FACTOR = 0.375;

// ─── patient anatomy ────────────────────────────────────────────────────────────────────────────

interface Sulcus {
  /** Angle (elliptic parameter) at slice t: base + amp·sin(freq·t + phase). */
  base: number;
  amp: number;
  freq: number;
  phase: number;
  depth: number;
  width: number;
  /** Lateral drift (px per px of depth) and bend (px at full depth). */
  slant: number;
  bend: number;
  /** A sinuous course: amplitude (px), spatial frequency (rad per px of depth), phase. */
  wiggle: number;
  wiggleFreq: number;
  wigglePhase: number;
  /** Sylvian fissure: 0 for cortical sulci, ±1 for the right/left fissure. */
  sylvian: number;
}

interface Anatomy {
  size: number;
  k: number;
  A0: number;
  B0: number;
  cx: number;
  cy: number;
  cxDrift: number;
  cyDrift: number;
  rot: number;
  rotDrift: number;
  outline: [number, number, number, number];
  /** Egg shape: the head a little wider posterolaterally than anterolaterally. */
  egg: number;
  scalp: number;
  skull: number;
  skullMod: [number, number, number, number];
  atrophy: number;
  rim: number;
  rimMod: [number, number];
  cortex: number;
  ventSize: number;
  ventCenter: number;
  hu: { wm: number; gm: number; deep: number; csf: number; scalp: number; table: number; diploe: number; falx: number; calc: number };
  falxVisible: boolean;
  choroidCalc: boolean;
  pinealCalc: boolean;
  sulci: Sulcus[];
  cupping: number;
  sigma: number;
  textureGrid: Float32Array;
  textureN: number;
  textureZ: number;
}

function sampleAnatomy(rng: Rng, size: number, sigmaRange: readonly [number, number]): Anatomy {
  const k = size / 128;
  const A0 = rng.range(0.32, 0.37) * size;
  const B0 = Math.min(0.44 * size, A0 * rng.range(1.12, 1.22));
  const atrophy = rng.float() ** 1.5;
  const wm = rng.range(25, 29);
  const sulci: Sulcus[] = [];
  const K = rng.int(30, 40);
  for (let i = 0; i < K; i++) {
    sulci.push({
      base: -Math.PI + ((i + rng.range(-0.25, 0.25)) / K) * TWO_PI,
      amp: (rng.range(0, 0.35) / K) * TWO_PI,
      freq: rng.range(2, 6),
      phase: rng.range(0, TWO_PI),
      depth: rng.range(2.5, 8) * k * (0.8 + 0.5 * atrophy),
      width: rng.range(0.9, 1.5) * k * (1 + 0.8 * atrophy),
      slant: rng.range(-0.3, 0.3),
      bend: rng.range(-2.5, 2.5) * k,
      wiggle: rng.range(0.3, 1.3) * k,
      wiggleFreq: rng.range(0.5, 1.2) / k,
      wigglePhase: rng.range(0, TWO_PI),
      sylvian: 0,
    });
  }
  for (const side of [1, -1]) {
    sulci.push({
      base: side > 0 ? -rng.range(0.25, 0.45) : -Math.PI + rng.range(0.25, 0.45),
      amp: 0.03,
      freq: rng.range(2, 4),
      phase: rng.range(0, TWO_PI),
      depth: rng.range(0.26, 0.34) * A0,
      width: rng.range(1.5, 2.3) * k * (1 + 0.5 * atrophy),
      slant: side * rng.range(0.15, 0.35),
      bend: rng.range(-2, 2) * k,
      wiggle: rng.range(0.3, 1.0) * k,
      wiggleFreq: rng.range(0.3, 0.6) / k,
      wigglePhase: rng.range(0, TWO_PI),
      sylvian: side,
    });
  }
  const textureN = 10;
  const textureZ = 8;
  const textureGrid = new Float32Array(textureN * textureN * textureZ);
  for (let i = 0; i < textureGrid.length; i++) textureGrid[i] = rng.range(-1, 1);
  const sigma = rng.range(sigmaRange[0], sigmaRange[1]);
  return {
    size,
    k,
    A0,
    B0,
    cx: size / 2 + rng.range(-0.03, 0.03) * size,
    cy: size / 2 + rng.range(-0.03, 0.03) * size,
    cxDrift: rng.range(-0.02, 0.02) * size,
    cyDrift: rng.range(-0.02, 0.02) * size,
    rot: (rng.range(-10, 10) * Math.PI) / 180,
    rotDrift: (rng.range(-3, 3) * Math.PI) / 180,
    outline: [rng.range(0, 0.025), rng.range(0, TWO_PI), rng.range(0, 0.018), rng.range(0, TWO_PI)],
    egg: rng.range(0.02, 0.07),
    scalp: rng.range(1.8, 3.2) * k,
    skull: rng.range(2.6, 3.8) * k,
    skullMod: [rng.range(0.1, 0.3), rng.range(0, TWO_PI), rng.range(0, 0.12), rng.range(0, TWO_PI)],
    atrophy,
    rim: (0.35 + 1.1 * atrophy) * k,
    rimMod: [rng.range(0.2, 0.6), rng.range(0, TWO_PI)],
    cortex: rng.range(2.2, 3.2) * k,
    ventSize: 0.8 + 0.55 * atrophy + rng.range(-0.1, 0.15),
    ventCenter: rng.range(0.5, 0.57),
    hu: {
      wm,
      gm: wm + rng.range(6, 9),
      deep: wm + rng.range(4, 7),
      csf: rng.range(3, 10),
      scalp: rng.range(10, 35),
      table: rng.range(1250, 1600),
      diploe: rng.range(550, 900),
      falx: rng.range(45, 70),
      calc: rng.range(150, 350),
    },
    falxVisible: rng.chance(0.6),
    choroidCalc: rng.chance(0.4),
    pinealCalc: rng.chance(0.5),
    sulci,
    cupping: rng.range(0, 4),
    sigma,
    textureGrid,
    textureN,
    textureZ,
  };
}

/** Head scale at level t (0 = skull base, 1 = vertex): largest a little below the middle. */
function headScale(t: number): number {
  const tc = 0.45;
  if (t <= tc) return Math.sqrt(Math.max(0.1, 1 - ((tc - t) / 0.72) ** 2));
  return Math.sqrt(Math.max(0.2, 1 - ((Math.min(t, 1.02) - tc) / 0.66) ** 2));
}

/** A smooth bump: 1 at c, 0 outside c ± h. */
function bump(t: number, c: number, h: number): number {
  const x = (t - c) / h;
  return x * x >= 1 ? 0 : Math.sqrt(1 - x * x);
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/**
 * atan2 by a minimax polynomial (|error| < 1e-5 rad): plain arithmetic, so as deterministic as
 * Math.atan2 and several times faster in the per-pixel loops.
 */
function fastAtan2(y: number, x: number): number {
  const ax = x < 0 ? -x : x;
  const ay = y < 0 ? -y : y;
  const mx = ax > ay ? ax : ay;
  if (mx === 0) return 0;
  const a = (ax > ay ? ay : ax) / mx;
  const s = a * a;
  let r = ((((0.0208351 * s - 0.085133) * s + 0.180141) * s - 0.3302995) * s + 0.999866) * a;
  if (ay > ax) r = 1.5707963267948966 - r;
  if (x < 0) r = Math.PI - r;
  return y < 0 ? -r : r;
}

/** Wraps an angle difference to (−π, π]. */
function angleDiff(a: number, b: number): number {
  const d = a - b;
  return d - TWO_PI * Math.round(d / TWO_PI);
}

/** An ellipse in normalised head coordinates, tested with a partial-volume coverage in [0, 1]. */
interface Ellipse {
  cu: number;
  cv: number;
  au: number;
  av: number;
  cos: number;
  sin: number;
  /** Scale from normalised units to px along the short axis (for the coverage ramp). */
  pxScale: number;
  /** Half-extent of a bounding square (normalised units) outside which the coverage is 0. */
  ext: number;
}

function ellipse(cu: number, cv: number, au: number, av: number, angle: number, A: number, B: number): Ellipse | null {
  if (au <= 1e-4 || av <= 1e-4) return null;
  const pxScale = Math.min(au * A, av * B);
  return { cu, cv, au, av, cos: Math.cos(angle), sin: Math.sin(angle), pxScale, ext: Math.max(au, av) * (1 + 0.5 / pxScale) + 1e-3 };
}

function ellipseCoverage(e: Ellipse, u: number, v: number): number {
  const du = u - e.cu;
  const dv = v - e.cv;
  if (du > e.ext || du < -e.ext || dv > e.ext || dv < -e.ext) return 0;
  const x = (e.cos * du + e.sin * dv) / e.au;
  const y = (-e.sin * du + e.cos * dv) / e.av;
  const r2 = x * x + y * y;
  if (r2 > 4) return 0;
  return clamp01((1 - Math.sqrt(r2)) * e.pxScale + 0.5);
}

/** Per-slice geometry shared by the anatomy and lesion passes. */
interface SliceGeometry {
  t: number;
  cx: number;
  cy: number;
  cos: number;
  sin: number;
  A: number;
  B: number;
  /** Per pixel: elliptic angle, depth under the inner table (px; negative inside bone), distance to centre (px), normalised u/v. */
  phi: Float32Array;
  depth: Float32Array;
  dist: Float32Array;
  u: Float32Array;
  v: Float32Array;
  /** Per pixel: CSF coverage outside the ventricles, and index of the sulcus giving it (−1 none). */
  csfCov: Float32Array;
  sulcus: Int16Array;
  tissue: Uint8Array;
  /** Lesion-free HU before noise. */
  clean: Float32Array;
}

const ANGLE_BINS = 720;
/**
 * CSF partial-volume coverage from which a pixel counts as CSF in the tissue map (lower than 1/2:
 * sub-pixel sulci still get CSF pixels, and subarachnoid blood only fills those).
 */
const CSF_CLASS_COVERAGE = 0.35;

function renderAnatomy(an: Anatomy, t: number, g: SliceGeometry): void {
  const n = an.size;
  const k = an.k;
  const f = headScale(t);
  const A = an.A0 * f;
  const B = an.B0 * f;
  const rot = an.rot + an.rotDrift * (t - 0.5);
  const cx = an.cx + an.cxDrift * (t - 0.5);
  const cy = an.cy + an.cyDrift * (t - 0.5);
  const cos = Math.cos(rot);
  const sin = Math.sin(rot);
  g.t = t;
  g.cx = cx;
  g.cy = cy;
  g.cos = cos;
  g.sin = sin;
  g.A = A;
  g.B = B;

  // Angle-dependent radii, tabulated.
  const outlineMul = new Float32Array(ANGLE_BINS);
  const skullT = new Float32Array(ANGLE_BINS);
  const rimW = new Float32Array(ANGLE_BINS);
  const [e2, p2, e3, p3] = an.outline;
  const [s2, q2, s3, q3] = an.skullMod;
  const baseThick = an.skull * (1 + 0.5 * clamp01((0.25 - t) / 0.25));
  for (let b = 0; b < ANGLE_BINS; b++) {
    const phi = -Math.PI + ((b + 0.5) / ANGLE_BINS) * TWO_PI;
    outlineMul[b] = 1 + e2 * Math.cos(2 * (phi - p2)) + e3 * Math.cos(3 * (phi - p3)) + an.egg * Math.sin(phi) * Math.abs(Math.cos(phi));
    skullT[b] = baseThick * (1 + s2 * Math.cos(2 * (phi - q2)) + s3 * Math.cos(3 * (phi - q3)));
    rimW[b] = an.rim * (1 + an.rimMod[0] * Math.cos(2 * phi - an.rimMod[1]));
  }

  // Sulci at this level (cortical ones above the skull base, Sylvian fissures mid-low).
  const sulciAngles: number[] = [];
  const sulciDepth: number[] = [];
  const sulciWidth: number[] = [];
  const cortical = clamp01((t - 0.16) / 0.1);
  for (const s of an.sulci) {
    const angle = s.base + s.amp * Math.sin(s.freq * t * TWO_PI + s.phase);
    sulciAngles.push(angle);
    if (s.sylvian) {
      const w = bump(t, 0.4, 0.13);
      sulciDepth.push(s.depth * w * f);
      sulciWidth.push(s.width * Math.min(1, 0.4 + w));
    } else {
      // Sulci deepen a little toward the vertex, where the convexity dominates.
      sulciDepth.push(s.depth * cortical * (0.85 + 0.3 * t));
      sulciWidth.push(s.width);
    }
  }
  const K = an.sulci.length;
  let maxCortical = 0;
  for (let j = 0; j < K - 2; j++) maxCortical = Math.max(maxCortical, sulciDepth[j]!);
  const maxSylvian = Math.max(sulciDepth[K - 2]!, sulciDepth[K - 1]!);

  // Structures in normalised head coordinates.
  const tv = an.ventCenter;
  const vs = an.ventSize;
  const gl = bump(t, tv, 0.16);
  const tau = (t - tv) / 0.16;
  const vents: Ellipse[] = [];
  const deep: Ellipse[] = [];
  const calcs: Ellipse[] = [];
  const bones: Ellipse[] = [];
  const sinuses: Ellipse[] = [];
  const push = (list: Ellipse[], e: Ellipse | null): void => {
    if (e) list.push(e);
  };
  for (const side of [-1, 1]) {
    if (gl > 0) {
      const gs = Math.sqrt(gl);
      // Frontal horns diverging anteriorly (the "butterfly" at the level of the foramina),
      // bodies close to the midline (septum between them), occipital horns diverging posteriorly
      // in the lower half of the ventricles' range.
      push(vents, ellipse(side * 0.09, -0.16 - 0.03 * tau, 0.062 * vs * gs, 0.15 * vs * gl, side * (0.38 - 0.15 * tau), A, B));
      push(vents, ellipse(side * (0.085 + 0.01 * tau), 0.08 - 0.04 * tau, 0.042 * vs * gs, 0.2 * vs * gl, -side * 0.12, A, B));
      const go = gl * clamp01((0.5 - tau) / 0.7);
      if (go > 0) push(vents, ellipse(side * 0.16, 0.27, 0.035 * vs * Math.sqrt(go), 0.11 * vs * go, -side * 0.5, A, B));
      if (an.choroidCalc && gl > 0.5) push(calcs, ellipse(side * 0.15, 0.24 - 0.06 * tau, (0.9 * k) / A, (0.9 * k) / B, 0, A, B));
    }
    const gd = bump(t, tv - 0.11, 0.11);
    if (gd > 0) {
      push(deep, ellipse(side * 0.22, -0.03, 0.075 * Math.sqrt(gd), 0.15 * gd, side * 0.3, A, B));
      push(deep, ellipse(side * 0.085, 0.1, 0.065 * Math.sqrt(gd), 0.1 * gd, 0, A, B));
    }
    const gb = clamp01((0.22 - t) / 0.12);
    if (gb > 0) push(bones, ellipse(side * 0.42, 0.1, 0.3 * Math.sqrt(gb), 0.045 * gb + 0.015, side * 0.6, A, B));
  }
  const g3 = bump(t, tv - 0.14, 0.08);
  if (g3 > 0) push(vents, ellipse(0, 0.0, Math.max(0.018 * vs, (0.7 * k) / A), 0.1 * g3, 0, A, B));
  if (an.pinealCalc && g3 > 0.3) push(calcs, ellipse(0, 0.24, (1.0 * k) / A, (1.0 * k) / B, 0, A, B));
  const g4 = bump(t, 0.16, 0.08);
  if (g4 > 0) push(vents, ellipse(0, 0.4, 0.06 * vs * Math.sqrt(g4), 0.04 * g4 + 0.01, 0, A, B));
  const gc = bump(t, 0.27, 0.09);
  // Perimesencephalic cistern (a band around the midbrain) and the star-shaped suprasellar cistern.
  const cisternRing = gc > 0 ? { cu: 0, cv: 0.12, ru: 0.15, rv: 0.12, w: (1.8 + 1.2 * an.atrophy) * k * gc } : null;
  const starR = 0.075 * Math.sqrt(gc) * Math.min(A, B);
  const gsin = clamp01((0.16 - t) / 0.1);
  if (gsin > 0) push(sinuses, ellipse(0, -0.42, 0.15 * Math.sqrt(gsin), 0.1 * gsin, 0, A, B));
  // Interhemispheric fissure: anterior and posterior parts, meeting toward the vertex.
  const fissOn = t > 0.28;
  const fissGap = clamp01(0.5 - (t - 0.3));
  const fissHalfW = ((0.9 + 1.1 * an.atrophy) * k) / 2;

  const hu = an.hu;
  const texN = an.textureN;
  const texZ = an.textureZ;
  const tz = clamp01(t) * (texZ - 1);
  const z0 = Math.min(texZ - 2, Math.floor(tz));
  const fz = tz - z0;
  // This level's texture plane (amplitude ±1.6 HU), interpolated between the grid's z planes.
  const tex = new Float32Array(texN * texN);
  for (let j = 0; j < tex.length; j++) tex[j] = 1.6 * (an.textureGrid[z0 * texN * texN + j]! * (1 - fz) + an.textureGrid[(z0 + 1) * texN * texN + j]! * fz);

  // Beyond this distance from the centre every pixel is air.
  let maxMul = 0;
  for (let b = 0; b < ANGLE_BINS; b++) maxMul = Math.max(maxMul, outlineMul[b]!);
  const airBeyond = Math.max(A, B) * maxMul + 1;
  const airBeyond2 = airBeyond * airBeyond;

  let i = 0;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++, i++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      if (dx * dx + dy * dy > airBeyond2) {
        g.phi[i] = 0;
        g.depth[i] = -airBeyond;
        g.dist[i] = airBeyond;
        g.u[i] = 2;
        g.v[i] = 2;
        g.csfCov[i] = 0;
        g.sulcus[i] = -1;
        g.clean[i] = -1000;
        g.tissue[i] = Tissue.AIR;
        continue;
      }
      const u = (cos * dx + sin * dy) / A;
      const v = (-sin * dx + cos * dy) / B;
      const rho = Math.sqrt(u * u + v * v);
      const d = Math.sqrt(dx * dx + dy * dy);
      const phi = fastAtan2(v, u);
      let bin = Math.floor(((phi + Math.PI) / TWO_PI) * ANGLE_BINS);
      if (bin >= ANGLE_BINS) bin = ANGLE_BINS - 1;
      const Re = rho > 1e-6 ? d / rho : 0.5 * (A + B);
      const rOut = Re * outlineMul[bin]!;
      const rSkullOut = rOut - an.scalp;
      const rInner = rSkullOut - skullT[bin]!;
      const depth = rInner - d;
      g.phi[i] = phi;
      g.depth[i] = depth;
      g.dist[i] = d;
      g.u[i] = u;
      g.v[i] = v;
      g.csfCov[i] = 0;
      g.sulcus[i] = -1;

      const cAir = clamp01(d - rOut + 0.5);
      if (cAir >= 1) {
        g.clean[i] = -1000;
        g.tissue[i] = Tissue.AIR;
        continue;
      }
      const cScalp = clamp01(d - rSkullOut + 0.5);
      const cBone = clamp01(d - rInner + 0.5);
      let value = 0;
      let tissue: TissueClass = Tissue.WHITE_MATTER;
      if (cBone < 1) {
        // Parenchyma: white matter, cortical grey band, deep grey nuclei, smooth texture.
        const cGm = clamp01(an.cortex - depth + 0.5);
        let cDeep = 0;
        for (const e of deep) cDeep = Math.max(cDeep, ellipseCoverage(e, u, v));
        const tx = (x / n) * (texN - 1);
        const ty = (y / n) * (texN - 1);
        const x0 = Math.floor(tx);
        const y0 = Math.floor(ty);
        const fx = tx - x0;
        const fy = ty - y0;
        const r0 = y0 * texN + x0;
        const texture =
          (tex[r0]! * (1 - fx) + tex[r0 + 1]! * fx) * (1 - fy) + (tex[r0 + texN]! * (1 - fx) + tex[r0 + texN + 1]! * fx) * fy;
        const par = hu.wm + (hu.gm - hu.wm) * Math.max(cGm, 0) + (hu.deep - hu.wm) * cDeep * (1 - cGm) + texture;
        tissue = cGm >= 0.5 ? Tissue.GREY_MATTER : cDeep >= 0.5 ? Tissue.DEEP_GREY : Tissue.WHITE_MATTER;

        // CSF spaces.
        const cRim = clamp01(rimW[bin]! - depth + 0.5);
        let cSulc = 0;
        let sulcIdx = -1;
        if (depth > -1 && depth < maxCortical + 0.5) {
          const k0 = Math.floor(((phi + Math.PI) / TWO_PI) * (K - 2));
          for (let o = -2; o <= 2; o++) {
            const sIdx = (((k0 + o) % (K - 2)) + (K - 2)) % (K - 2);
            const c = sulcusCoverage(an.sulci[sIdx]!, sulciAngles[sIdx]!, sulciDepth[sIdx]!, sulciWidth[sIdx]!, phi, depth, d);
            if (c > cSulc) {
              cSulc = c;
              sulcIdx = sIdx;
            }
          }
        }
        if (depth > -1 && depth < maxSylvian + 0.5) {
          for (let sIdx = K - 2; sIdx < K; sIdx++) {
            const c = sulcusCoverage(an.sulci[sIdx]!, sulciAngles[sIdx]!, sulciDepth[sIdx]!, sulciWidth[sIdx]!, phi, depth, d);
            if (c > cSulc) {
              cSulc = c;
              sulcIdx = sIdx;
            }
          }
        }
        let cFiss = 0;
        let falx = 0;
        if (fissOn && (v < -fissGap || v > fissGap * 1.2) && depth > -0.5) {
          const lat = Math.abs(u * A);
          cFiss = clamp01(fissHalfW - lat + 0.5);
          if (an.falxVisible) falx = clamp01(0.45 - lat + 0.5) * 0.8;
        }
        let cCist = 0;
        if (cisternRing) {
          const du = (u - cisternRing.cu) / cisternRing.ru;
          const dv = (v - cisternRing.cv) / cisternRing.rv;
          const r = Math.sqrt(du * du + dv * dv) * (1 + 0.06 * Math.cos(2 * fastAtan2(dv, du)));
          cCist = clamp01(cisternRing.w / 2 - Math.abs(r - 1) * Math.min(cisternRing.ru * A, cisternRing.rv * B) + 0.5);
          const su = u * A;
          const sv = (v + 0.1) * B;
          const sr = Math.sqrt(su * su + sv * sv);
          if (sr < starR * 1.5 + 1) {
            const rs = starR * (1 + 0.18 * Math.cos(5 * fastAtan2(sv, su) + Math.PI / 2));
            cCist = Math.max(cCist, clamp01(rs - sr + 0.5));
          }
        }
        let cVent = 0;
        for (const e of vents) cVent = Math.max(cVent, ellipseCoverage(e, u, v));
        const cCsfOut = Math.max(cRim, cSulc, cFiss, cCist);
        const cCsf = Math.max(cCsfOut, cVent);
        g.csfCov[i] = cCsfOut;
        g.sulcus[i] = cSulc > 0 ? sulcIdx : -1;
        value = par + (hu.csf - par) * cCsf;
        if (falx > 0) value += (hu.falx - value) * falx;
        if (cCsf >= CSF_CLASS_COVERAGE) {
          tissue =
            cVent >= cCsfOut
              ? Tissue.VENTRICLE
              : cCist >= cCsfOut
                ? Tissue.CISTERN
                : cFiss >= cCsfOut
                  ? Tissue.FISSURE
                  : cSulc >= cCsfOut
                    ? Tissue.SULCUS
                    : Tissue.CSF_RIM;
        }
        let cCalc = 0;
        for (const e of calcs) cCalc = Math.max(cCalc, ellipseCoverage(e, u, v));
        if (cCalc > 0) {
          value += (hu.calc - value) * cCalc;
          if (cCalc >= 0.5) tissue = Tissue.CALCIFICATION;
        }
        let cPet = 0;
        for (const e of bones) cPet = Math.max(cPet, ellipseCoverage(e, u, v));
        if (cPet > 0) {
          value += (hu.table - value) * cPet;
          if (cPet >= 0.5) tissue = Tissue.BONE;
        }
        let cSin = 0;
        for (const e of sinuses) cSin = Math.max(cSin, ellipseCoverage(e, u, v));
        if (cSin > 0) {
          // A thin bony wall around the air cell.
          const wall = clamp01(1 - Math.abs(cSin - 0.5) * 3);
          value += (hu.table * 0.8 - value) * wall;
          value += (-950 - value) * clamp01(cSin * 1.6 - 0.6);
          if (cSin >= 0.75) tissue = Tissue.SINUS;
          else if (wall >= 0.5) tissue = Tissue.BONE;
        }
      }
      // Skull: dense inner and outer tables around the diploe.
      if (cBone > 0) {
        const q = clamp01((d - rInner) / Math.max(1e-3, rSkullOut - rInner));
        const qq = Math.abs(2 * q - 1);
        const boneValue = hu.diploe + (hu.table - hu.diploe) * qq * Math.sqrt(qq);
        value += (boneValue - value) * cBone;
        if (cBone >= 0.5) tissue = Tissue.BONE;
      }
      if (cScalp > 0) {
        value += (hu.scalp - value) * cScalp;
        if (cScalp >= 0.5) tissue = Tissue.SCALP;
      }
      if (cAir > 0) {
        value += (-1000 - value) * cAir;
        if (cAir >= 0.5) tissue = Tissue.AIR;
      }
      g.clean[i] = value;
      g.tissue[i] = tissue;
    }
  }
}

function sulcusCoverage(s: Sulcus, angle: number, maxDepth: number, width: number, phi: number, depth: number, d: number): number {
  if (maxDepth <= 0.3 || depth > maxDepth + 0.5) return 0;
  const dd = Math.max(depth, 0);
  // Early out: farther sideways than the sulcus' course can drift plus its width.
  const off = angleDiff(phi, angle) * d;
  const bound = Math.abs(s.slant) * dd + Math.abs(s.bend) + s.wiggle + width + 1;
  if (off > bound || off < -bound) return 0;
  const frac = dd / maxDepth;
  const centre = s.slant * dd + s.bend * frac * frac + s.wiggle * Math.sin(s.wiggleFreq * dd + s.wigglePhase);
  const lat = Math.abs(off - centre);
  const halfW = (width / 2) * (1.3 - 0.8 * frac);
  return clamp01(halfW - lat + 0.5) * clamp01(maxDepth - depth + 0.5);
}

// ─── lesions ────────────────────────────────────────────────────────────────────────────────────

interface Lesion {
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

const RUN_LENGTH: Record<LesionType, readonly [number, number]> = {
  ich: [2, 5],
  ivh: [2, 5],
  sah: [2, 6],
  sdh: [3, 8],
  edh: [2, 5],
};

const BLOOD_HU: Record<LesionType, readonly [number, number]> = {
  ich: [60, 85],
  ivh: [55, 80],
  sah: [58, 82],
  sdh: [55, 80],
  edh: [62, 88],
};

function sampleLesions(
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

/**
 * Computes a lesion's mask on one slice: pixel index → partial-volume weight in (0, 1]. Pixels
 * already owned by another lesion, bone, air, sinus and calcifications are never included.
 */
function lesionMask(lesion: Lesion, j: number, g: SliceGeometry, an: Anatomy, owner: Int16Array, out: Map<number, number>): void {
  out.clear();
  const n = an.size;
  const N = n * n;
  const p = lesion.profile[j]!;
  const tissue = g.tissue;
  const softOk = (c: number): boolean =>
    c === Tissue.WHITE_MATTER ||
    c === Tissue.GREY_MATTER ||
    c === Tissue.DEEP_GREY ||
    c === Tissue.CSF_RIM ||
    c === Tissue.SULCUS ||
    c === Tissue.FISSURE ||
    c === Tissue.CISTERN;
  switch (lesion.type) {
    case 'edh':
    case 'sdh': {
      const centre = lesion.angle + lesion.angleDrift * j;
      const half = lesion.halfAngle * (0.55 + 0.45 * p);
      const h = lesion.thickness * p;
      for (let i = 0; i < N; i++) {
        if (owner[i]! >= 0 || !softOk(tissue[i]!)) continue;
        const depth = g.depth[i]!;
        if (depth < -0.35 || depth > h + 1) continue;
        const x = angleDiff(g.phi[i]!, centre) / half;
        if (x <= -1 || x >= 1) continue;
        const prof = lesion.type === 'edh' ? Math.sqrt(1 - x * x) : (1 - x ** 4) ** 0.6;
        const w = clamp01(h * prof - depth + 0.5);
        if (w >= 0.3) out.set(i, w);
      }
      break;
    }
    case 'ich': {
      const cxp = g.cx + (g.cos * lesion.cu * g.A - g.sin * lesion.cv * g.B);
      const cyp = g.cy + (g.sin * lesion.cu * g.A + g.cos * lesion.cv * g.B);
      const R = lesion.radius * (0.35 + 0.65 * p);
      const [a2, p2, a3, p3, a5, p5] = lesion.harmonics;
      const reach = R * (1 + a2 + a3 + a5) + lesion.edema + 1.5;
      const x0 = Math.max(0, Math.floor(cxp - reach));
      const x1 = Math.min(n - 1, Math.ceil(cxp + reach));
      const y0 = Math.max(0, Math.floor(cyp - reach));
      const y1 = Math.min(n - 1, Math.ceil(cyp + reach));
      const edema = lesion.faint[j] ? 0 : lesion.edema * p;
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const i = y * n + x;
          const c = tissue[i]!;
          if (owner[i]! >= 0 || !(c === Tissue.WHITE_MATTER || c === Tissue.GREY_MATTER || c === Tissue.DEEP_GREY || c === Tissue.SULCUS)) continue;
          if (g.depth[i]! < 1.5 * an.k) continue;
          const dx = x + 0.5 - cxp;
          const dy = y + 0.5 - cyp;
          const dist = Math.sqrt(dx * dx + dy * dy);
          const th = fastAtan2(dy, dx);
          const r = R * (1 + a2 * Math.cos(2 * th + p2) + a3 * Math.cos(3 * th + p3) + a5 * Math.cos(5 * th + p5));
          const core = clamp01(r - dist + 0.5);
          if (core >= 0.3) out.set(i, core);
          else if (edema > 0 && dist < r + edema) out.set(i, -1); // oedema rim (hypodense)
        }
      }
      break;
    }
    case 'ivh': {
      const idx: number[] = [];
      for (let i = 0; i < N; i++) {
        if (owner[i]! >= 0 || tissue[i] !== Tissue.VENTRICLE) continue;
        if (lesion.side !== 0 && Math.sign(g.u[i]!) !== lesion.side && Math.abs(g.u[i]!) > 0.04) continue;
        idx.push(i);
      }
      if (!idx.length) break;
      // Blood layers in the dependent (posterior = lower rows) part of the ventricle.
      const fill = Math.min(1, lesion.fill * (0.6 + 0.4 * p));
      const rows = idx.map((i) => Math.floor(i / n)).sort((a, b) => a - b);
      const level = rows[Math.min(rows.length - 1, Math.floor((1 - fill) * rows.length))]!;
      for (const i of idx) if (Math.floor(i / n) >= level) out.set(i, 1);
      break;
    }
    case 'sah': {
      const basal = lesion.variant === 'basal';
      const centre = lesion.angle + lesion.angleDrift * j;
      const half = lesion.halfAngle * (0.5 + 0.5 * p);
      const K = an.sulci.length;
      for (let i = 0; i < N; i++) {
        if (owner[i]! >= 0) continue;
        const c = tissue[i]!;
        if (!softOk(c)) continue;
        const cov = g.csfCov[i]!;
        if (cov < CSF_CLASS_COVERAGE) continue;
        if (basal) {
          const sylvian = g.sulcus[i]! >= K - 2;
          if (!(c === Tissue.CISTERN || c === Tissue.FISSURE || sylvian)) continue;
          if (c === Tissue.FISSURE && g.depth[i]! < 4 * an.k) continue;
        } else {
          if (Math.abs(angleDiff(g.phi[i]!, centre)) > half) continue;
          if (c === Tissue.CISTERN) continue;
        }
        // Blood distends the space it fills: full density even where the CSF was partial-volume.
        out.set(i, 1);
      }
      break;
    }
  }
}

// ─── noise and artifacts ────────────────────────────────────────────────────────────────────────

function addNoiseAndArtifacts(an: Anatomy, g: SliceGeometry, rng: Rng, artifacts: boolean, work: Float32Array, work2: Float32Array): void {
  const n = an.size;
  const N = n * n;
  const value = g.clean;
  if (artifacts) {
    // Cupping: the centre of the brain slightly darker.
    for (let i = 0; i < N; i++) {
      const c = g.tissue[i]!;
      if (c === Tissue.AIR || c === Tissue.SCALP || c === Tissue.BONE) continue;
      const rr = g.dist[i]! / Math.max(1, g.dist[i]! + g.depth[i]!);
      value[i] = value[i]! - an.cupping * (1 - rr * rr);
    }
    // Streaks: dark bands between dense skull-base bone, occasional faint streaks elsewhere.
    const low = g.t < 0.24;
    const count = low ? rng.int(2, 4) : rng.chance(0.25) ? 1 : 0;
    for (let s = 0; s < count; s++) {
      const angle = low ? rng.range(-0.35, 0.35) : rng.range(0, Math.PI);
      const ox = g.cx + rng.range(-0.25, 0.25) * g.A;
      const oy = g.cy + (low ? rng.range(0, 0.3) : rng.range(-0.4, 0.4)) * g.B;
      const amp = low ? -rng.range(8, 20) : rng.sign() * rng.range(3, 6);
      const width = rng.range(0.6, 1.3) * an.k;
      const nx = -Math.sin(angle);
      const ny = Math.cos(angle);
      for (let y = 0, i = 0; y < n; y++) {
        const rowTerm = ny * (y + 0.5 - oy);
        for (let x = 0; x < n; x++, i++) {
          const dd = (nx * (x + 0.5 - ox) + rowTerm) / width;
          if (dd > 3 || dd < -3 || g.tissue[i] === Tissue.AIR) continue;
          value[i] = value[i]! + amp * Math.exp(-dd * dd);
        }
      }
    }
  }
  if (an.sigma > 0) {
    const table = standardNormalTable();
    // mulberry32 in local state (seeded from the noise stream): one table index per pixel.
    let state = rng.u32();
    for (let i = 0; i < N; i++) {
      state = (state + 0x6d2b79f5) | 0;
      let z = Math.imul(state ^ (state >>> 15), 1 | state);
      z = (z + Math.imul(z ^ (z >>> 7), 61 | z)) ^ z;
      work[i] = table[((z ^ (z >>> 14)) >>> 16) & 0xffff]!;
    }
    // Separable [1 2 1]/4 blur: CT noise is spatially correlated.
    for (let y = 0; y < n; y++) {
      const r = y * n;
      for (let x = 0; x < n; x++) {
        const l = work[r + (x > 0 ? x - 1 : x)]!;
        const m = work[r + x]!;
        const h = work[r + (x < n - 1 ? x + 1 : x)]!;
        work2[r + x] = 0.25 * l + 0.5 * m + 0.25 * h;
      }
    }
    const scale = an.sigma / BLUR_STD_FACTOR;
    for (let y = 0; y < n; y++) {
      const up = (y > 0 ? y - 1 : y) * n;
      const dn = (y < n - 1 ? y + 1 : y) * n;
      const r = y * n;
      for (let x = 0; x < n; x++) {
        value[r + x] = value[r + x]! + scale * (0.25 * work2[up + x]! + 0.5 * work2[r + x]! + 0.25 * work2[dn + x]!);
      }
    }
  }
}

// ─── the patient ────────────────────────────────────────────────────────────────────────────────

/** The seed of patient `index` of a dataset generated with `seed`. */
export function patientSeed(seed: number, index: number): number {
  return hashParts('ichnet-synth-patient', seed, index);
}

/**
 * Generates one patient: an axial head-CT series in HU with its per-slice labels.
 * Pure and deterministic: the same options give the same output bit for bit.
 * @example
 * const p = generatePatient({ seed: 7 });
 * p.slices.length;   // 16..32
 * p.labels[s * 5 + COURSE_LABELS.indexOf('sdh')]; // 1 where a subdural hematoma is drawn on slice s
 */
export function generatePatient(options: PhantomOptions): Phantom {
  const size = options.size ?? 128;
  if (!Number.isInteger(size) || size < 32 || size > 1024) throw new RangeError(`synthetic phantom: size must be an integer in [32, 1024], got ${size}`);
  const sliceRange: readonly [number, number] =
    typeof options.slices === 'number' ? [options.slices, options.slices] : (options.slices ?? [16, 32]);
  const [sMin, sMax] = sliceRange;
  if (!Number.isInteger(sMin) || !Number.isInteger(sMax) || sMin < 1 || sMax < sMin || sMax > 512) {
    throw new RangeError(`synthetic phantom: slices must be integers with 1 ≤ min ≤ max ≤ 512, got [${sMin}, ${sMax}]`);
  }
  const prevalence: Record<LesionType, number> = { ...DEFAULT_PREVALENCE, ...(options.prevalence ?? {}) };
  for (const type of COURSE_LABELS) {
    const pr = prevalence[type];
    if (!(pr >= 0 && pr <= 1)) throw new RangeError(`synthetic phantom: prevalence.${type} must be in [0, 1], got ${pr}`);
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
  const g: SliceGeometry = {
    t: 0,
    cx: 0,
    cy: 0,
    cos: 1,
    sin: 0,
    A: 1,
    B: 1,
    phi: new Float32Array(N),
    depth: new Float32Array(N),
    dist: new Float32Array(N),
    u: new Float32Array(N),
    v: new Float32Array(N),
    csfCov: new Float32Array(N),
    sulcus: new Int16Array(N),
    tissue: new Uint8Array(N),
    clean: new Float32Array(N),
  };
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

/**
 * Applies a display window to HU: `clamp(round((x − (c − w/2)) / w · 255), 0, 255)` per pixel,
 * the same mapping as the native window step scaled to 8 bits.
 */
export function windowToUint8(hu: Int16Array, center: number, width: number): Uint8Array {
  const out = new Uint8Array(hu.length);
  const lo = center - width / 2;
  const scale = 255 / width;
  for (let i = 0; i < hu.length; i++) {
    const v = Math.round((hu[i]! - lo) * scale);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

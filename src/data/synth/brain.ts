/**
 * The brain inside the skull at one level: parenchyma (white matter, the cortical grey band, deep
 * grey nuclei, a smooth texture), the CSF spaces (the rim under the inner table, cortical sulci
 * that continue from slice to slice, the Sylvian and interhemispheric fissures with the falx,
 * the basal cisterns, the lateral/third/fourth ventricles), calcifications, and the skull base's
 * bone and sinus air in the lowest slices — all with partial-volume edges.
 */
import type { Anatomy, Sulcus } from './anatomy.js';
import { ANGLE_BINS, angleDiff, bump, clamp01, type Ellipse, ellipse, ellipseCoverage, fastAtan2, TWO_PI } from './geometry.js';
import type { SliceGeometry } from './slice-geometry.js';
import { CSF_CLASS_COVERAGE, Tissue, type TissueClass } from './tissue.js';

/** The brain's structures at one level, computed once per slice by {@link brainLevel}. */
export interface BrainLevel {
  /** Width (px) of the CSF rim under the inner table, per angle bin. */
  rimW: Float32Array;
  /** Per sulcus (the two Sylvian fissures last): angle, depth (px) and width (px) at this level. */
  sulciAngles: number[];
  sulciDepth: number[];
  sulciWidth: number[];
  /** Depth (px) of the deepest cortical sulcus and of the deeper Sylvian fissure. */
  maxCortical: number;
  maxSylvian: number;
  /** Ventricles, deep grey nuclei, calcifications, skull-base bone and sinuses (normalised head coordinates). */
  vents: Ellipse[];
  deep: Ellipse[];
  calcs: Ellipse[];
  bones: Ellipse[];
  sinuses: Ellipse[];
  /** Perimesencephalic cistern (null where absent), and the suprasellar cistern's radius (px). */
  cisternRing: { cu: number; cv: number; ru: number; rv: number; w: number } | null;
  starR: number;
  /** Interhemispheric fissure: present at all, gap around the middle (normalised v), half-width (px). */
  fissOn: boolean;
  fissGap: number;
  fissHalfW: number;
  /** This level's texture plane (textureN × textureN, HU). */
  tex: Float32Array;
}

/** Computes the brain's structures at level t (0 = skull base, 1 = vertex) of a head scaled by f, with semi-axes A × B px. */
export function brainLevel(an: Anatomy, t: number, f: number, A: number, B: number): BrainLevel {
  const k = an.k;
  const rimW = new Float32Array(ANGLE_BINS);
  for (let b = 0; b < ANGLE_BINS; b++) {
    const phi = -Math.PI + ((b + 0.5) / ANGLE_BINS) * TWO_PI;
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

  const texN = an.textureN;
  const texZ = an.textureZ;
  const tz = clamp01(t) * (texZ - 1);
  const z0 = Math.min(texZ - 2, Math.floor(tz));
  const fz = tz - z0;
  // This level's texture plane (amplitude ±1.6 HU), interpolated between the grid's z planes.
  const tex = new Float32Array(texN * texN);
  for (let j = 0; j < tex.length; j++) tex[j] = 1.6 * (an.textureGrid[z0 * texN * texN + j]! * (1 - fz) + an.textureGrid[(z0 + 1) * texN * texN + j]! * fz);

  return {
    rimW,
    sulciAngles,
    sulciDepth,
    sulciWidth,
    maxCortical,
    maxSylvian,
    vents,
    deep,
    calcs,
    bones,
    sinuses,
    cisternRing,
    starR,
    fissOn,
    fissGap,
    fissHalfW,
    tex,
  };
}

/**
 * Renders pixel i = (x, y) inside the skull's inner surface (normalised coordinates u, v, elliptic
 * angle phi in angle bin `bin`, `depth` px under the inner table, `d` px from the centre): writes
 * its tissue class, CSF coverage and sulcus to `g` and returns its HU (before the skull, scalp and
 * air are blended over it).
 */
export function brainPixel(
  an: Anatomy,
  lv: BrainLevel,
  g: SliceGeometry,
  i: number,
  x: number,
  y: number,
  u: number,
  v: number,
  phi: number,
  depth: number,
  d: number,
  bin: number,
): number {
  const { rimW, sulciAngles, sulciDepth, sulciWidth, maxCortical, maxSylvian, vents, deep, calcs, bones, sinuses } = lv;
  const { cisternRing, starR, fissOn, fissGap, fissHalfW, tex } = lv;
  const n = an.size;
  const K = an.sulci.length;
  const hu = an.hu;
  const texN = an.textureN;
  const A = g.A;
  const B = g.B;
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
  let tissue: TissueClass = cGm >= 0.5 ? Tissue.GREY_MATTER : cDeep >= 0.5 ? Tissue.DEEP_GREY : Tissue.WHITE_MATTER;

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
  let value = par + (hu.csf - par) * cCsf;
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
  g.tissue[i] = tissue;
  return value;
}

/** Partial-volume coverage of a pixel by sulcus `s` at this level (its angle, depth and width here). */
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

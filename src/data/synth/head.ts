/**
 * One slice's lesion-free render: the head's outline, scalp and skull (dense tables around a
 * diploe, thickness varying with angle) around the brain of `brain.ts`, with partial-volume edges,
 * plus the per-pixel geometry (angle, depth under the inner table, …) that the lesion masks and the
 * noise pass reuse.
 */
import { type Anatomy, headScale } from './anatomy.js';
import { brainLevel, brainPixel } from './brain.js';
import { ANGLE_BINS, clamp01, fastAtan2, TWO_PI } from './geometry.js';
import type { SliceGeometry } from './slice-geometry.js';
import { Tissue, type TissueClass } from './tissue.js';

/** Renders the lesion-free slice at level t (0 = skull base, 1 = vertex) into `g`: geometry, tissue map and HU before noise. */
export function renderAnatomy(an: Anatomy, t: number, g: SliceGeometry): void {
  const n = an.size;
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
  const [e2, p2, e3, p3] = an.outline;
  const [s2, q2, s3, q3] = an.skullMod;
  const baseThick = an.skull * (1 + 0.5 * clamp01((0.25 - t) / 0.25));
  for (let b = 0; b < ANGLE_BINS; b++) {
    const phi = -Math.PI + ((b + 0.5) / ANGLE_BINS) * TWO_PI;
    outlineMul[b] = 1 + e2 * Math.cos(2 * (phi - p2)) + e3 * Math.cos(3 * (phi - p3)) + an.egg * Math.sin(phi) * Math.abs(Math.cos(phi));
    skullT[b] = baseThick * (1 + s2 * Math.cos(2 * (phi - q2)) + s3 * Math.cos(3 * (phi - q3)));
  }
  const lv = brainLevel(an, t, f, A, B);
  const hu = an.hu;

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
        // Inside the skull: the brain (which also writes the pixel's tissue, CSF coverage and sulcus).
        value = brainPixel(an, lv, g, i, x, y, u, v, phi, depth, d, bin);
        tissue = g.tissue[i] as TissueClass;
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

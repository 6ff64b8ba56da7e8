/**
 * Where a sampled lesion lies on one slice: its partial-volume mask, per type (epidural and subdural
 * against the inner table, intraparenchymal blob with an oedema rim, intraventricular layering or
 * cast, subarachnoid blood in the CSF spaces), and the order in which masks claim pixels.
 */
import type { Anatomy } from './anatomy.js';
import { angleDiff, clamp01, fastAtan2 } from './geometry.js';
import type { Lesion, LesionType } from './lesions.js';
import type { SliceGeometry } from './slice-geometry.js';
import { CSF_CLASS_COVERAGE, Tissue } from './tissue.js';

/** Order in which lesion masks claim pixels (earlier types win overlaps). */
export const DRAW_ORDER: readonly LesionType[] = ['ivh', 'ich', 'edh', 'sdh', 'sah'];

/**
 * Computes a lesion's mask on one slice: pixel index → partial-volume weight in (0, 1]. Pixels
 * already owned by another lesion, bone, air, sinus and calcifications are never included.
 */
export function lesionMask(lesion: Lesion, j: number, g: SliceGeometry, an: Anatomy, owner: Int16Array, out: Map<number, number>): void {
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

/**
 * Noise and artifacts added to each rendered slice: cupping, streaks (beam-hardening-like, dense at
 * the skull base) and spatially correlated Gaussian noise.
 */
import { type Rng, standardNormalTable } from '../rng.js';
import type { Anatomy } from './anatomy.js';
import type { SliceGeometry } from './slice-geometry.js';
import { Tissue } from './tissue.js';

/** Standard deviation of white noise after the separable [1 2 1]/4 blur. */
const BLUR_STD_FACTOR = 0.375;

/**
 * Adds cupping and streaks (with `artifacts`) and the patient's correlated noise to `g.clean`, drawing
 * from the noise stream; `work` and `work2` are scratch buffers of the slice's size.
 */
export function addNoiseAndArtifacts(an: Anatomy, g: SliceGeometry, rng: Rng, artifacts: boolean, work: Float32Array, work2: Float32Array): void {
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

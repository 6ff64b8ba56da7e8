/**
 * Small geometry helpers of the phantom renderer: clamps, bumps, a fast atan2, angle wrapping and
 * partial-volume ellipses in normalised head coordinates.
 */

export const TWO_PI = 2 * Math.PI;

/** Angle bins of the per-slice tables of angle-dependent radii (outline, skull, CSF rim). */
export const ANGLE_BINS = 720;

/** A smooth bump: 1 at c, 0 outside c ± h. */
export function bump(t: number, c: number, h: number): number {
  const x = (t - c) / h;
  return x * x >= 1 ? 0 : Math.sqrt(1 - x * x);
}

/** Clamps to [0, 1]. */
export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/**
 * atan2 by a minimax polynomial (|error| < 1e-5 rad): plain arithmetic, so as deterministic as
 * Math.atan2 and several times faster in the per-pixel loops.
 */
export function fastAtan2(y: number, x: number): number {
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
export function angleDiff(a: number, b: number): number {
  const d = a - b;
  return d - TWO_PI * Math.round(d / TWO_PI);
}

/** An ellipse in normalised head coordinates, tested with a partial-volume coverage in [0, 1]. */
export interface Ellipse {
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

/** An ellipse centred at (cu, cv) with semi-axes au, av rotated by `angle`, on a head of semi-axes A × B px; null if degenerate. */
export function ellipse(cu: number, cv: number, au: number, av: number, angle: number, A: number, B: number): Ellipse | null {
  if (au <= 1e-4 || av <= 1e-4) return null;
  const pxScale = Math.min(au * A, av * B);
  return { cu, cv, au, av, cos: Math.cos(angle), sin: Math.sin(angle), pxScale, ext: Math.max(au, av) * (1 + 0.5 / pxScale) + 1e-3 };
}

/** Partial-volume coverage in [0, 1] of the pixel at normalised (u, v) by `e`. */
export function ellipseCoverage(e: Ellipse, u: number, v: number): number {
  const du = u - e.cu;
  const dv = v - e.cv;
  if (du > e.ext || du < -e.ext || dv > e.ext || dv < -e.ext) return 0;
  const x = (e.cos * du + e.sin * dv) / e.au;
  const y = (-e.sin * du + e.cos * dv) / e.av;
  const r2 = x * x + y * y;
  if (r2 > 4) return 0;
  return clamp01((1 - Math.sqrt(r2)) * e.pxScale + 0.5);
}

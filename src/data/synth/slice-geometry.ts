/** The per-slice geometry and buffers shared by the anatomy render, the lesion masks and the noise pass. */

/** Per-slice geometry shared by the anatomy and lesion passes. */
export interface SliceGeometry {
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

/** Allocates the buffers of a slice of `N` pixels (filled by `renderAnatomy`). */
export function createSliceGeometry(N: number): SliceGeometry {
  return {
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
}

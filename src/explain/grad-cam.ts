/**
 * Grad-CAM over whole series: runs a session's `gradCam` on a patient's slices (in the same chunks
 * prediction uses, so each slice sees the same context) and stitches the maps per slice and label.
 */
import { SliceLoader } from '../data/loader.js';
import type { OnError, PatientRecord, SkippedItem } from '../data/types.js';
import type { Session } from '../session/session.js';

/** Grad-CAM of one patient: probabilities and a map per slice and label. */
export interface PatientGradCam {
  patient: PatientRecord;
  labels: number;
  /** slices × labels, NaN for slices that could not be read. */
  probs: Float32Array;
  /** slices × labels × height × width, row-major (NaN for unread slices); see `GradCamResult.maps`. */
  maps: Float32Array;
  height: number;
  width: number;
  /**
   * slices × 4: the region [x0, y0, x1, y1] of each slice (in its pixel edges) that its map
   * covers (`GradCamResult.boxes` of the slice's chunk); zeros for unread slices.
   */
  boxes: Int32Array;
  skipped: SkippedItem[];
}

export interface GradCamOptions {
  labels: number;
  /** Longest chunk of a series (the checkpoint's `train.eval_max_slices`). */
  maxSlices: number;
  onError?: OnError;
}

/** Grad-CAM of every slice and label of `patient`. */
export async function patientGradCam(session: Session, patient: PatientRecord, options: GradCamOptions): Promise<PatientGradCam> {
  const L = options.labels;
  const n = patient.slices.length;
  const loader = new SliceLoader([patient], { labels: L, patientsPerBatch: 1, maxSlices: options.maxSlices, mode: 'eval', seed: 0, onError: options.onError ?? 'error' });
  const probs = new Float32Array(n * L).fill(Number.NaN);
  const boxes = new Int32Array(n * 4);
  let maps: Float32Array | undefined;
  let height = 0;
  let width = 0;
  for await (const { batch, items } of loader.batches()) {
    const { labels: _unused, ...unlabelled } = batch;
    const result = await session.gradCam(unlabelled);
    const [, h, w] = result.mapShape;
    if (!maps) {
      height = h;
      width = w;
      maps = new Float32Array(n * L * h * w).fill(Number.NaN);
    }
    const plane = h * w;
    const item = items[0];
    if (!item) continue;
    // Targets come back in (patient, slice, label) order: map t is chunk slice ⌊t/L⌋, label t mod L.
    item.slices.forEach((s, k) => {
      boxes.set(result.boxes.subarray(0, 4), s * 4);
      for (let l = 0; l < L; l++) {
        probs[s * L + l] = 1 / (1 + Math.exp(-(result.logits[k * L + l] as number)));
        maps?.set(result.maps.subarray((k * L + l) * plane, (k * L + l + 1) * plane), (s * L + l) * plane);
      }
    });
  }
  return { patient, labels: L, probs, maps: maps ?? new Float32Array(0), height, width, boxes, skipped: loader.skipped };
}

/**
 * The chunk of a series that prediction puts `slice` in (so the slice RNN sees the same neighbours,
 * and `prep.crop` finds the same box), and where that chunk starts.
 */
export function chunkOf(patient: PatientRecord, slice: number, maxSlices: number): { chunk: PatientRecord; start: number } {
  const start = Math.floor(slice / maxSlices) * maxSlices;
  return { chunk: { id: patient.id, slices: patient.slices.slice(start, start + maxSlices) }, start };
}

/** Runs a session over every slice of some patients and collects per-slice probabilities. */
import { SliceLoader, scatterToPatients } from '../data/loader.js';
import type { OnError, PatientRecord, SkippedItem } from '../data/types.js';
import type { Session } from '../session/session.js';
import { StagedBatches } from './staged-batches.js';

export interface Inference {
  /** Patient id → probabilities, slices × labels (sigmoid of the slice logits). */
  probs: Map<string, Float32Array>;
  /** Mean loss per valid slice (NaN without labels). */
  loss: number;
  slices: number;
  seconds: number;
  skipped: SkippedItem[];
}

export interface InferOptions {
  labels: number;
  patientsPerBatch: number;
  maxSlices: number;
  prefetch: number;
  onError: OnError;
  /** Decode worker threads (`data.workers`). */
  workers: number | 'auto';
  /** Stage batch k+1 on the session while batch k runs (`train.overlap`; default true). */
  overlap?: boolean;
  /** Called after each batch with the slices done so far. */
  onBatch?: (slices: number) => void;
}

/** Evaluation mode (whole series, chunked and stitched); uses labels for the loss when all patients have them. */
export async function infer(session: Session, patients: PatientRecord[], options: InferOptions): Promise<Inference> {
  const loader = new SliceLoader(patients, { ...options, mode: 'eval', seed: 0 });
  const logits = new Map<string, Float32Array>();
  const labelled = patients.every((p) => p.labels);
  let lossSum = 0;
  let slices = 0;
  const t0 = performance.now();
  const batches = new StagedBatches(loader.batches(), session, 'eval', options.overlap ?? true);
  try {
    for (let loaded = await batches.next(); loaded; ) {
      const step = labelled ? session.evalStep(loaded.batch) : session.predict(loaded.batch);
      step.catch(() => undefined); // awaited below, once the next batch is staged
      const following = await batches.next(step);
      const result = await step;
      const n = loaded.batch.lengths.reduce((a, v) => a + v, 0);
      if (labelled) lossSum += result.loss * n;
      slices += n;
      scatterToPatients(loaded, result.logits, options.labels, logits);
      loader.release(loaded);
      options.onBatch?.(slices);
      loaded = following;
    }
  } finally {
    await batches.close();
  }
  const probs = new Map<string, Float32Array>();
  for (const [id, l] of logits) probs.set(id, l.map((v) => 1 / (1 + Math.exp(-v))));
  return { probs, loss: labelled && slices > 0 ? lossSum / slices : Number.NaN, slices, seconds: (performance.now() - t0) / 1000, skipped: loader.skipped };
}

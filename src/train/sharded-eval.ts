/**
 * Validation across the ranks of a data-parallel job: each rank runs its shard of the patients
 * (every patient exactly once) and all ranks gather every rank's probabilities, so that each holds
 * what one process evaluating every patient would (same metrics, same tuned thresholds, same
 * decisions on every rank).
 */
import { evaluationShard } from '../data/shard.js';
import type { PatientRecord } from '../data/types.js';
import type { Session } from '../session/session.js';
import type { Inference } from './infer.js';

/**
 * `run` evaluates this rank's shard; the result is the whole set's inference. The shards are the
 * same function of the patient list on every rank, so only probabilities travel: per rank
 * [loss × slices, slices, then each shard patient's slices × labels, NaN where not predicted].
 */
export async function shardedInference(
  session: Session,
  patients: PatientRecord[],
  labels: number,
  placement: { rank: number; worldSize: number },
  run: (shard: PatientRecord[]) => Promise<Inference>,
): Promise<Inference> {
  const { rank, worldSize } = placement;
  const mine = await run(evaluationShard(patients, rank, worldSize));
  const shardOf = (r: number) => evaluationShard(patients, r, worldSize);
  const size = (ps: PatientRecord[]) => 2 + ps.reduce((n, p) => n + p.slices.length * labels, 0);
  const packed = new Float32Array(size(shardOf(rank))).fill(Number.NaN);
  packed[0] = mine.slices > 0 && Number.isFinite(mine.loss) ? mine.loss * mine.slices : 0;
  packed[1] = mine.slices;
  let at = 2;
  for (const p of shardOf(rank)) {
    const probs = mine.probs.get(p.id);
    if (probs) packed.set(probs, at);
    at += p.slices.length * labels;
  }
  const parts = await session.allGather(packed);
  const probs = new Map<string, Float32Array>();
  let lossSum = 0;
  let slices = 0;
  parts.forEach((part, r) => {
    lossSum += part[0] as number;
    slices += part[1] as number;
    let offset = 2;
    for (const p of shardOf(r)) {
      const n = p.slices.length * labels;
      const values = part.slice(offset, offset + n);
      offset += n;
      if (values.some((v) => !Number.isNaN(v))) probs.set(p.id, values);
    }
  });
  const labelled = patients.every((p) => p.labels);
  return { probs, loss: labelled && slices > 0 ? lossSum / slices : Number.NaN, slices, seconds: mine.seconds, skipped: mine.skipped };
}

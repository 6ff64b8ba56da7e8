/** `ichnet predict`: per-slice and per-patient probabilities and decisions, or the course's submission. */
import { writeFile } from 'node:fs/promises';

import { openCheckpoint, predictDataset } from '../train/checkpoint.js';
import { courseSubmissionCsv, patientPredictionsCsv, predictionsCsv } from '../train/predictions.js';

export interface PredictArgs {
  checkpoint: string;
  data: string;
  out: string;
  format: 'csv' | 'course';
  device?: string;
}

export async function predictCommand(args: PredictArgs): Promise<number> {
  const opened = await openCheckpoint(args.checkpoint, args.device ? { device: args.device } : {});
  const { dataset, inference } = await predictDataset(opened, { root: args.data }).finally(() => opened.session.close());
  const { labels, thresholds } = opened.state;
  if (args.format === 'course') {
    await writeFile(args.out, courseSubmissionCsv(labels, dataset.patients, inference.probs, thresholds));
    console.log(`${args.out}: ${inference.slices} slices × ${labels.length} labels (course submission format)`);
  } else {
    const patientsPath = args.out.replace(/(\.csv)?$/i, '.patients.csv');
    await writeFile(args.out, predictionsCsv(labels, dataset.patients, inference.probs, thresholds));
    await writeFile(patientsPath, patientPredictionsCsv(labels, dataset.patients, inference.probs, thresholds));
    console.log(`${args.out}: ${inference.slices} slices; ${patientsPath}: ${dataset.patients.length} patients`);
  }
  if (inference.skipped.length > 0) {
    console.log(`${inference.skipped.length} input(s) skipped:`);
    for (const s of inference.skipped) console.log(`  ${s.path}: ${s.reason}`);
  }
  return 0;
}

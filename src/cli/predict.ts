/**
 * `ichnet predict`: per-slice and per-patient probabilities and decisions, or a challenge
 * submission (the course's or RSNA's), plus a per-study JSON summary.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { openInput, type InputArgs } from './input.js';
import { openCheckpoint, predictDataset } from '../train/checkpoint.js';
import { courseSubmissionCsv, patientPredictionsCsv, predictionsCsv, rsnaSources, rsnaSubmissionCsv } from '../train/predictions.js';
import { predictionSummary } from '../train/summary.js';

/** Output formats of `ichnet predict`. */
export const PREDICT_FORMATS = ['csv', 'course', 'rsna'] as const;

export interface PredictArgs extends InputArgs {
  checkpoint: string;
  out: string;
  format: (typeof PREDICT_FORMATS)[number];
  /** The per-study JSON summary; default `<out without .csv>.summary.json`. */
  summary?: string;
  device?: string;
}

/** `<out>` with `.csv` (if any) replaced by `suffix`. */
const beside = (out: string, suffix: string) => out.replace(/(\.csv)?$/i, suffix);

export async function predictCommand(args: PredictArgs): Promise<number> {
  const opened = await openCheckpoint(args.checkpoint, args.device ? { device: args.device } : {});
  const { labels, thresholds } = opened.state;
  let input;
  try {
    if (args.format === 'rsna') rsnaSources(labels); // fail before the work, not after it
    input = await openInput(args);
  } catch (e) {
    await opened.session.close();
    throw e;
  }
  const t0 = performance.now();
  const { dataset, inference } = await predictDataset(opened, input.data).finally(() => Promise.all([opened.session.close(), input.close()]));
  const seconds = (performance.now() - t0) / 1000;
  const { patients } = dataset;
  const { probs } = inference;
  if (args.format === 'course') {
    await writeFile(args.out, courseSubmissionCsv(labels, patients, probs, thresholds));
    console.log(`${args.out}: ${inference.slices} slices × ${labels.length} labels (course submission format)`);
  } else if (args.format === 'rsna') {
    await writeFile(args.out, rsnaSubmissionCsv(labels, patients, probs));
    console.log(`${args.out}: ${inference.slices} slices × 6 subtypes (RSNA submission format)`);
  } else {
    const patientsPath = beside(args.out, '.patients.csv');
    await writeFile(args.out, predictionsCsv(labels, patients, probs, thresholds));
    await writeFile(patientsPath, patientPredictionsCsv(labels, patients, probs, thresholds));
    console.log(`${args.out}: ${inference.slices} slices; ${patientsPath}: ${patients.length} patients`);
  }
  const skipped = [...input.skipped, ...dataset.skipped, ...inference.skipped];
  const summaryPath = args.summary ?? beside(args.out, '.summary.json');
  const summary = predictionSummary({ checkpoint: resolve(args.checkpoint), labels, thresholds, patients, probs, skipped });
  await writeFile(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  const studies = summary.studies.length;
  console.log(`${summaryPath}: ${studies} studies, ${summary.studies.filter((s) => s.positive.length > 0).length} with a positive label`);
  console.log(`${studies} studies, ${inference.slices} slices in ${seconds.toFixed(1)} s: ${(studies / seconds).toFixed(2)} studies/s`);
  if (skipped.length > 0) {
    console.log(`${skipped.length} input(s) skipped:`);
    for (const s of skipped) console.log(`  ${s.path}: ${s.reason}`);
  }
  return 0;
}

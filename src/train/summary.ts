/**
 * The per-study JSON summary `ichnet predict` writes beside its CSV, for systems downstream of the
 * model (a PACS worklist, a research database): per study, the patient-level probability of each
 * label, the threshold it was decided at, and the slices that drive each positive decision.
 */
import type { PatientRecord, SeriesIdentity, SkippedItem } from '../data/types.js';
import { float32Text, patientProbabilities } from './predictions.js';

/** A probability as the CSVs write it (the shortest decimal of its float32). */
const f32 = (v: number) => Number(float32Text(v));

/** A slice behind a positive label. */
export interface DrivingSlice {
  /** The slice's id (SOPInstanceUID for DICOM series read by UID, else the file stem or CSV id). */
  id: string;
  /** Its position in the series' anatomical order, from 0. */
  index: number;
  probability: number;
}

/** One label of one study. */
export interface LabelSummary {
  /** The maximum over the study's slices. */
  probability: number;
  threshold: number;
  positive: boolean;
  /** Slices at or above the threshold, most probable first (at most `maxDrivingSlices`); empty when negative. */
  drivingSlices: DrivingSlice[];
  /** How many slices are at or above the threshold. */
  positiveSlices: number;
}

/** One study (one series) of the summary. */
export interface StudySummary {
  id: string;
  series?: SeriesIdentity;
  /** Slices predicted (skipped ones are listed under `skipped`). */
  slices: number;
  /** The positive labels, in the model's label order. */
  positive: string[];
  labels: Record<string, LabelSummary>;
}

/** The whole file. */
export interface PredictionSummary {
  createdAt: string;
  checkpoint: string;
  labels: string[];
  thresholds: Record<string, number>;
  studies: StudySummary[];
  skipped: SkippedItem[];
}

/** The summary of one study from its per-slice probabilities (slices × labels). */
export function studySummary(patient: PatientRecord, probs: Float32Array, labels: string[], thresholds: number[], maxDrivingSlices = 5): StudySummary {
  const L = labels.length;
  const predicted = patient.slices.filter((_, k) => !Number.isNaN(probs[k * L] as number)).length;
  const patientProbs = patientProbabilities(probs, patient.slices.length, L);
  const out: StudySummary = { id: patient.id, slices: predicted, positive: [], labels: {} };
  if (patient.series) out.series = patient.series;
  labels.forEach((label, l) => {
    const threshold = thresholds[l] as number;
    const probability = patientProbs[l] as number;
    const above: DrivingSlice[] = [];
    patient.slices.forEach((s, k) => {
      const p = probs[k * L + l] as number;
      if (p >= threshold) above.push({ id: s.id, index: k, probability: f32(p) });
    });
    above.sort((a, b) => b.probability - a.probability || a.index - b.index);
    const positive = probability >= threshold;
    if (positive) out.positive.push(label);
    out.labels[label] = { probability: Number.isNaN(probability) ? probability : f32(probability), threshold, positive, drivingSlices: above.slice(0, maxDrivingSlices), positiveSlices: above.length };
  });
  return out;
}

/** The summary of a prediction run. Patients without any prediction (all input skipped) are left out; `skipped` lists why. */
export function predictionSummary(args: {
  checkpoint: string;
  labels: string[];
  thresholds: number[];
  patients: PatientRecord[];
  probs: Map<string, Float32Array>;
  skipped: SkippedItem[];
  createdAt?: Date;
}): PredictionSummary {
  const { labels, thresholds } = args;
  const studies: StudySummary[] = [];
  for (const p of args.patients) {
    const pr = args.probs.get(p.id);
    if (pr) studies.push(studySummary(p, pr, labels, thresholds));
  }
  return {
    createdAt: (args.createdAt ?? new Date()).toISOString(),
    checkpoint: args.checkpoint,
    labels,
    thresholds: Object.fromEntries(labels.map((l, i) => [l, thresholds[i] as number])),
    studies,
    skipped: args.skipped,
  };
}

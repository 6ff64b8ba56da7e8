/**
 * The whole metrics report of docs/ARCHITECTURE.md §6 at slice and patient level: the JSON that
 * `ichnet evaluate --json` prints.
 */
import { rocAuc } from './auc.js';
import { fbetaScore } from './fbeta.js';
import { isRsnaLabels, rsnaLogLoss } from './log-loss.js';
import { DEFAULT_THRESHOLD } from './thresholds.js';
import type { LabelCounts, Scored } from './types.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** F2 averaged three ways and per label (label names as keys). */
export interface F2Report {
  /** Pooled over all rows × labels: 5TP / (5TP + 4FN + FP) (1 when no positives at all are true or predicted). */
  micro: number;
  /** Mean of the per-label F2. */
  macro: number;
  /** Mean over rows (a row with no positives and no predicted positives scores 1). */
  samples: number;
  /** F2 of each label. */
  perLabel: Record<string, number>;
}

/** ROC AUC per label and macro; `null` (JSON-safe) where undefined. */
export interface AucReport {
  /** Mean over the labels with both classes present; `null` when no label has both. */
  macro: number | null;
  /** AUC of each label; `null` for a label with only one class present. */
  perLabel: Record<string, number | null>;
}

/** The metrics of one level (slices or patients). */
export interface LevelReport {
  /** F2 on the thresholded predictions. */
  f2: F2Report;
  /** Per-label precision, 1 where nothing is predicted positive (scikit-learn `zero_division=1`). */
  precision: Record<string, number>;
  /** Per-label recall, 1 where nothing is positive (scikit-learn `zero_division=1`). */
  recall: Record<string, number>;
  /** ROC AUC (threshold-free). */
  auc: AucReport;
  /** Per-label TP/FP/FN/TN and support at the thresholds. */
  counts: Record<string, LabelCounts>;
  /** RSNA's weighted log loss; present only when the labels are RSNA's six. */
  logLoss?: number;
}

/** What {@link evaluateAll} returns and `ichnet evaluate --json` prints. */
export interface MetricsReport {
  /** Slice-level metrics. */
  slice: LevelReport;
  /** Patient-level metrics (rows reduced with `patientLevel`). */
  patient: LevelReport;
}

/** The input of {@link evaluateAll}. */
export interface EvaluateInput {
  /** Label names, in column order (they become the report's keys; must be unique). */
  labels: readonly string[];
  /** Slice rows: N × L probabilities and targets. */
  slice: Scored;
  /** Patient rows (see `patientLevel`): P × L probabilities and targets. */
  patient: Scored;
  /** One threshold per label (prediction = prob >= threshold); default 0.5 for every label. */
  thresholds?: readonly number[];
}

function keyed<T>(labels: readonly string[], values: readonly T[]): Record<string, T> {
  return Object.fromEntries(labels.map((label, l) => [label, values[l] as T]));
}

const orNull = (v: number): number | null => (Number.isNaN(v) ? null : v);

/**
 * The metrics of one level: F2 (micro/macro/samples/per label), per-label precision, recall and
 * counts at `thresholds`, ROC AUC, and RSNA's log loss when `labels` are RSNA's six.
 * Throws on empty input or on shapes that do not match `labels`.
 */
export function evaluateLevel(labels: readonly string[], data: Scored, thresholds: readonly number[]): LevelReport {
  const L = labels.length;
  if (L === 0) throw new IchnetError('INVALID_ARGUMENT', 'metrics: no labels');
  if (new Set(labels).size !== L) throw new IchnetError('INVALID_ARGUMENT', `metrics: duplicate label names in ${labels.join(', ')}`);
  if (thresholds.length !== L) throw new IchnetError('INVALID_ARGUMENT', `metrics: ${thresholds.length} thresholds for ${L} labels`);
  if (data.probs.length === 0) throw new IchnetError('INVALID_ARGUMENT', 'metrics: nothing to evaluate (no rows)');
  const f = fbetaScore(data.probs, data.targets, thresholds, { beta: 2 });
  const auc = rocAuc(data.probs, data.targets, L);
  const report: LevelReport = {
    f2: { micro: f.fbeta.micro, macro: f.fbeta.macro, samples: f.fbeta.samples, perLabel: keyed(labels, f.fbeta.perLabel) },
    precision: keyed(labels, f.precision.perLabel),
    recall: keyed(labels, f.recall.perLabel),
    auc: { macro: orNull(auc.macro), perLabel: keyed(labels, auc.perLabel.map(orNull)) },
    counts: keyed(labels, f.counts),
  };
  if (isRsnaLabels(labels)) report.logLoss = rsnaLogLoss(data.probs, data.targets, labels);
  return report;
}

/**
 * Evaluates slice and patient predictions with the same per-label thresholds (default 0.5) into
 * the {@link MetricsReport} JSON shape. Values match scikit-learn 1.2 (`fbeta_score(...,
 * beta=2, zero_division=1)`, `precision_recall_fscore_support(..., zero_division=1)`,
 * `roc_auc_score`); an undefined AUC is `null`.
 */
export function evaluateAll(input: EvaluateInput): MetricsReport {
  const thresholds = input.thresholds ?? input.labels.map(() => DEFAULT_THRESHOLD);
  return {
    slice: evaluateLevel(input.labels, input.slice, thresholds),
    patient: evaluateLevel(input.labels, input.patient, thresholds),
  };
}

/**
 * Metrics (docs/ARCHITECTURE.md §6), agreeing with scikit-learn 1.2: F-beta/precision/recall with
 * `zero_division=1`, ROC AUC, precision–recall curves and average precision, RSNA's weighted
 * log loss, exact per-label threshold tuning, patient-level reduction and the full report.
 * @packageDocumentation
 */
export type { LabelCounts, Scored } from './types.js';
export { binarize, confusionCounts } from './confusion.js';
export { DEFAULT_BETA, fbetaScore, prfFromCounts, type AveragedScore, type FbetaResult, type Prf } from './fbeta.js';
export { labelCurve, labelCurves, type LabelCurve } from './curve.js';
export { aucFromCurve, rocAuc, type RocAuc } from './auc.js';
export {
  averagePrecision,
  averagePrecisionFromCurve,
  precisionRecallCurve,
  precisionRecallCurves,
  prCurveFromCurve,
  type AveragePrecision,
  type PrCurve,
} from './pr-curve.js';
export {
  DEFAULT_THRESHOLD,
  tuneFromCurve,
  tuneThresholds,
  tuneThresholdsDetailed,
  type TunedThreshold,
} from './thresholds.js';
export { isRsnaLabels, RSNA_LOG_LOSS_EPS, RSNA_LOG_LOSS_WEIGHTS, rsnaLogLoss, weightedLogLoss } from './log-loss.js';
export { patientLevel, patientLevelFromLengths, type PatientRows, type PatientSlices } from './patient.js';
export { evaluateAll, evaluateLevel, type AucReport, type EvaluateInput, type F2Report, type LevelReport, type MetricsReport } from './evaluate.js';

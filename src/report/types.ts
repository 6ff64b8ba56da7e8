/**
 * The data a run report is drawn from. Everything here is plain JSON-like data (plus the sample
 * images' PNG bytes), so the trainer, `evaluate` and tests can build it without the addon.
 * Per-label arrays are parallel to {@link ReportInput.labels}; a missing or non-finite entry is
 * shown as "—" rather than failing the report.
 */

/** TP/FP/FN/TN of one label at one level (slice or patient). */
export interface ConfusionCounts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** Final metrics at one level: every valid slice, or every patient (max over its slices). */
export interface LevelMetrics {
  /** F2 (β = 2) on thresholded predictions: micro is the course competition's score. */
  f2: { micro: number; macro: number; samples: number; perLabel: number[] };
  precision: { perLabel: number[] };
  recall: { perLabel: number[] };
  /** ROC AUC; NaN for a label with only one class present. */
  auc: { macro: number; perLabel: number[] };
  counts: { perLabel: ConfusionCounts[] };
  /** RSNA's weighted log loss, when the labels are RSNA's six. */
  logLoss?: number;
}

/**
 * One line of `metrics.jsonl`. `epoch` is the x position on the charts: per-step records may carry
 * a fractional epoch (2.5 = halfway through the third epoch). Missing, null or non-finite values
 * leave a gap in the line. Other keys are kept but not charted.
 */
export interface HistoryRecord {
  epoch: number;
  step?: number;
  trainLoss?: number | null;
  valLoss?: number | null;
  /** Slice-level micro-F2 on the validation set. */
  valF2Micro?: number | null;
  /** Slice-level macro-F2 on the validation set. */
  valF2Macro?: number | null;
  /** Patient-level micro-F2 on the validation set. */
  valPatientF2Micro?: number | null;
  valAucMacro?: number | null;
  lr?: number | null;
  [key: string]: unknown;
}

/** A slice-level precision–recall curve of one label, as `sklearn.metrics.precision_recall_curve`. */
export interface PrCurve {
  recall: number[];
  precision: number[];
  averagePrecision: number;
}

/** One slice shown in the sample grid. */
export interface SampleSlice {
  patient: string;
  slice: string;
  /** An 8-bit PNG (or JPEG) of the image the model saw, windowed; see `slicePng`. */
  png: Uint8Array;
  width: number;
  height: number;
  /** 0/1 per label. */
  truth: number[];
  /** Predicted probability per label; predicted positive when ≥ the label's threshold. */
  probs: number[];
  /** Grad-CAM overlays on the same image (e.g. for each predicted or true label), in display order. */
  explanations?: SampleExplanation[];
}

/** A Grad-CAM overlay of one label on a sample slice. */
export interface SampleExplanation {
  label: string;
  /** PNG of the image with the label's heat map over it, the same size as the sample's image. */
  png: Uint8Array;
}

/** An input left out under `on_error: skip`. */
export interface SkippedInput {
  path: string;
  reason: string;
}

/** Facts about the run; extra keys are listed as they are. */
export interface RunFacts {
  device: string;
  torchVersion: string;
  durationSeconds: number;
  slicesPerSecond?: number;
  [key: string]: unknown;
}

/** Everything `renderReport` draws. */
export interface ReportInput {
  title: string;
  createdAt: Date | string;
  /** The resolved experiment config, shown as a collapsible YAML block. */
  config: unknown;
  labels: string[];
  history: HistoryRecord[];
  final: { slice: LevelMetrics; patient: LevelMetrics };
  /** Decision threshold per label (tuned on validation, default 0.5). */
  thresholds: number[];
  /** Slice-level PR curve per label. */
  prCurves: PrCurve[];
  samples: SampleSlice[];
  skipped: SkippedInput[];
  run: RunFacts;
}

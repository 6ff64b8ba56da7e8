/**
 * The run report: `report.html`, one self-contained page (inline CSS and SVG, images as data URIs)
 * that a radiology AI engineer opens after training.
 * @packageDocumentation
 */
export { renderReport, SECTIONS } from './html.js';
export { writeReport } from './write.js';
export { slicePng } from './samples.js';
export { escapeHtml } from './escape.js';
export type {
  ConfusionCounts,
  HistoryRecord,
  LevelMetrics,
  PrCurve,
  ReportInput,
  RunFacts,
  SampleExplanation,
  SampleSlice,
  SkippedInput,
} from './types.js';

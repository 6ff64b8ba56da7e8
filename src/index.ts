/**
 * ichnet: intracranial hemorrhage classification on CT with a LibTorch core.
 *
 * Every type a public signature uses is exported here too (test/public-types.test.ts checks it);
 * the metrics are the `ichnet/metrics` entry.
 * @packageDocumentation
 */
export { ERROR_CODES, IchnetError, type IchnetErrorCode } from './errors/ichnet-error.js';
export { Session } from './session/session.js';
export type { Batch, GradCamResult, LoadReport, SessionInfo, StepResult } from './session/types.js';
export {
  resolveSessionConfig,
  sessionSchema,
  type SessionConfig,
  type SessionConfigInput,
} from './config/session-schema.js';
export { COURSE_LABELS, RSNA_LABELS } from './config/labels.js';
export { DEFAULT_WINDOWS, IMAGENET_MEAN, IMAGENET_STD } from './config/prep-constants.js';
export { runtimeInfo, type AddonLoad, type RuntimeReport } from './session/runtime.js';
export { augParamNames, type AddonManifest, type AddonVariant, type LibTorch, type RuntimeInfo } from './session/binding.js';
export { preprocess, type PreprocessOptions } from './prep/preprocess.js';
export { clahe, type ClaheOptions } from './prep/clahe.js';
export { Trainer, type FitResult, type StageResult, type TrainerCallbacks, type TrainerEvents, type TrainerOptions } from './train/trainer.js';
export type { RankPlacement } from './distributed/env.js';
export type { BestEvent, CheckpointEvent, EpochEvent, PretrainedEvent, ProgressEvent, SkippedEvent, StageEvent, StepEvent } from './train/events.js';
export type { Scores } from './train/scores.js';
export type { BestCheckpoint, HistoryEntry } from './train/state.js';
export type { AucReport, F2Report, LabelCounts, LevelReport, MetricsReport } from './metrics/index.js';
export { experimentSchema, type ExperimentConfig, type ExperimentConfigInput } from './config/experiment-schema.js';
export { dataSchema, type DataConfig, type DataConfigInput } from './config/data-schema.js';
export { augmentSchema, type AugmentConfig, type AugmentConfigInput } from './config/augment-schema.js';
export { loadExperimentConfig, presetNames, type ConfigSource } from './config/load.js';
export { openDataset } from './data/datasets/index.js';
export { readDicom, readDicomHeader, type DicomImage, type DicomMeta } from './data/dicom/read.js';
export { writeSyntheticDataset, type SyntheticDatasetInfo, type SyntheticFormat, type WriteSyntheticOptions } from './data/synth/write.js';
export type { PhantomOptions } from './data/synth/patient.js';
export type { LesionType } from './data/synth/lesions.js';
export { sampleAugmentation } from './data/augment.js';
export { Rng } from './data/rng.js';
export type { Dataset, PatientRecord, SeriesIdentity, SkippedItem, SliceRef } from './data/types.js';

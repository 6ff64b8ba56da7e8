/**
 * ichnet: intracranial hemorrhage classification on CT with a LibTorch core.
 * @packageDocumentation
 */
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
export { augParamNames } from './session/binding.js';
export { preprocess, type PreprocessOptions } from './prep/preprocess.js';
export { clahe, type ClaheOptions } from './prep/clahe.js';
export { Trainer, type FitResult, type TrainerEvents, type TrainerOptions } from './train/trainer.js';
export { experimentSchema, type ExperimentConfig, type ExperimentConfigInput } from './config/experiment-schema.js';
export { loadExperimentConfig, presetNames } from './config/load.js';
export { openDataset } from './data/datasets/index.js';
export { readDicom, readDicomHeader, type DicomImage, type DicomMeta } from './data/dicom/read.js';
export { writeSyntheticDataset } from './data/synth/write.js';
export { sampleAugmentation } from './data/augment.js';
export type { Dataset, PatientRecord, SliceRef } from './data/types.js';

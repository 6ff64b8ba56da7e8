/**
 * The built-in synthetic dataset: seeded head-CT phantoms in Hounsfield units with the course's
 * five hemorrhage types (intraparenchymal, intraventricular, subarachnoid, subdural, epidural),
 * and a writer for the `folders` layout (DICOM and/or windowed PNG + `train.csv`).
 *
 * @example
 * ```ts
 * import { generatePatient, writeSyntheticDataset } from './data/synth/index.js';
 * const patient = generatePatient({ seed: 1 });           // slices: Int16Array[] (HU), labels: slices × 5
 * await writeSyntheticDataset({ out: 'data/synth', patients: 200, seed: 1, format: 'both' });
 * ```
 * @packageDocumentation
 */
export {
  DEFAULT_PREVALENCE,
  generatePatient,
  patientSeed,
  Tissue,
  windowToUint8,
  type LesionSummary,
  type LesionType,
  type Phantom,
  type PhantomOptions,
  type TissueClass,
} from './phantom.js';
export {
  defaultIdPrefix,
  encodeWindowedPng,
  syntheticPatientId,
  syntheticSliceId,
  writeSyntheticDataset,
  type SyntheticDatasetInfo,
  type SyntheticFormat,
  type WriteSyntheticOptions,
} from './write.js';
export { CT_IMAGE_STORAGE, encodeCtSlice, formatDecimalString, type CtSliceInput } from './dicom.js';
export { deterministicUid, hashParts, Rng } from '../rng.js';

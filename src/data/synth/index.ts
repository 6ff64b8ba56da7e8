/**
 * The built-in synthetic dataset: seeded head-CT phantoms in Hounsfield units with the course's
 * five hemorrhage types (intraparenchymal, intraventricular, subarachnoid, subdural, epidural),
 * and a writer for the `folders` layout (DICOM and/or windowed PNG + `train.csv`).
 *
 * `generatePatient({ seed: 1 })` gives one phantom (slices: Int16Array[] in HU, labels: slices × 5);
 * the package's `writeSyntheticDataset({ out: 'data/synth', patients: 200, seed: 1, format: 'both' })`
 * writes a whole data set.
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

/** The data layer's shared shapes: what a dataset yields and what a decoded slice holds. */

/** One slice of a patient's series, not yet decoded. */
export interface SliceRef {
  /** The slice's identifier (file stem, SOPInstanceUID, or the CSV's slice id). */
  id: string;
  /** Absolute path of the image or DICOM file. */
  path: string;
  /** Apply the RSNA ICH data's RescaleIntercept fix when decoding (src/data/dicom/rsna-fix.ts). */
  rsnaFix?: boolean;
}

/** The DICOM identity of a patient record's series, when it was read from DICOM headers. */
export interface SeriesIdentity {
  /** (0020,000D) Study Instance UID. */
  studyInstanceUid: string;
  /** (0020,000E) Series Instance UID. */
  seriesInstanceUid: string;
  /** (0010,0020) Patient ID, when the files have one. */
  patientId?: string;
}

/** One patient (one series): its slices in anatomical order and, when known, their labels. */
export interface PatientRecord {
  id: string;
  slices: SliceRef[];
  /** Study and series UIDs, for datasets grouped by them (`rsna`, `dicom`). */
  series?: SeriesIdentity;
  /** Per-slice 0/1 targets, slices × labels, row-major; absent for unlabelled (prediction) data. */
  labels?: Uint8Array;
}

/** Something that was left out under `onError: 'skip'`, and why. Never dropped silently. */
export interface SkippedItem {
  path: string;
  reason: string;
}

/** A dataset: patients → ordered slices → labels. */
export interface Dataset {
  /** Format name: `folders`, `rsna`, `manifest` or `synthetic`. */
  format: string;
  root: string;
  labelNames: string[];
  patients: PatientRecord[];
  skipped: SkippedItem[];
}

/**
 * Pixels of one decoded slice. `uint8`: 8-bit gray or RGB images. `hu`: Hounsfield units
 * (rescaled DICOM values, rounded and clamped to int16).
 */
export type SlicePixels =
  | { kind: 'uint8'; width: number; height: number; channels: 1 | 3; data: Uint8Array }
  | { kind: 'hu'; width: number; height: number; channels: 1; data: Int16Array };

/** What to do with unreadable or inconsistent input: stop with an error naming the file, or skip it and record why. */
export type OnError = 'error' | 'skip';

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

/** One patient (one series): its slices in anatomical order and, when known, their labels. */
export interface PatientRecord {
  id: string;
  slices: SliceRef[];
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

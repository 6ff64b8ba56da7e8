/** Where the data is and how to read it (docs/ARCHITECTURE.md §7). */
import { z } from 'zod';

/** The `data` section of an experiment config: where the data set is, its layout and columns, and what to do with bad input. */
export const dataSchema = z.strictObject({
  format: z
    .enum(['auto', 'folders', 'rsna', 'manifest', 'synthetic', 'dicom'])
    .default('auto')
    .describe('dataset layout; auto detects from the files under root (dicom: an unlabelled tree of DICOM files, read by UID)'),
  root: z.string().min(1).default('data/synthetic').describe('dataset directory (or a manifest CSV for format manifest)'),
  labels_csv: z.string().optional().describe('labels CSV, relative to root (folders: train.csv when present)'),
  images_dir: z.string().optional().describe('folder of patient folders, relative to root (folders: train/ when present, else root)'),
  patient_column: z.string().optional().describe('CSV column naming the patient (auto: dirname, patient, patient_id, ...)'),
  slice_column: z.string().optional().describe('CSV column naming the slice (auto: ID, id, slice, image, ...)'),
  path_column: z.string().optional().describe('manifest: column holding the slice file path (auto: path, file, filename)'),
  order_column: z.string().optional().describe('manifest: column holding the slice order (auto: order, slice_index, instance)'),
  label_columns: z.array(z.string()).optional().describe('label columns (auto: the remaining 0/1 columns)'),
  order: z
    .enum(['auto', 'position', 'csv', 'name'])
    .default('auto')
    .describe('slice order: DICOM position, CSV row order, or natural file-name order (auto: position for DICOM, else csv, else name)'),
  on_error: z.enum(['error', 'skip']).default('error').describe('bad input stops with an error naming the file, or is skipped and listed'),
  workers: z
    .union([z.literal('auto'), z.number().int().min(0)])
    .default('auto')
    .describe('threads that decode slices (DICOM, codecs, HU, PNG/JPEG) off the main thread; auto = the available cores, 0 = on the main thread'),
  cache_dir: z.string().optional().describe('where the DICOM header index is cached (rsna; default <root>/.ichnet-cache)'),
});

// The types, every key documented: generated from the schema (src/config/config-types.ts checks them).
export type { DataConfig, DataConfigInput } from './types.generated.js';

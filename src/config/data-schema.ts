/** Where the data is and how to read it (ARCHITECTURE.md §7). */
import { z } from 'zod';

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
  cache_dir: z.string().optional().describe('where the DICOM header index is cached (rsna; default <root>/.ichnet-cache)'),
});

export type DataConfig = z.output<typeof dataSchema>;
export type DataConfigInput = z.input<typeof dataSchema>;

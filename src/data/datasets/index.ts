/** One entry point for every dataset layout (docs/ARCHITECTURE.md §7). */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { dataSchema, type DataConfigInput } from '../../config/data-schema.js';
import { formatIssues } from '../../config/session-schema.js';
import type { Dataset } from '../types.js';
import { looksLikeDicomTree, readDicomTree } from './dicom-tree.js';
import { readFolders } from './folders.js';
import { readManifest } from './manifest.js';
import { looksLikeRsna, readRsna } from './rsna.js';
import { IchnetError } from '../../errors/ichnet-error.js';

/**
 * Which layout `root` holds, for `format: 'auto'`: a CSV file is a manifest; RSNA's label CSV means
 * rsna; DICOM files with no labels CSV (`labels_csv`, or `train.csv` of the folders layout) are a
 * `dicom` tree; anything else is `folders`.
 */
export async function detectFormat(root: string, labelsCsv?: string): Promise<'folders' | 'rsna' | 'manifest' | 'dicom'> {
  const full = resolve(root);
  if (existsSync(full) && statSync(full).isFile() && full.toLowerCase().endsWith('.csv')) return 'manifest';
  if (looksLikeRsna(full)) return 'rsna';
  if (labelsCsv === undefined && !existsSync(join(full, 'train.csv')) && (await looksLikeDicomTree(full))) return 'dicom';
  return 'folders';
}

/**
 * Opens a dataset: patients → ordered slices → labels. Nothing is decoded here (the loader does
 * that batch by batch); DICOM headers are read when slices are ordered by position.
 */
export async function openDataset(input: DataConfigInput): Promise<Dataset> {
  const parsed = dataSchema.safeParse(input);
  if (!parsed.success) throw new IchnetError('CONFIG_INVALID', `invalid data config:\n${formatIssues(parsed.error, 'data')}`);
  const config = parsed.data;
  if (!existsSync(resolve(config.root))) throw new IchnetError('DATA_UNREADABLE', `${resolve(config.root)}: dataset root does not exist`);
  const format = config.format === 'auto' ? await detectFormat(config.root, config.labels_csv) : config.format;
  switch (format) {
    case 'rsna':
      return readRsna(config);
    case 'manifest':
      return readManifest(config);
    case 'synthetic':
      return { ...(await readFolders(config)), format: 'synthetic' };
    case 'folders':
      return readFolders(config);
    case 'dicom':
      return readDicomTree(config);
  }
}

/**
 * The `dicom` layout: any folder tree of DICOM files with no labels, as a hospital exports it or a
 * PACS download leaves it (nested patient/study/series folders, flat folders, files with or without
 * a `.dcm` extension, scouts and reconstructions mixed in). Files are recognised by content; series
 * are grouped by StudyInstanceUID/SeriesInstanceUID and ordered along the slice normal
 * (src/data/dicom/series.ts). What cannot be classified — localisers, non-axial or non-CT images,
 * single-image series, non-image DICOM objects, files that are not DICOM — is left out and listed.
 */
import { open, readdir } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';

import type { DataConfig } from '../../config/data-schema.js';
import { isDicom, readDicomHeader, type DicomMeta } from '../dicom/read.js';
import { groupSeries, imageProblem, seriesProblem } from '../dicom/series.js';
import type { Dataset, PatientRecord } from '../types.js';
import { naturalCompare } from './csv.js';
import { Problems } from './problems.js';

/** Folders the walk never enters: ichnet's own cache and hidden folders. */
const isHidden = (name: string) => name.startsWith('.');

/** Every regular file under `root`, depth first, in natural name order. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !isHidden(e.name)).sort((a, b) => naturalCompare(a.name, b.name));
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(dir, e.name));
      else if (e.isFile()) out.push(join(dir, e.name));
    }
  };
  await walk(root);
  return out;
}

/** Whether a file starts like DICOM Part-10 (reads its first 132 bytes). */
export async function sniffDicom(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(132);
    const { bytesRead } = await handle.read(head, 0, 132, 0);
    return isDicom(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** True when the tree under `root` holds a DICOM file (the first file found by the walk is sniffed, then any `.dcm`). */
export async function looksLikeDicomTree(root: string): Promise<boolean> {
  const files = await listFiles(root);
  const candidates = [files.find((f) => extname(f).toLowerCase() === '.dcm'), files[0]].filter((f): f is string => f !== undefined);
  for (const f of candidates) if (await sniffDicom(f)) return true;
  return false;
}

interface Header {
  path: string;
  meta: DicomMeta;
}

/** Reads the headers of `files` (64 at a time); non-DICOM and non-image files are listed, unreadable DICOM reported. */
async function readHeaders(files: string[], problems: Problems): Promise<Header[]> {
  const headers: Header[] = [];
  for (let i = 0; i < files.length; i += 64) {
    const chunk = await Promise.all(
      files.slice(i, i + 64).map(async (path): Promise<Header | undefined> => {
        if (!(await sniffDicom(path))) {
          // A stray text file or DICOMDIR-less export clutter is not bad input for a folder tree.
          problems.skipped.push({ path, reason: 'not a DICOM file; skipped' });
          return undefined;
        }
        try {
          return { path, meta: await readDicomHeader(path) };
        } catch (e) {
          const message = (e as Error).message.replace(`${path}: `, '');
          if (/^no (Rows|Columns|Bits Allocated)/.test(message)) {
            problems.skipped.push({ path, reason: 'DICOM object without an image (e.g. DICOMDIR, a report); skipped' });
          } else {
            problems.report(path, message);
          }
          return undefined;
        }
      }),
    );
    for (const h of chunk) if (h) headers.push(h);
  }
  return headers;
}

/**
 * Reads a `dicom` tree: one patient record per usable axial CT series, with its study and series
 * UIDs, ordered by those UIDs; slice ids are SOPInstanceUIDs (the file name when absent). Left-out images and series are
 * listed in `skipped` whatever `on_error` says: they are expected in clinical exports, not defects.
 */
export async function readDicomTree(config: DataConfig): Promise<Dataset> {
  const root = resolve(config.root);
  const problems = new Problems(config.on_error);
  const headers = await readHeaders(await listFiles(root), problems);
  const usable = headers.filter((h) => {
    const problem = imageProblem(h.meta);
    if (problem) problems.skipped.push({ path: h.path, reason: `${problem}; skipped` });
    return problem === undefined;
  });
  const uids = (h: Header) => ({ study: h.meta.studyInstanceUid ?? '', series: h.meta.seriesInstanceUid ?? `file:${h.path}` });
  const patients: PatientRecord[] = [];
  // Series in UID order, not file order: the same studies give the same records (and batches, and
  // so bit-identical predictions) however the files are laid out or were fetched.
  const groups = groupSeries(usable, uids, (h) => h.meta).sort((a, b) => (a.study < b.study ? -1 : a.study > b.study ? 1 : a.series < b.series ? -1 : a.series > b.series ? 1 : 0));
  for (const { study, series, items } of groups) {
    const problem = seriesProblem(items.map((h) => h.meta));
    if (problem) {
      const where = items.length === 1 ? (items[0] as Header).path : `series ${series} (${items.length} files, first ${(items[0] as Header).path})`;
      problems.skipped.push({ path: where, reason: `${problem}; series skipped` });
      continue;
    }
    const patientId = items[0]?.meta.patientId;
    patients.push({
      id: series,
      slices: items.map((h) => ({ id: h.meta.sopInstanceUid ?? basename(h.path, extname(h.path)), path: h.path })),
      series: { studyInstanceUid: study, seriesInstanceUid: series, ...(patientId !== undefined ? { patientId } : {}) },
    });
  }
  return { format: 'dicom', root, labelNames: [], patients, skipped: problems.skipped };
}

/**
 * The `folders` layout: one folder per patient holding its slices, plus a labels CSV with one row
 * per slice. The original course layout (`train.csv` with `dirname,ID,ich,ivh,sah,sdh,edh`, slices
 * at `train/<dirname>/<ID>.jpg`) needs no configuration; without a CSV the folders are read as
 * unlabelled (prediction) data.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';

import type { DataConfig } from '../../config/data-schema.js';
import { readDicomHeader, type DicomMeta } from '../dicom/read.js';
import { positionOrder } from '../dicom/order.js';
import { IMAGE_EXTENSIONS } from '../slices.js';
import type { Dataset, PatientRecord, SliceRef } from '../types.js';
import { labelColumns, labelRow, naturalCompare, pickColumn, readCsv } from './csv.js';
import { Problems } from './problems.js';
import { IchnetError } from '../../errors/ichnet-error.js';

const PATIENT_COLUMNS = ['dirname', 'patient', 'patient_id', 'patientid', 'series', 'series_id', 'study', 'study_id'];
const SLICE_COLUMNS = ['ID', 'slice', 'slice_id', 'image', 'image_id', 'sop', 'filename', 'file'];
const isImage = (name: string) => IMAGE_EXTENSIONS.includes(extname(name).toLowerCase() as (typeof IMAGE_EXTENSIONS)[number]) && extname(name) !== '';

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** Files of one patient folder, by stem and by full name. */
async function listFolder(dir: string): Promise<Map<string, string>> {
  const byKey = new Map<string, string>();
  for (const name of await readdir(dir)) {
    if (name.startsWith('.')) continue;
    byKey.set(name, name);
    const ext = extname(name);
    if (ext) byKey.set(name.slice(0, -ext.length), name);
  }
  return byKey;
}

/**
 * Orders a patient's slices (and their label rows) as configured. Ordering by position reads each
 * DICOM header: a slice whose header cannot be read is an error, or skipped and listed.
 */
async function order(slices: SliceRef[], labels: Uint8Array | undefined, L: number, mode: DataConfig['order'], fromCsv: boolean, problems: Problems) {
  const dicom = slices.every((s) => extname(s.path).toLowerCase() === '.dcm');
  const effective = mode === 'auto' ? (dicom ? 'position' : fromCsv ? 'csv' : 'name') : mode;
  let perm: number[];
  if (effective === 'position') {
    const headers = await Promise.all(slices.map((s) => readDicomHeader(s.path).catch((e: unknown) => e as Error)));
    const readable: number[] = [];
    headers.forEach((h, i) => {
      if (h instanceof Error) problems.report((slices[i] as SliceRef).path, h.message.replace(`${(slices[i] as SliceRef).path}: `, ''));
      else readable.push(i);
    });
    perm = positionOrder(readable.map((i) => headers[i] as DicomMeta)).map((k) => readable[k] as number);
  } else if (effective === 'name') {
    perm = slices.map((_, i) => i).sort((a, b) => naturalCompare((slices[a] as SliceRef).path, (slices[b] as SliceRef).path));
  } else {
    return { slices, labels };
  }
  const sorted = perm.map((i) => slices[i] as SliceRef);
  if (!labels) return { slices: sorted, labels };
  const out = new Uint8Array(perm.length * L);
  perm.forEach((from, to) => out.set(labels.subarray(from * L, from * L + L), to * L));
  return { slices: sorted, labels: out };
}

/** Reads a `folders` dataset. Bad rows/folders are errors naming the file, or skipped and listed. */
export async function readFolders(config: DataConfig): Promise<Dataset> {
  const root = resolve(config.root);
  const problems = new Problems(config.on_error);
  const csvPath = config.labels_csv ? join(root, config.labels_csv) : existsSync(join(root, 'train.csv')) ? join(root, 'train.csv') : undefined;
  const imagesDir = config.images_dir ? join(root, config.images_dir) : isDir(join(root, 'train')) && csvPath ? join(root, 'train') : root;
  if (!isDir(imagesDir)) throw new IchnetError('DATA_UNREADABLE', `${imagesDir}: no such directory of patient folders`);

  const patients: PatientRecord[] = [];
  if (!csvPath) {
    for (const dir of (await readdir(imagesDir)).filter((d) => isDir(join(imagesDir, d))).sort(naturalCompare)) {
      const files = (await readdir(join(imagesDir, dir))).filter(isImage);
      if (files.length === 0) {
        problems.report(join(imagesDir, dir), 'patient folder holds no slices', 'DATA_INVALID');
        continue;
      }
      const slices = files.map((f) => ({ id: f.slice(0, -extname(f).length), path: join(imagesDir, dir, f) }));
      const ordered = await order(slices, undefined, 0, config.order, false, problems);
      if (ordered.slices.length === 0) problems.report(join(imagesDir, dir), 'patient left out: none of its slices is readable');
      else patients.push({ id: dir, ...ordered });
    }
    return { format: 'folders', root, labelNames: config.label_columns ?? [], patients, skipped: problems.skipped };
  }

  const table = await readCsv(csvPath);
  const patientCol = pickColumn(table, config.patient_column, PATIENT_COLUMNS, 'patient');
  const sliceCol = pickColumn(table, config.slice_column, SLICE_COLUMNS, 'slice');
  const labelNames = labelColumns(table, config.label_columns, [patientCol, sliceCol]);
  const L = labelNames.length;

  const rowsByPatient = new Map<string, number[]>();
  table.rows.forEach((row, i) => {
    const id = row[patientCol] ?? '';
    const list = rowsByPatient.get(id) ?? [];
    list.push(i);
    rowsByPatient.set(id, list);
  });

  for (const [patientId, rows] of rowsByPatient) {
    const dir = join(imagesDir, patientId);
    if (!isDir(dir)) {
      problems.report(dir, `patient folder is missing (named by ${rows.length} row(s) of ${csvPath}, first at row ${(rows[0] as number) + 2})`);
      continue;
    }
    const files = await listFolder(dir);
    const slices: SliceRef[] = [];
    const labelRows: Uint8Array[] = [];
    const firstRow = new Map<string, number>();
    for (const r of rows) {
      const sliceId = table.rows[r]?.[sliceCol] ?? '';
      const where = `row ${r + 2}`;
      const seen = firstRow.get(sliceId);
      if (seen !== undefined) {
        problems.report(csvPath, `${where}: slice '${sliceId}' of patient ${patientId} is listed again (first at row ${seen + 2}); each slice must appear once`, 'DATA_INVALID');
        continue;
      }
      firstRow.set(sliceId, r);
      const file = files.get(sliceId);
      if (!file) {
        problems.report(join(dir, `${sliceId}.*`), `slice listed at ${where} of ${csvPath} has no file`);
        continue;
      }
      const labels = labelRow(table, r, labelNames);
      if (typeof labels === 'string') {
        problems.report(csvPath, labels, 'DATA_INVALID');
        continue;
      }
      slices.push({ id: sliceId, path: join(dir, file) });
      labelRows.push(labels);
    }
    const labels = new Uint8Array(slices.length * L);
    labelRows.forEach((row, s) => labels.set(row, s * L));
    const ordered = slices.length > 0 ? await order(slices, labels, L, config.order, true, problems) : { slices };
    if (ordered.slices.length === 0) {
      problems.report(dir, `patient left out: none of its ${rows.length} listed slice(s) is usable`);
      continue;
    }
    patients.push({ id: patientId, ...ordered });
  }

  for (const dir of await readdir(imagesDir)) {
    if (isDir(join(imagesDir, dir)) && !rowsByPatient.has(dir)) {
      problems.report(join(imagesDir, dir), `patient folder has no labels in ${csvPath}`, 'DATA_INVALID');
    }
  }
  return { format: 'folders', root, labelNames, patients, skipped: problems.skipped };
}

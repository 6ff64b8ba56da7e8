/**
 * The RSNA Intracranial Hemorrhage Detection layout: `stage_2_train.csv` with rows
 * `ID_<image>_<subtype>,Label` (six per image) and a folder of `ID_<image>.dcm` files. Series are
 * grouped by StudyInstanceUID/SeriesInstanceUID and ordered by position along the slice normal.
 * The DICOM header index is built once and cached: reading 870k headers takes a while.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile, rename } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

import type { DataConfig } from '../../config/data-schema.js';
import { RSNA_LABELS } from '../../config/labels.js';
import { readDicomHeader, type DicomMeta } from '../dicom/read.js';
import { groupSeries } from '../dicom/series.js';
import type { Dataset, PatientRecord } from '../types.js';
import { readCsv } from './csv.js';
import { Problems } from './problems.js';
import { IchnetError } from '../../errors/ichnet-error.js';

/** Images known to be unreadable in the RSNA data (the one corrupt file of stage 1/2 train). */
export const RSNA_CORRUPT_IMAGES: ReadonlySet<string> = new Set(['ID_6431af929']);

const CSV_NAMES = ['stage_2_train.csv', 'stage_1_train.csv', 'train.csv'];
const IMAGE_DIRS = ['stage_2_train', 'stage_2_train_images', 'stage_1_train_images', 'train_images', 'train'];

interface IndexEntry {
  image: string;
  file: string;
  study: string;
  series: string;
  meta: Pick<DicomMeta, 'imagePositionPatient' | 'imageOrientationPatient' | 'instanceNumber'>;
}

/** True when `root` looks like the RSNA layout (used by format auto-detection). */
export function looksLikeRsna(root: string): boolean {
  return CSV_NAMES.slice(0, 2).some((n) => existsSync(join(root, n)));
}

async function buildIndex(dir: string, files: string[], problems: Problems): Promise<IndexEntry[]> {
  const entries: IndexEntry[] = [];
  const batch = 64;
  for (let i = 0; i < files.length; i += batch) {
    const chunk = files.slice(i, i + batch);
    const metas = await Promise.all(
      chunk.map(async (file) => {
        const image = basename(file, '.dcm');
        if (RSNA_CORRUPT_IMAGES.has(image)) {
          // Always left out (and listed), whatever on_error says: it is a known defect of the data.
          problems.skipped.push({ path: join(dir, file), reason: 'known corrupt file in the RSNA data; skipped' });
          return undefined;
        }
        try {
          return { file, image, meta: await readDicomHeader(join(dir, file)) };
        } catch (e) {
          problems.report(join(dir, file), (e as Error).message);
          return undefined;
        }
      }),
    );
    for (const m of metas) {
      if (!m) continue;
      const { imagePositionPatient, imageOrientationPatient, instanceNumber } = m.meta;
      entries.push({
        image: m.image,
        file: m.file,
        study: m.meta.studyInstanceUid ?? '',
        series: m.meta.seriesInstanceUid ?? m.image,
        meta: { imagePositionPatient, imageOrientationPatient, instanceNumber },
      });
    }
  }
  return entries;
}

/** Loads the cached header index for exactly this set of files, or builds and caches it. */
async function headerIndex(dir: string, files: string[], cacheDir: string, problems: Problems): Promise<IndexEntry[]> {
  const key = createHash('sha256').update(dir).update('\0').update(files.join('\n')).digest('hex').slice(0, 16);
  const cache = join(cacheDir, `rsna-index-${key}.json`);
  if (existsSync(cache)) {
    const cached = JSON.parse(await readFile(cache, 'utf8')) as { entries: IndexEntry[]; skipped: { path: string; reason: string }[] };
    for (const s of cached.skipped) {
      if (RSNA_CORRUPT_IMAGES.has(basename(s.path, '.dcm'))) problems.skipped.push(s);
      else problems.report(s.path, s.reason);
    }
    return cached.entries;
  }
  const before = problems.skipped.length;
  const entries = await buildIndex(dir, files, problems);
  try {
    await mkdir(cacheDir, { recursive: true });
    await writeFile(`${cache}.tmp`, JSON.stringify({ entries, skipped: problems.skipped.slice(before) }));
    await rename(`${cache}.tmp`, cache);
  } catch {
    // A read-only dataset folder only costs re-reading the headers next time.
  }
  return entries;
}

export async function readRsna(config: DataConfig): Promise<Dataset> {
  const root = resolve(config.root);
  const problems = new Problems(config.on_error);
  const csvPath = config.labels_csv ? join(root, config.labels_csv) : CSV_NAMES.map((n) => join(root, n)).find(existsSync);
  const dirName = config.images_dir ?? IMAGE_DIRS.find((d) => existsSync(join(root, d)) && statSync(join(root, d)).isDirectory());
  if (!dirName) throw new IchnetError('DATA_UNREADABLE', `${root}: no DICOM folder (looked for ${IMAGE_DIRS.join(', ')}); set data.images_dir`);
  const dir = join(root, dirName);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.dcm')).sort();
  const entries = await headerIndex(dir, files, config.cache_dir ? resolve(config.cache_dir) : join(root, '.ichnet-cache'), problems);

  // Labels: ID_<image>_<subtype>,Label.
  const L = RSNA_LABELS.length;
  const labelsByImage = new Map<string, Uint8Array>();
  if (csvPath) {
    const table = await readCsv(csvPath);
    const idCol = table.columns.find((c) => c.toLowerCase() === 'id') ?? 'ID';
    const labelCol = table.columns.find((c) => c.toLowerCase() === 'label') ?? 'Label';
    table.rows.forEach((row, i) => {
      const m = /^(ID_[0-9a-f]+)_([a-z]+)$/i.exec(row[idCol] ?? '');
      const l = m ? RSNA_LABELS.indexOf(m[2] as (typeof RSNA_LABELS)[number]) : -1;
      const v = row[labelCol];
      if (!m || l < 0 || (v !== '0' && v !== '1')) {
        throw new IchnetError('DATA_INVALID', `${csvPath}: row ${i + 2}: expected ID_<image>_<${RSNA_LABELS.join('|')}>,<0|1>, got '${row[idCol]},${v}'`);
      }
      const labels = labelsByImage.get(m[1] as string) ?? new Uint8Array(L);
      labels[l] = v === '1' ? 1 : 0;
      labelsByImage.set(m[1] as string, labels);
    });
  }

  const usable = entries.filter((e) => {
    if (csvPath && !labelsByImage.has(e.image)) {
      problems.report(join(dir, e.file), `image has no rows in ${csvPath}`, 'DATA_INVALID');
      return false;
    }
    return true;
  });
  if (csvPath) {
    const indexed = new Set(entries.map((e) => e.image));
    for (const image of labelsByImage.keys()) {
      if (!indexed.has(image) && !RSNA_CORRUPT_IMAGES.has(image)) problems.report(join(dir, `${image}.dcm`), `labelled in ${csvPath} but the file is missing`);
    }
  }

  const patients: PatientRecord[] = [];
  for (const { study, series, items: sorted } of groupSeries(usable, (e) => e, (e) => e.meta)) {
    const record: PatientRecord = {
      id: series,
      slices: sorted.map((e) => ({ id: e.image, path: join(dir, e.file), rsnaFix: true })),
      series: { studyInstanceUid: study, seriesInstanceUid: series },
    };
    if (csvPath) {
      const labels = new Uint8Array(sorted.length * L);
      sorted.forEach((e, s) => labels.set(labelsByImage.get(e.image) as Uint8Array, s * L));
      record.labels = labels;
    }
    patients.push(record);
  }
  return { format: 'rsna', root, labelNames: [...RSNA_LABELS], patients, skipped: problems.skipped };
}

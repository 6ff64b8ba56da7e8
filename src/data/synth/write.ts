/**
 * Writes a synthetic dataset to disk in the `folders` layout (docs/ARCHITECTURE.md §7):
 *
 * ```
 * <out>/<split>.csv                         dirname,ID,ich,ivh,sah,sdh,edh   (one row per slice, in slice order)
 * <out>/<split>/<patientId>/<sliceId>.dcm   DICOM CT Image Storage (HU via RescaleIntercept)
 * <out>/<split>/<patientId>/<sliceId>.png   8-bit gray, windowed (default centre 40, width 120)
 * <out>/synthetic.json                      how it was generated (seed, options, counts)
 * ```
 *
 * Patients are generated and written one at a time (the next is generated while the previous
 * one's files are being flushed), so memory stays at about two patients whatever the size.
 * The same options always give byte-identical files.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import sharp from 'sharp';

import { COURSE_LABELS } from '../../config/labels.js';
import { encodeCtSlice } from './dicom.js';
import { generatePatient, patientSeed, windowToUint8, type LesionType, type Phantom, type PhantomOptions } from './phantom.js';
import { deterministicUid, hashParts } from '../rng.js';
import { IchnetError } from '../../errors/ichnet-error.js';

/** Which image files to write per slice. */
export type SyntheticFormat = 'dicom' | 'png' | 'both';

/** Options of {@link writeSyntheticDataset}; phantom options apply to every patient. */
export interface WriteSyntheticOptions extends Omit<PhantomOptions, 'seed' | 'id' | 'withTissue' | 'drawLesions'> {
  /** Output directory (created if missing; existing files with the same names are overwritten). */
  out: string;
  /** Number of patients. */
  patients: number;
  /** Dataset seed. Default 0. Patient i uses {@link patientSeed}(seed, i). */
  seed?: number;
  /** Default `dicom`. */
  format?: SyntheticFormat;
  /** Split name: the CSV is `<split>.csv` and the patient folders live under `<split>/`. Default `train`. */
  split?: string;
  /** Prefix of patient ids; default `ID_<6 hex digits derived from the seed>`. */
  idPrefix?: string;
  /** Window applied to the 8-bit PNGs. Default centre 40, width 120. */
  pngWindow?: { center: number; width: number };
  /** DICOM RescaleIntercept (storage is signed 16-bit holding HU − intercept). Default −1024. */
  rescaleIntercept?: 0 | -1024;
  /** Called after each patient is written. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link writeSyntheticDataset} wrote. */
export interface SyntheticDatasetInfo {
  /** Absolute output directory. */
  root: string;
  /** Absolute path of the labels CSV. */
  csv: string;
  /** Absolute path of the folder holding one sub-folder per patient. */
  imagesDir: string;
  patients: number;
  slices: number;
  /** Positive slices per label. */
  positiveSlices: Record<LesionType, number>;
  /** Patients with at least one positive slice, overall and per label. */
  positivePatients: number;
  positivePatientsPerLabel: Record<LesionType, number>;
}

/** The patient id used for patient `index` (zero-padded so that name order = index order). */
export function syntheticPatientId(prefix: string, index: number, total: number): string {
  return `${prefix}_${String(index).padStart(Math.max(5, String(Math.max(0, total - 1)).length), '0')}`;
}

/** The default id prefix of a dataset seed. */
export function defaultIdPrefix(seed: number): string {
  return `ID_${(hashParts('ichnet-synth-prefix', seed) >>> 8).toString(16).padStart(6, '0')}`;
}

/** Encodes one slice as an 8-bit gray PNG after windowing. */
export async function encodeWindowedPng(hu: Int16Array, rows: number, cols: number, center: number, width: number): Promise<Buffer> {
  const gray = windowToUint8(hu, center, width);
  // Without toColourspace('b-w') sharp would write a one-channel input as 8-bit RGB.
  return sharp(Buffer.from(gray.buffer, gray.byteOffset, gray.byteLength), { raw: { width: cols, height: rows, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

/**
 * Generates `patients` synthetic head-CT patients and writes them in the `folders` layout.
 * @returns where it wrote and how many patients/slices (with per-label positive counts).
 */
export async function writeSyntheticDataset(options: WriteSyntheticOptions): Promise<SyntheticDatasetInfo> {
  const { out, patients } = options;
  if (!Number.isInteger(patients) || patients < 1) throw new IchnetError('INVALID_ARGUMENT', `writeSyntheticDataset: patients must be a positive integer, got ${patients}`);
  const seed = options.seed ?? 0;
  const format = options.format ?? 'dicom';
  if (format !== 'dicom' && format !== 'png' && format !== 'both') throw new IchnetError('INVALID_ARGUMENT', `writeSyntheticDataset: unknown format '${String(format)}'`);
  const split = options.split ?? 'train';
  if (!/^[A-Za-z0-9._-]+$/.test(split)) throw new IchnetError('INVALID_ARGUMENT', `writeSyntheticDataset: split must be a plain name, got '${split}'`);
  const prefix = options.idPrefix ?? defaultIdPrefix(seed);
  const pngWindow = options.pngWindow ?? { center: 40, width: 120 };
  const intercept = options.rescaleIntercept ?? -1024;
  const writeDicom = format === 'dicom' || format === 'both';
  const writePng = format === 'png' || format === 'both';

  const root = resolve(out);
  const imagesDir = join(root, split);
  const csvPath = join(root, `${split}.csv`);
  const csvTmp = `${csvPath}.partial`;
  await mkdir(imagesDir, { recursive: true });

  const phantomOptions: Omit<PhantomOptions, 'seed'> = {
    slices: options.slices,
    size: options.size,
    fieldOfViewMm: options.fieldOfViewMm,
    prevalence: options.prevalence,
    extraLesionProbability: options.extraLesionProbability,
    faintEndProbability: options.faintEndProbability,
    faintLesionProbability: options.faintLesionProbability,
    noiseSigma: options.noiseSigma,
    artifacts: options.artifacts,
    minLesionArea: options.minLesionArea,
  };

  const csv = createWriteStream(csvTmp, { encoding: 'utf8' });
  const csvError = new Promise<never>((_, reject) => csv.once('error', reject));
  csvError.catch(() => undefined);
  const writeCsv = async (text: string): Promise<void> => {
    if (!csv.write(text)) await Promise.race([once(csv, 'drain'), csvError]);
  };

  const positiveSlices = Object.fromEntries(COURSE_LABELS.map((l) => [l, 0])) as Record<LesionType, number>;
  const positivePatientsPerLabel = Object.fromEntries(COURSE_LABELS.map((l) => [l, 0])) as Record<LesionType, number>;
  let positivePatients = 0;
  let sliceCount = 0;

  const writePatient = async (index: number, p: Phantom): Promise<void> => {
    const dir = join(imagesDir, p.id);
    await mkdir(dir, { recursive: true });
    const studyUid = deterministicUid('study', seed, index);
    const seriesUid = deterministicUid('series', seed, index);
    const forUid = deterministicUid('frame-of-reference', seed, index);
    const studyDate = syntheticStudyDate(seed, index);
    const origin = -(p.cols * p.pixelSpacingMm) / 2 + p.pixelSpacingMm / 2;
    const jobs: Promise<void>[] = [];
    for (let s = 0; s < p.slices.length; s++) {
      const sliceId = syntheticSliceId(p.id, s, p.slices.length);
      const hu = p.slices[s]!;
      if (writeDicom) {
        const bytes = encodeCtSlice({
          hu,
          rows: p.rows,
          cols: p.cols,
          patientId: p.id,
          studyInstanceUid: studyUid,
          seriesInstanceUid: seriesUid,
          sopInstanceUid: deterministicUid('sop', seed, index, s),
          frameOfReferenceUid: forUid,
          instanceNumber: s + 1,
          position: [origin, origin, Number((s * p.sliceThicknessMm).toFixed(4))],
          pixelSpacingMm: p.pixelSpacingMm,
          sliceThicknessMm: p.sliceThicknessMm,
          rescaleIntercept: intercept,
          studyDate,
        });
        jobs.push(writeFile(join(dir, `${sliceId}.dcm`), bytes));
      }
      if (writePng) {
        jobs.push(encodeWindowedPng(hu, p.rows, p.cols, pngWindow.center, pngWindow.width).then((png) => writeFile(join(dir, `${sliceId}.png`), png)));
      }
    }
    await Promise.all(jobs);
  };

  try {
    await writeCsv(`dirname,ID,${COURSE_LABELS.join(',')}\n`);
    let pending: Promise<void> | undefined;
    for (let index = 0; index < patients; index++) {
      const id = syntheticPatientId(prefix, index, patients);
      // Generate this patient while the previous one's files are still being written.
      const p = generatePatient({ ...phantomOptions, seed: patientSeed(seed, index), id });
      const rows: string[] = [];
      const any = new Set<LesionType>();
      for (let s = 0; s < p.slices.length; s++) {
        const labels = p.labels.subarray(s * COURSE_LABELS.length, (s + 1) * COURSE_LABELS.length);
        COURSE_LABELS.forEach((l, j) => {
          if (labels[j]) {
            positiveSlices[l]++;
            any.add(l);
          }
        });
        rows.push(`${id},${syntheticSliceId(id, s, p.slices.length)},${Array.from(labels).join(',')}\n`);
      }
      for (const l of any) positivePatientsPerLabel[l]++;
      if (any.size) positivePatients++;
      sliceCount += p.slices.length;
      if (pending) {
        await pending;
        options.onProgress?.(index, patients);
      }
      await writeCsv(rows.join(''));
      pending = writePatient(index, p);
      // Awaited on the next iteration; this only keeps an early failure from counting as unhandled.
      pending.catch(() => undefined);
    }
    await pending;
    options.onProgress?.(patients, patients);
    csv.end();
    await Promise.race([once(csv, 'finish'), csvError]);
    await rename(csvTmp, csvPath);
  } catch (error) {
    csv.destroy();
    await rm(csvTmp, { force: true });
    throw error;
  }

  const info: SyntheticDatasetInfo = {
    root,
    csv: csvPath,
    imagesDir,
    patients,
    slices: sliceCount,
    positiveSlices,
    positivePatients,
    positivePatientsPerLabel,
  };
  const manifest = {
    generator: 'ichnet synthetic head-CT phantoms',
    version: 1,
    seed,
    split,
    format,
    idPrefix: prefix,
    pngWindow: writePng ? pngWindow : undefined,
    rescaleIntercept: writeDicom ? intercept : undefined,
    labelNames: COURSE_LABELS,
    phantom: phantomOptions,
    patients,
    slices: sliceCount,
    positiveSlices,
    positivePatients,
    positivePatientsPerLabel,
  };
  await writeFile(join(root, 'synthetic.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return info;
}

/** The slice id of slice `index` of a patient (zero-padded so that name order = slice order). */
export function syntheticSliceId(patientId: string, index: number, total: number): string {
  return `${patientId}_${String(index).padStart(Math.max(3, String(Math.max(0, total - 1)).length), '0')}`;
}

/** A deterministic study date (YYYYMMDD) in 2019–2022. */
function syntheticStudyDate(seed: number, index: number): string {
  const day = hashParts('study-date', seed, index) % 1461;
  const date = new Date(Date.UTC(2019, 0, 1) + day * 86_400_000);
  return date.toISOString().slice(0, 10).replaceAll('-', '');
}

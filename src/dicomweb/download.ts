/**
 * Fetching studies from a DICOMweb server into a local folder tree that the `dicom` dataset layout
 * reads (src/data/datasets/dicom-tree.ts): predictions from a PACS then run through exactly the code,
 * and on exactly the bytes, that a folder of the same files would.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { SkippedItem } from '../data/types.js';
import { DicomwebClient, DicomwebError } from './client.js';

/** What to fetch: these studies, or those a QIDO-RS search finds (CT studies matching `query`). */
export interface DownloadRequest {
  studies?: readonly string[];
  /** Extra QIDO-RS study search filters (keyword → value); `ModalitiesInStudy=CT` is always added. */
  query?: Record<string, string>;
  /** Folder to write into: `<out>/<study>/<series>/<n>.dcm`. */
  out: string;
  /** Called after each series is written. */
  onSeries?: (done: { study: string; series: string; instances: number }) => void;
}

export interface DownloadResult {
  studies: string[];
  series: number;
  instances: number;
  bytes: number;
  /** Series left on the server, and why (not CT). */
  skipped: SkippedItem[];
}

/** A folder name for a UID (UIDs are digits and dots; anything else is replaced). */
const safe = (uid: string) => uid.replace(/[^0-9A-Za-z.-]/g, '_');

/** Downloads the CT series of the requested studies; see {@link DownloadRequest}. */
export async function downloadStudies(client: DicomwebClient, request: DownloadRequest): Promise<DownloadResult> {
  let studies = [...(request.studies ?? [])];
  if (studies.length === 0) {
    studies = await client.searchStudies({ ModalitiesInStudy: 'CT', ...request.query });
    if (studies.length === 0) {
      const q = Object.entries(request.query ?? {}).map(([k, v]) => ` ${k}=${v}`).join('');
      throw new DicomwebError(`${client.url}: no CT study matches the search (ModalitiesInStudy=CT${q})`);
    }
  }
  const result: DownloadResult = { studies, series: 0, instances: 0, bytes: 0, skipped: [] };
  for (const study of studies) {
    const series = await client.searchSeries(study);
    if (series.length === 0) throw new DicomwebError(`study ${study}: not found on ${client.url} (its QIDO-RS series search is empty)`, 404);
    for (const s of series) {
      const where = `${client.url}/studies/${study}/series/${s.series}`;
      if (s.modality !== undefined && s.modality !== 'CT') {
        result.skipped.push({ path: where, reason: `modality ${s.modality}, not CT; not downloaded` });
        continue;
      }
      const files = await client.retrieveSeries(study, s.series);
      const dir = join(request.out, safe(study), safe(s.series));
      await mkdir(dir, { recursive: true });
      const width = String(files.length).length;
      await Promise.all(files.map((bytes, i) => writeFile(join(dir, `${String(i + 1).padStart(width, '0')}.dcm`), bytes)));
      result.series += 1;
      result.instances += files.length;
      result.bytes += files.reduce((n, f) => n + f.length, 0);
      request.onSeries?.({ study, series: s.series, instances: files.length });
    }
  }
  return result;
}

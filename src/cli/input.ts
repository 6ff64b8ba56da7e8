/**
 * Where `predict` and `explain` read studies from: a dataset folder (`--data`), or a DICOMweb server
 * (`--dicomweb URL` with `--study UID`… or a QIDO-RS search), fetched into a folder first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import type { DataConfigInput } from '../config/data-schema.js';
import type { SkippedItem } from '../data/types.js';
import { DicomwebClient, parseHeaders } from '../dicomweb/client.js';
import { IchnetError } from '../errors/ichnet-error.js';
import { downloadStudies } from '../dicomweb/download.js';

/** The input options both commands take. */
export interface InputArgs {
  data?: string;
  dicomweb?: string;
  study?: string[];
  /** QIDO-RS filters, `Keyword=value`. */
  qido?: string[];
  header?: string[];
  /** Keep the downloaded files here instead of a temporary folder removed at the end. */
  downloadDir?: string;
}

/** An opened input: the dataset to read, and what to do when done. */
export interface Input {
  data: DataConfigInput;
  /** Series left on the server (not CT). */
  skipped: SkippedItem[];
  /** Where the studies came from, for messages. */
  source: string;
  /** Removes a temporary download folder. */
  close(): Promise<void>;
}

function parseQido(args: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const i = a.indexOf('=');
    if (i <= 0) throw new IchnetError('USAGE', `--qido '${a}': expected Keyword=value, e.g. StudyDate=20260101-`);
    out[a.slice(0, i)] = a.slice(i + 1);
  }
  return out;
}

/** Opens `--data`, or downloads from `--dicomweb`; exactly one of them must be given. */
export async function openInput(args: InputArgs, log: (line: string) => void = console.log): Promise<Input> {
  if ((args.data === undefined) === (args.dicomweb === undefined)) throw new IchnetError('USAGE', 'give exactly one of --data DIR and --dicomweb URL');
  if (args.data !== undefined) {
    if (args.study?.length || args.qido?.length || args.header?.length) throw new IchnetError('USAGE', '--study, --qido and --header go with --dicomweb, not --data');
    return { data: { root: args.data }, skipped: [], source: resolve(args.data), close: async () => {} };
  }
  if (args.study?.length && args.qido?.length) throw new IchnetError('USAGE', 'give either --study UID… or --qido filters, not both');
  const client = new DicomwebClient({ url: args.dicomweb as string, headers: parseHeaders(args.header) });
  const out = args.downloadDir ? resolve(args.downloadDir) : await mkdtemp(join(tmpdir(), 'ichnet-dicomweb-'));
  const temporary = args.downloadDir === undefined;
  try {
    const t0 = performance.now();
    const got = await downloadStudies(client, { studies: args.study ?? [], query: parseQido(args.qido), out });
    const seconds = (performance.now() - t0) / 1000;
    log(`${client.url}: ${got.studies.length} studies, ${got.series} CT series, ${got.instances} instances (${(got.bytes / 2 ** 20).toFixed(1)} MiB) in ${seconds.toFixed(1)} s`);
    return { data: { root: out, format: 'dicom' }, skipped: got.skipped, source: client.url, close: () => (temporary ? rm(out, { recursive: true, force: true }) : Promise.resolve()) };
  } catch (e) {
    if (temporary) await rm(out, { recursive: true, force: true });
    throw e;
  }
}

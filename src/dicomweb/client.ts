/**
 * A DICOMweb client on Node's built-in fetch: QIDO-RS searches (DICOM JSON) and WADO-RS retrieval of
 * whole series as `multipart/related; type="application/dicom"`. TLS follows the URL (https:),
 * extra headers (e.g. `Authorization`) go with every request, 5xx answers, timeouts and network
 * failures are retried with exponential back-off, and 401/403/404 are errors that name the study.
 */
import { createRequire } from 'node:module';

import { isDicom } from '../data/dicom/read.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** How to reach a DICOMweb server. */
export interface DicomwebOptions {
  /** Base URL of the DICOMweb service, e.g. `https://pacs.example.org/dicom-web`. */
  url: string;
  /** Headers sent with every request, e.g. `{ Authorization: 'Bearer …' }`. */
  headers?: Record<string, string>;
  /** Retries after a 5xx answer, a timeout or a network failure (default 3). */
  retries?: number;
  /** Per-request timeout in ms (default 120 000). */
  timeoutMs?: number;
  /** First back-off delay in ms, doubled after each retry (default 500). */
  retryDelayMs?: number;
}

/** A failed DICOMweb request (code `DICOMWEB`): the HTTP status when the server answered. */
export class DicomwebError extends IchnetError {
  constructor(
    message: string,
    /** The HTTP status, when the server answered. */
    readonly status?: number,
  ) {
    super('DICOMWEB', message);
  }
}

/** One DICOM JSON dataset (PS3.18 F.2): tag → { vr, Value }. */
export type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

/** The first value of a tag of a DICOM JSON dataset, as a string. */
export function jsonString(dataset: DicomJson, tag: string): string | undefined {
  const v = dataset[tag]?.Value?.[0];
  return v === undefined || v === null ? undefined : String(v);
}

/** A series found by QIDO-RS. */
export interface SeriesRef {
  study: string;
  series: string;
  modality?: string;
  instances?: number;
}

/** The part of dcmjs' (untyped) utilities used here. */
interface DcmjsMessage {
  multipartDecode(body: ArrayBuffer): ArrayBuffer[];
}
let multipart: DcmjsMessage | undefined;
function dcmjsMessage(): DcmjsMessage {
  multipart ??= (createRequire(import.meta.url)('dcmjs') as { utilities: { message: DcmjsMessage } }).utilities.message;
  return multipart;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class DicomwebClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly retries: number;
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;

  constructor(options: DicomwebOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new IchnetError('USAGE', `--dicomweb ${options.url}: not a URL (expected http://… or https://…)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new IchnetError('USAGE', `--dicomweb ${options.url}: only http and https are supported`);
    this.base = url.href.replace(/\/+$/, '');
    this.headers = options.headers ?? {};
    this.retries = options.retries ?? 3;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.retryDelayMs = options.retryDelayMs ?? 500;
  }

  /** The service's base URL (no trailing slash). */
  get url(): string {
    return this.base;
  }

  /**
   * GETs `path` (relative to the base URL) with retries. `what` names the object for error messages,
   * e.g. `study 1.2.3`.
   */
  private async get(path: string, accept: string, what: string): Promise<Response> {
    const url = `${this.base}${path}`;
    let lastError = '';
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await sleep(this.retryDelayMs * 2 ** (attempt - 1));
      let response: Response;
      try {
        response = await fetch(url, { headers: { ...this.headers, Accept: accept }, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (e) {
        const err = e as Error;
        lastError = err.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}`;
        continue;
      }
      if (response.ok) return response;
      const status = response.status;
      await response.body?.cancel();
      if (status === 401 || status === 403) {
        throw new DicomwebError(
          `${what}: ${this.base} answered ${status} ${response.statusText || (status === 401 ? 'Unauthorized' : 'Forbidden')} to ${url}; pass credentials with --header 'Authorization: …'`,
          status,
        );
      }
      if (status === 404) throw new DicomwebError(`${what}: not found on ${this.base} (404 for ${url})`, status);
      if (status < 500) throw new DicomwebError(`${what}: ${this.base} answered ${status} ${response.statusText} to ${url}`, status);
      lastError = `${status} ${response.statusText}`;
    }
    throw new DicomwebError(`${what}: ${url} failed after ${this.retries + 1} attempt(s): ${lastError}`);
  }

  private async json(path: string, what: string): Promise<DicomJson[]> {
    const response = await this.get(path, 'application/dicom+json', what);
    const text = await response.text();
    if (text.trim() === '') return []; // 204 No Content: nothing matched
    try {
      const parsed = JSON.parse(text) as unknown;
      if (!Array.isArray(parsed)) throw new Error('not an array');
      return parsed as DicomJson[];
    } catch (e) {
      throw new DicomwebError(`${what}: ${this.base}${path} did not answer DICOM JSON (${(e as Error).message})`);
    }
  }

  /**
   * QIDO-RS study search: Study Instance UIDs of the studies matching `query` (DICOM attribute
   * keywords or tags → values, e.g. `{ ModalitiesInStudy: 'CT', StudyDate: '20260101-' }`).
   */
  async searchStudies(query: Record<string, string>): Promise<string[]> {
    const qs = new URLSearchParams(query).toString();
    const found = await this.json(`/studies${qs ? `?${qs}` : ''}`, `study search ${qs || '(all)'}`);
    return found.map((d) => jsonString(d, '0020000D')).filter((uid): uid is string => uid !== undefined);
  }

  /** QIDO-RS series search within a study (all modalities; the caller filters). */
  async searchSeries(study: string): Promise<SeriesRef[]> {
    const found = await this.json(`/studies/${encodeURIComponent(study)}/series`, `study ${study}`);
    return found.flatMap((d) => {
      const series = jsonString(d, '0020000E');
      if (series === undefined) return [];
      const modality = jsonString(d, '00080060');
      const instances = jsonString(d, '00201209');
      return [{ study, series, ...(modality !== undefined ? { modality } : {}), ...(instances !== undefined ? { instances: Number(instances) } : {}) }];
    });
  }

  /**
   * WADO-RS: every instance of a series as a DICOM Part-10 file, in the server's transfer syntax
   * (`transfer-syntax=*`: no transcoding, so the bytes are those the server stores).
   */
  async retrieveSeries(study: string, series: string): Promise<Uint8Array[]> {
    const what = `study ${study}, series ${series}`;
    const response = await this.get(
      `/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}`,
      'multipart/related; type="application/dicom"; transfer-syntax=*',
      what,
    );
    const type = response.headers.get('content-type') ?? '';
    if (!/^multipart\/related/i.test(type)) throw new DicomwebError(`${what}: expected multipart/related, got '${type}'`);
    const body = await response.arrayBuffer();
    // dcmjs' decoder (the one OHIF's DICOMweb client uses) finds the boundary in the body.
    const parts = dcmjsMessage().multipartDecode(body).map((p) => new Uint8Array(p));
    const bad = parts.findIndex((p) => !isDicom(p));
    if (bad >= 0) throw new DicomwebError(`${what}: part ${bad + 1} of ${parts.length} of the multipart answer is not a DICOM Part-10 file`);
    return parts;
  }
}

/** Parses `Name: value` header arguments (`--header`); an error names a malformed one. */
export function parseHeaders(args: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const i = a.indexOf(':');
    const name = i > 0 ? a.slice(0, i).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new IchnetError('USAGE', `--header '${a}': expected 'Name: value'`);
    out[name] = a.slice(i + 1).trim();
  }
  return out;
}

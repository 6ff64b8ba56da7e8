/**
 * Decoding one slice file: DICOM (by content) to Hounsfield units, anything else through sharp to
 * 8-bit gray or RGB. Errors name the file.
 */
import { closeSync, fstatSync, openSync, readSync as readInto } from 'node:fs';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';

import { decodeHu, type HuDestination } from './dicom/hu.js';
import { isDicom } from './dicom/read.js';
import type { SlicePixels } from './types.js';
import { IchnetError } from '../errors/ichnet-error.js';

/** Image file extensions the folder datasets look for, in preference order. */
export const IMAGE_EXTENSIONS = ['.dcm', '.png', '.jpg', '.jpeg', '.tif', '.tiff', ''] as const;

/** True when an interleaved RGB buffer has R = G = B everywhere (gray saved as colour). */
function isGrayRgb(data: Buffer): boolean {
  for (let i = 0; i < data.length; i += 3) if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return false;
  return true;
}

/**
 * Decodes an image with sharp: 1 channel for gray images (including gray stored as RGB, common
 * for exported CT slices), 3 for colour; alpha dropped.
 */
async function readImage(bytes: Buffer): Promise<SlicePixels> {
  const { data, info } = await sharp(bytes, { failOn: 'error' })
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  if (info.channels === 1) return { kind: 'uint8', width, height, channels: 1, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  if (info.channels !== 3) throw new IchnetError('DATA_UNREADABLE', `unexpected ${info.channels} channels after decoding`);
  if (!isGrayRgb(data)) return { kind: 'uint8', width, height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  const gray = new Uint8Array(width * height);
  for (let i = 0; i < gray.length; i++) gray[i] = data[i * 3] as number;
  return { kind: 'uint8', width, height, channels: 1, data: gray };
}

/**
 * The buffer blocking reads go into, reused from slice to slice of this thread: a fresh buffer per
 * slice costs its allocation, zeroed pages and garbage collection, more than the read itself. Taken
 * while a slice is decoded (undefined meanwhile), so overlapping reads each get their own.
 */
let readBuffer: Buffer | undefined = Buffer.allocUnsafeSlow(0);

/** The whole file, with blocking calls, into `buffer` (grown when too small); returns the bytes read. */
function readWhole(path: string, buffer: Buffer): { buffer: Buffer; bytes: Buffer } {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (buffer.length < size) buffer = Buffer.allocUnsafeSlow(Math.max(size, 2 * buffer.length));
    let read = 0;
    for (let n = -1; read < size && n !== 0; read += n) n = readInto(fd, buffer, read, size - read, read);
    return { buffer, bytes: buffer.subarray(0, read) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads one slice; throws an IchnetError (DATA_UNREADABLE) whose message starts with the path. `rsnaFix` applies the RSNA
 * ICH data's RescaleIntercept correction to DICOMs that need it. `readSync` reads the file with
 * blocking calls into a buffer reused across slices: for a decode worker thread, which has nothing
 * else to do meanwhile and is spared the thread-pool round trips (open, stat, read, close) of an
 * asynchronous read, most of a slice's wait; never on a thread that serves an event loop others use.
 * `into` offers an array for a DICOM slice's HU values (see `decodeHu`); the returned pixels are
 * then that array. The returned pixels never share memory with the file's bytes.
 */
export async function readSlice(path: string, { rsnaFix = false, readSync = false, into }: { rsnaFix?: boolean; readSync?: boolean; into?: HuDestination } = {}): Promise<SlicePixels> {
  const scratch = readSync ? (readBuffer ?? Buffer.allocUnsafeSlow(0)) : undefined;
  if (readSync) readBuffer = undefined;
  let kept = scratch;
  try {
    // One read serves both the sniffing and the decoding (a slice is a few hundred KiB).
    let bytes: Buffer;
    try {
      if (scratch) ({ buffer: kept, bytes } = readWhole(path, scratch));
      else bytes = await readFile(path);
    } catch (e) {
      throw new IchnetError('DATA_UNREADABLE', `cannot read file: ${(e as Error).message}`);
    }
    if (isDicom(bytes)) {
      const dicom = await decodeHu(path, bytes, { rsnaFix, into });
      return { kind: 'hu', width: dicom.columns, height: dicom.rows, channels: 1, data: dicom.hu };
    }
    return await readImage(bytes);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const code = e instanceof IchnetError ? e.code : 'DATA_UNREADABLE';
    throw new IchnetError(code, message.startsWith(path) ? message : `${path}: ${message}`, { cause: e });
  } finally {
    if (kept) readBuffer = kept;
  }
}

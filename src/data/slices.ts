/**
 * Decoding one slice file: DICOM (by content) to Hounsfield units, anything else through sharp to
 * 8-bit gray or RGB. Errors name the file.
 */
import { open } from 'node:fs/promises';
import sharp from 'sharp';

import { isDicom, readDicom } from './dicom/read.js';
import { fixRsnaIntercept } from './dicom/rsna-fix.js';
import type { SlicePixels } from './types.js';

/** Image file extensions the folder datasets look for, in preference order. */
export const IMAGE_EXTENSIONS = ['.dcm', '.png', '.jpg', '.jpeg', '.tif', '.tiff', ''] as const;

async function startsLikeDicom(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const head = new Uint8Array(132);
    const { bytesRead } = await file.read(head, 0, 132, 0);
    return bytesRead === 132 && isDicom(head);
  } finally {
    await file.close();
  }
}

/** Rounds rescaled DICOM values into int16 Hounsfield units (CT's range fits; others are clamped). */
function toHu16(values: Float32Array): Int16Array {
  const out = new Int16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(values[i] as number);
    out[i] = v < -32768 ? -32768 : v > 32767 ? 32767 : v;
  }
  return out;
}

/** True when an interleaved RGB buffer has R = G = B everywhere (gray saved as colour). */
function isGrayRgb(data: Buffer): boolean {
  for (let i = 0; i < data.length; i += 3) if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return false;
  return true;
}

/**
 * Decodes an image with sharp: 1 channel for gray images (including gray stored as RGB, common
 * for exported CT slices), 3 for colour; alpha dropped.
 */
async function readImage(path: string): Promise<SlicePixels> {
  const { data, info } = await sharp(path, { failOn: 'error' })
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  if (info.channels === 1) return { kind: 'uint8', width, height, channels: 1, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels after decoding`);
  if (!isGrayRgb(data)) return { kind: 'uint8', width, height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  const gray = new Uint8Array(width * height);
  for (let i = 0; i < gray.length; i++) gray[i] = data[i * 3] as number;
  return { kind: 'uint8', width, height, channels: 1, data: gray };
}

/**
 * Reads one slice; throws an Error whose message starts with the path. `rsnaFix` applies the RSNA
 * ICH data's RescaleIntercept correction to DICOMs that need it.
 */
export async function readSlice(path: string, { rsnaFix = false }: { rsnaFix?: boolean } = {}): Promise<SlicePixels> {
  try {
    if (await startsLikeDicom(path)) {
      const read = await readDicom(path);
      const dicom = rsnaFix ? fixRsnaIntercept(read) : read;
      if (dicom.meta.samplesPerPixel !== 1) throw new Error(`DICOM with ${dicom.meta.samplesPerPixel} samples per pixel; CT slices have 1`);
      return { kind: 'hu', width: dicom.columns, height: dicom.rows, channels: 1, data: toHu16(dicom.pixels) };
    }
    return await readImage(path);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(message.startsWith(path) ? message : `${path}: ${message}`, { cause: e });
  }
}

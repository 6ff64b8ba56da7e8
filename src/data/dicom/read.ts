/**
 * DICOM Part-10 reading: header fields and the first frame's pixel values, equal to pydicom's
 * `apply_modality_lut(ds.pixel_array, ds)` (slope · stored + intercept).
 *
 * Parsing is dicom-parser's (implicit/explicit VR, little/big endian, deflate); compressed frames
 * are decoded by dcmjs-codecs (see `codecs.ts`). Supported transfer syntaxes: Implicit and Explicit
 * VR Little Endian, Deflated Explicit VR Little Endian, Explicit VR Big Endian, RLE Lossless,
 * JPEG Baseline (8-bit), JPEG Extended (12-bit), JPEG Lossless (Process 14, any predictor, and SV1),
 * JPEG-LS (lossless and near-lossless) and JPEG 2000 (lossless and lossy).
 * @module
 */
import { open, readFile } from 'node:fs/promises';

import dicomParser from 'dicom-parser';
import type { DataSet, Element } from 'dicom-parser';

import { decodeFrame, type FrameGeometry } from './codecs.js';
import { j2kParameters, jpegLsPrecision } from './codestream.js';
import { HeaderError, readMeta, type DicomMeta } from './meta.js';
import {
  expandYbr422,
  interleave,
  readSamples,
  ybrToRgb,
  type FrameBytes,
  type SampleCorrection,
} from './pixels.js';
import { transferSyntax, type PixelCodec } from './transfer-syntax.js';
import { IchnetError } from '../../errors/ichnet-error.js';

export type { DicomMeta } from './meta.js';

/** A decoded DICOM image: the first frame, in modality units. */
export interface DicomImage {
  rows: number;
  columns: number;
  /**
   * Row-major values of the first frame. Grey images (Samples per Pixel 1): Rescale Slope ·
   * stored value + Rescale Intercept (Hounsfield units for CT), as float32; MONOCHROME1 is not
   * inverted and palette indices are not looked up. Colour images (Samples per Pixel 3): R, G, B
   * interleaved, not rescaled (YBR data converted to RGB).
   */
  pixels: Float32Array;
  meta: DicomMeta;
}

const PIXEL_DATA = 'x7fe00010';
const EXTENDED_OFFSET_TABLE = 'x7fe00001';
/** First bytes read for a header; doubled until the parse reaches Pixel Data or the file's end. */
const HEADER_CHUNK = 16 * 1024;

/**
 * Whether `bytes` start like a DICOM Part-10 file: a 128-byte preamble, then `DICM`.
 *
 * @param bytes - At least the first 132 bytes of a file.
 */
export function isDicom(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/**
 * Reads a DICOM file's header, without its pixel data: reads the file in growing chunks and stops
 * parsing at (7FE0,0010) Pixel Data, so only the first few KiB of a typical CT slice are read.
 *
 * @param path - The file.
 * @returns The header fields; see {@link DicomMeta}.
 * @throws IchnetError DATA_UNREADABLE naming `path` when the file is not DICOM Part-10, is truncated before its pixel
 *   data, or has no image pixel description (Rows, Columns, Bits Allocated).
 */
export async function readDicomHeader(path: string): Promise<DicomMeta> {
  const handle = await openFile(path);
  try {
    const size = (await handle.stat()).size;
    let buffer = Buffer.alloc(0);
    for (let want = Math.min(size, HEADER_CHUNK); ; want = Math.min(size, want * 2)) {
      const chunk = Buffer.alloc(want - buffer.length);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, buffer.length);
      buffer = Buffer.concat([buffer, chunk.subarray(0, bytesRead)]);
      const whole = buffer.length >= size || bytesRead === 0;
      checkPart10(path, buffer, whole);
      let ds: DataSet;
      try {
        ds = dicomParser.parseDicom(buffer, { untilTag: PIXEL_DATA });
      } catch (e) {
        if (whole) throw parseError(path, e);
        continue; // the chunk ended inside an element: read more
      }
      // A chunk ending between two elements parses cleanly but short of Pixel Data.
      if (ds.elements[PIXEL_DATA] || whole) return metaOf(path, ds);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Reads a DICOM file and decodes its first frame.
 *
 * Grey pixels equal pydicom's `apply_modality_lut(ds.pixel_array, ds)` for that frame (rounded to
 * float32), including its handling of Bits Stored < Bits Allocated (see `pixels.ts`).
 *
 * @param path - The file.
 * @returns Rows, columns, the first frame's values and the header.
 * @throws IchnetError DATA_UNREADABLE naming `path` for a non-DICOM, truncated or corrupt file, missing or short pixel
 *   data, an undecodable frame, or an unsupported transfer syntax (the message then names the
 *   syntax's UID and name, e.g. `… unsupported transfer syntax 1.2.840.10008.1.2.4.100 (MPEG2
 *   Main Profile / Main Level)`).
 */
export async function readDicom(path: string): Promise<DicomImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new IchnetError('DATA_UNREADABLE', `${path}: cannot read file: ${(e as Error).message}`);
  }
  const { meta, frame } = await decodeFirstFrame(path, bytes);
  return toImage(path, meta, frame);
}

/**
 * The parsing and decoding half of {@link readDicom}, on a file's bytes: the header and the first
 * frame's stored samples, not yet read into values. `path` names the file in errors.
 */
export async function decodeFirstFrame(path: string, bytes: Buffer): Promise<{ meta: DicomMeta; frame: RawFrame }> {
  checkPart10(path, bytes, true);
  let ds: DataSet;
  try {
    ds = dicomParser.parseDicom(bytes);
  } catch (e) {
    throw parseError(path, e);
  }
  const meta = metaOf(path, ds);
  const syntax = transferSyntax(meta.transferSyntaxUid);
  if (!syntax.codec) throw new IchnetError('DATA_UNREADABLE', `${path}: unsupported transfer syntax ${syntax.uid} (${syntax.name})`);
  const element = ds.elements[PIXEL_DATA];
  if (!element) throw new IchnetError('DATA_UNREADABLE', `${path}: no Pixel Data (7FE0,0010) (not an image, or a truncated file)`);
  if (meta.samplesPerPixel !== 1 && meta.samplesPerPixel !== 3) {
    throw new IchnetError('DATA_UNREADABLE', `${path}: unsupported Samples per Pixel ${meta.samplesPerPixel} (supported: 1, 3)`);
  }
  return { meta, frame: await firstFrame(path, ds, element, meta, syntax.codec, syntax.name) };
}

/** The second half of {@link readDicom}: a decoded frame's values, rescaled or converted to RGB. */
export function toImage(path: string, meta: DicomMeta, frame: RawFrame): DicomImage {
  let values = readSamples(frame.bytes, frame.count, meta.bitsAllocated, meta.pixelRepresentation, frame.correction);
  if (frame.ybr422) values = expandYbr422(values, meta.rows * meta.columns);
  const samples: FrameSamples = { values, planar: frame.planar, photometric: frame.photometric };
  return { rows: meta.rows, columns: meta.columns, pixels: toOutput(path, samples, meta), meta };
}

/**
 * The first frame's stored samples as bytes, before they are read into numbers: `count` samples
 * of Bits Allocated bits, to be re-interpreted by `correction` (see `pixels.ts`).
 */
export interface RawFrame {
  bytes: FrameBytes;
  count: number;
  correction: SampleCorrection | undefined;
  /** Colour samples stored plane by plane. */
  planar: boolean;
  /** Photometric interpretation of the samples (after any conversion by the decoder). */
  photometric: string;
  /** Native YBR_FULL_422 data: each pair of pixels shares its chroma and is expanded when read. */
  ybr422: boolean;
}

/** The first frame's samples (corrected, not rescaled) and how they are laid out. */
interface FrameSamples {
  values: Float64Array;
  planar: boolean;
  /** Photometric interpretation of `values` (after any conversion by the decoder). */
  photometric: string;
}

async function firstFrame(
  path: string,
  ds: DataSet,
  element: Element,
  meta: DicomMeta,
  codec: PixelCodec,
  syntaxName: string,
): Promise<RawFrame> {
  const pixels = meta.rows * meta.columns;
  const count = pixels * meta.samplesPerPixel;
  const photometric = meta.photometricInterpretation;
  const unusedBits: SampleCorrection = { bits: meta.bitsStored, signed: meta.pixelRepresentation === 1 };
  const planar = meta.samplesPerPixel > 1 && (ds.uint16('x00280006') ?? 0) === 1;

  if (codec === 'native-le' || codec === 'native-be' || codec === 'deflate') {
    if (element.encapsulatedPixelData) throw new IchnetError('DATA_UNREADABLE', `${path}: encapsulated Pixel Data under ${syntaxName}`);
    const ybr422 = photometric === 'YBR_FULL_422' && meta.bitsAllocated === 8;
    const frameCount = ybr422 ? (count / 3) * 2 : count;
    const frameBytes = meta.bitsAllocated === 1 ? Math.ceil(frameCount / 8) : (frameCount * meta.bitsAllocated) / 8;
    const expected =
      meta.bitsAllocated === 1 ? Math.ceil((frameCount * meta.numberOfFrames) / 8) : frameBytes * meta.numberOfFrames;
    const available = Math.min(element.length, ds.byteArray.length - element.dataOffset);
    if (available < expected) {
      throw new IchnetError('DATA_UNREADABLE', 
        `${path}: truncated Pixel Data: ${available} bytes, expected ${expected} ` +
          `(${meta.numberOfFrames} × ${meta.rows} × ${meta.columns} × ${meta.samplesPerPixel} × ${meta.bitsAllocated} bits)`,
      );
    }
    let bytes = ds.byteArray.subarray(element.dataOffset, element.dataOffset + frameBytes);
    const littleEndian = codec !== 'native-be';
    if (!littleEndian && meta.bitsAllocated === 8 && element.vr === 'OW') bytes = swapPairs(bytes);
    return {
      bytes: { bytes, littleEndian },
      count: frameCount,
      correction: unusedBits,
      planar: planar && !ybr422,
      photometric: ybr422 ? 'YBR_FULL' : photometric,
      ybr422,
    };
  }

  const encoded = encapsulatedFrame(path, ds, element, meta.numberOfFrames);
  const geometry: FrameGeometry = {
    rows: meta.rows,
    columns: meta.columns,
    bitsAllocated: meta.bitsAllocated,
    bitsStored: meta.bitsStored,
    samplesPerPixel: meta.samplesPerPixel,
    pixelRepresentation: meta.pixelRepresentation,
    planarConfiguration: planar ? 1 : 0,
    photometricInterpretation: photometric,
  };
  // libjpeg converts YCbCr to RGB itself (as Pillow does for pydicom); other codecs return the
  // stored colour space, converted below with pydicom's arithmetic.
  const jpegToRgb = codec === 'jpeg' && meta.samplesPerPixel === 3 && photometric.startsWith('YBR');
  let frame;
  try {
    frame = await decodeFrame(codec, encoded, geometry, jpegToRgb);
  } catch (e) {
    throw new IchnetError('DATA_UNREADABLE', `${path}: cannot decode ${syntaxName} pixel data: ${(e as Error).message}`);
  }
  const bytesPerSample = meta.bitsAllocated / 8;
  if (!Number.isInteger(bytesPerSample) || frame.data.length < count * bytesPerSample) {
    throw new IchnetError('DATA_UNREADABLE', 
      `${path}: ${syntaxName} frame decoded to ${frame.data.length} bytes, expected ${count * bytesPerSample} ` +
        `(${meta.rows} × ${meta.columns} × ${meta.samplesPerPixel} × ${meta.bitsAllocated} bits)`,
    );
  }
  let correction: SampleCorrection | undefined = unusedBits;
  if (codec === 'jpeg-2000') {
    correction = undefined;
    const j2k = j2kParameters(encoded);
    const signed = j2k?.signed ?? meta.pixelRepresentation === 1;
    if (photometric.startsWith('MONOCHROME') && signed !== (meta.pixelRepresentation === 1)) {
      correction = { bits: j2k?.precision ?? meta.bitsStored, signed: meta.pixelRepresentation === 1 };
    }
  } else if (codec === 'jpeg-ls') {
    correction =
      meta.pixelRepresentation === 1 ? { bits: jpegLsPrecision(encoded) ?? meta.bitsStored, signed: true } : undefined;
  }
  return {
    bytes: { bytes: frame.data, littleEndian: true },
    count,
    correction,
    planar: frame.planarConfiguration === 1,
    photometric: jpegToRgb ? 'RGB' : photometric,
    ybr422: false,
  };
}

/** Rescales grey samples, or interleaves and converts colour samples to RGB. */
function toOutput(path: string, frame: FrameSamples, meta: DicomMeta): Float32Array {
  const pixels = meta.rows * meta.columns;
  if (meta.samplesPerPixel === 1) {
    const out = new Float32Array(pixels);
    const { rescaleSlope: slope, rescaleIntercept: intercept } = meta;
    for (let i = 0; i < pixels; i++) out[i] = (frame.values[i] ?? 0) * slope + intercept;
    return out;
  }
  const values = frame.planar ? interleave(frame.values, pixels, 3) : frame.values;
  if (frame.photometric === 'YBR_FULL' || frame.photometric === 'YBR_FULL_422') {
    if (meta.bitsAllocated !== 8) throw new IchnetError('DATA_UNREADABLE', `${path}: ${frame.photometric} → RGB needs 8-bit samples, not ${meta.bitsAllocated}`);
    ybrToRgb(values);
  }
  return Float32Array.from(values.subarray(0, pixels * 3));
}

/**
 * The bytes of the first frame of encapsulated Pixel Data: located through the Basic Offset Table,
 * else the Extended Offset Table, else (no offsets) all fragments for a single frame, one fragment
 * per frame when the counts match, or the fragments up to the first that ends a JPEG/J2K codestream.
 */
function encapsulatedFrame(path: string, ds: DataSet, element: Element, frames: number): Uint8Array {
  if (!element.encapsulatedPixelData) throw new IchnetError('DATA_UNREADABLE', `${path}: Pixel Data is not encapsulated, as its transfer syntax requires`);
  const fragments = element.fragments ?? [];
  if (fragments.length === 0) throw new IchnetError('DATA_UNREADABLE', `${path}: encapsulated Pixel Data has no fragments`);
  for (const fragment of fragments) {
    if (fragment.position + fragment.length > ds.byteArray.length) {
      throw new IchnetError('DATA_UNREADABLE', `${path}: truncated Pixel Data: a fragment runs past the end of the file`);
    }
  }
  const bytesOf = (first: number, n: number): Uint8Array =>
    dicomParser.readEncapsulatedPixelDataFromFragments(ds, element, first, n);
  try {
    if ((element.basicOffsetTable?.length ?? 0) > 0) return dicomParser.readEncapsulatedImageFrame(ds, element, 0);
    // With an Extended Offset Table each frame is exactly one fragment (PS3.5 A.4).
    if (ds.elements[EXTENDED_OFFSET_TABLE]) return bytesOf(0, 1);
    if (frames <= 1) return bytesOf(0, fragments.length);
    if (fragments.length === frames) return bytesOf(0, 1);
    for (let i = 0; i < fragments.length; i++) {
      const f = fragments[i]!;
      const bytes = ds.byteArray.subarray(f.position, f.position + f.length);
      if (endsCodestream(bytes)) return bytesOf(0, i + 1);
    }
    return bytesOf(0, fragments.length);
  } catch (e) {
    throw new IchnetError('DATA_UNREADABLE', `${path}: cannot locate the first frame in the encapsulated Pixel Data: ${describe(e)}`);
  }
}

/** A JPEG EOI / JPEG 2000 EOC marker (FFD9) at the end, allowing one trailing pad byte. */
function endsCodestream(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return (bytes[n - 2] === 0xff && bytes[n - 1] === 0xd9) || (bytes[n - 3] === 0xff && bytes[n - 2] === 0xd9 && bytes[n - 1] === 0);
}

/** 8-bit samples encoded as OW under big endian are byte-swapped in 16-bit words (pydicom's `be_swap_ow`). */
function swapPairs(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    out[i] = bytes[i + 1]!;
    out[i + 1] = bytes[i]!;
  }
  if (bytes.length % 2 === 1) out[bytes.length - 1] = bytes[bytes.length - 1]!;
  return out;
}

async function openFile(path: string) {
  try {
    return await open(path, 'r');
  } catch (e) {
    throw new IchnetError('DATA_UNREADABLE', `${path}: cannot read file: ${(e as Error).message}`);
  }
}

/** Rejects files that are not DICOM Part-10 (no `DICM` at byte 128). */
function checkPart10(path: string, bytes: Uint8Array, whole: boolean): void {
  if (bytes.length < 132) {
    if (!whole) return;
    throw new IchnetError('DATA_UNREADABLE', `${path}: not a DICOM Part-10 file (${bytes.length} bytes, too short for the 128-byte preamble and 'DICM')`);
  }
  if (!isDicom(bytes)) throw new IchnetError('DATA_UNREADABLE', `${path}: not a DICOM Part-10 file (no 'DICM' prefix at byte 128)`);
}

function metaOf(path: string, ds: DataSet): DicomMeta {
  try {
    return readMeta(ds);
  } catch (e) {
    if (!(e instanceof HeaderError)) throw e;
    // A dataset that simply stops (cut at an element boundary) parses cleanly: say so.
    const hint = ds.elements[PIXEL_DATA] ? '' : ' and no Pixel Data (7FE0,0010): not an image, or a truncated file';
    throw new IchnetError('DATA_UNREADABLE', `${path}: ${e.message}${hint}`);
  }
}

/** dicom-parser throws strings, Errors, or `{ exception, dataSet }` objects. */
function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && 'exception' in e) return describe((e as { exception: unknown }).exception);
  return String(e);
}

function parseError(path: string, e: unknown): Error {
  return new IchnetError('DATA_UNREADABLE', `${path}: truncated or corrupt DICOM file: ${describe(e)}`);
}

/** The header fields `readDicom` and `readDicomHeader` report, read from a dicom-parser dataset. */
import type { DataSet } from 'dicom-parser';

import { transferSyntax } from './transfer-syntax.js';

/**
 * The header of one DICOM image: what is needed to order slices, convert stored values to
 * modality units and decode the pixels. Numeric string fields (DS, IS) are parsed as pydicom does
 * (`float(value)`); optional fields that are absent, empty or unparsable are left `undefined`.
 */
export interface DicomMeta {
  /** (0002,0010) Transfer Syntax UID. */
  transferSyntaxUid: string;
  /** The transfer syntax's name (PS3.6), e.g. `Explicit VR Little Endian`. */
  transferSyntaxName: string;
  /** (0008,0008) Image Type, all values, e.g. `ORIGINAL`, `PRIMARY`, `AXIAL` or `LOCALIZER`. */
  imageType?: string[];
  /** (0008,0060) Modality, e.g. `CT`. */
  modality?: string;
  /** (0010,0020) Patient ID. */
  patientId?: string;
  /** (0020,000D) Study Instance UID. */
  studyInstanceUid?: string;
  /** (0020,000E) Series Instance UID. */
  seriesInstanceUid?: string;
  /** (0008,0018) SOP Instance UID. */
  sopInstanceUid?: string;
  /** (0020,0013) Instance Number. */
  instanceNumber?: number;
  /** (0020,0032) Image Position (Patient), mm: x, y, z of the first voxel's centre. */
  imagePositionPatient?: [number, number, number];
  /** (0020,0037) Image Orientation (Patient): row direction cosines, then column direction cosines. */
  imageOrientationPatient?: [number, number, number, number, number, number];
  /** (0028,0030) Pixel Spacing, mm: between rows, then between columns. */
  pixelSpacing?: [number, number];
  /** (0018,0050) Slice Thickness, mm. */
  sliceThickness?: number;
  /** (0028,0010) Rows. */
  rows: number;
  /** (0028,0011) Columns. */
  columns: number;
  /** (0028,0002) Samples per Pixel: 1 (grey) or 3 (colour). */
  samplesPerPixel: number;
  /** (0028,0004) Photometric Interpretation as stored, e.g. `MONOCHROME2`, `RGB`, `YBR_FULL_422`. */
  photometricInterpretation: string;
  /** (0028,0100) Bits Allocated. */
  bitsAllocated: number;
  /** (0028,0101) Bits Stored (defaults to Bits Allocated). */
  bitsStored: number;
  /** (0028,0102) High Bit (defaults to Bits Stored − 1). */
  highBit: number;
  /** (0028,0103) Pixel Representation: 0 unsigned, 1 two's complement. */
  pixelRepresentation: 0 | 1;
  /** (0028,1053) Rescale Slope; 1 when absent. */
  rescaleSlope: number;
  /** (0028,1052) Rescale Intercept; 0 when absent. */
  rescaleIntercept: number;
  /** (0028,1050) Window Center, all values (the element is often multi-valued, e.g. `40\50`). */
  windowCenter?: number[];
  /** (0028,1051) Window Width, all values. */
  windowWidth?: number[];
  /** (0028,0008) Number of Frames; 1 when absent. */
  numberOfFrames: number;
}

/** Raised for a header that cannot describe an image; the reader prefixes the file name. */
export class HeaderError extends Error {}

/** The raw (trimmed) string values of a text element, or `undefined` when absent or empty. */
function strings(ds: DataSet, tag: string): string[] | undefined {
  const element = ds.elements[tag];
  if (!element || element.length === 0) return undefined;
  const count = ds.numStringValues(tag) ?? 0;
  const values: string[] = [];
  for (let i = 0; i < count; i++) values.push(ds.string(tag, i) ?? '');
  return values.length > 0 && values.some((v) => v !== '') ? values : undefined;
}

function text(ds: DataSet, tag: string): string | undefined {
  const value = ds.string(tag);
  return value === undefined || value === '' ? undefined : value;
}

/** A decimal or integer string as pydicom's DS/IS parse it; NaN for anything else. */
function parseNumber(value: string): number {
  const v = value.trim();
  return v === '' ? NaN : Number(v);
}

/** All values of a DS/IS element; `undefined` when absent, empty or any value is not a number. */
function numbers(ds: DataSet, tag: string): number[] | undefined {
  const values = strings(ds, tag)?.map(parseNumber);
  return values && values.every(Number.isFinite) ? values : undefined;
}

function tuple<N extends number>(ds: DataSet, tag: string, n: N): number[] | undefined {
  const values = numbers(ds, tag);
  return values && values.length === n ? values : undefined;
}

/** A DS/IS element needed to compute pixel values: the default when absent, an error when garbled. */
function requiredNumber(ds: DataSet, tag: string, name: string, fallback: number): number {
  const values = strings(ds, tag);
  if (!values) return fallback;
  const value = parseNumber(values[0] ?? '');
  if (!Number.isFinite(value)) throw new HeaderError(`invalid ${name} ${label(tag)} value "${values.join('\\')}"`);
  return value;
}

/** A US element; the default when absent. */
function ushort(ds: DataSet, tag: string, fallback?: number): number | undefined {
  const element = ds.elements[tag];
  if (!element || element.length < 2) return fallback;
  return ds.uint16(tag) ?? fallback;
}

/** `x00280010` → `(0028,0010)`. */
export function label(tag: string): string {
  return `(${tag.slice(1, 5).toUpperCase()},${tag.slice(5, 9).toUpperCase()})`;
}

/**
 * Builds the header record from a parsed dataset (file meta included).
 *
 * @throws HeaderError when the file has no transfer syntax or no image pixel description
 *   (Rows, Columns, Bits Allocated), or when a value needed for the pixels is invalid.
 */
export function readMeta(ds: DataSet): DicomMeta {
  const transferSyntaxUid = text(ds, 'x00020010');
  if (!transferSyntaxUid) throw new HeaderError('no Transfer Syntax UID (0002,0010) in the file meta information');
  const rows = ushort(ds, 'x00280010');
  const columns = ushort(ds, 'x00280011');
  const bitsAllocated = ushort(ds, 'x00280100');
  if (rows === undefined || columns === undefined || bitsAllocated === undefined) {
    const missing = [
      rows === undefined ? 'Rows (0028,0010)' : '',
      columns === undefined ? 'Columns (0028,0011)' : '',
      bitsAllocated === undefined ? 'Bits Allocated (0028,0100)' : '',
    ].filter((s) => s !== '');
    throw new HeaderError(`no ${missing.join(', ')}`);
  }
  if (rows === 0 || columns === 0) throw new HeaderError(`image of ${rows} × ${columns} pixels (Rows (0028,0010), Columns (0028,0011)) holds no pixels`);
  if (![1, 8, 16, 32].includes(bitsAllocated)) throw new HeaderError(`unsupported Bits Allocated (0028,0100) value ${bitsAllocated} (supported: 1, 8, 16, 32)`);
  const bitsStored = ushort(ds, 'x00280101', bitsAllocated) ?? bitsAllocated;
  if (bitsStored < 1 || bitsStored > bitsAllocated) {
    throw new HeaderError(`invalid Bits Stored (0028,0101) value ${bitsStored} for Bits Allocated ${bitsAllocated}`);
  }
  const highBit = ushort(ds, 'x00280102', bitsStored - 1) ?? bitsStored - 1;
  const pixelRepresentation = ushort(ds, 'x00280103', 0) ?? 0;
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) {
    throw new HeaderError(`invalid Pixel Representation (0028,0103) value ${pixelRepresentation}`);
  }
  const samplesPerPixel = ushort(ds, 'x00280002', 1) ?? 1;
  const photometricInterpretation = text(ds, 'x00280004') ?? (samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2');
  const frames = requiredNumber(ds, 'x00280008', 'Number of Frames', 1);

  const meta: DicomMeta = {
    transferSyntaxUid,
    transferSyntaxName: transferSyntax(transferSyntaxUid).name,
    rows,
    columns,
    samplesPerPixel,
    photometricInterpretation,
    bitsAllocated,
    bitsStored,
    highBit,
    pixelRepresentation,
    rescaleSlope: requiredNumber(ds, 'x00281053', 'Rescale Slope', 1),
    rescaleIntercept: requiredNumber(ds, 'x00281052', 'Rescale Intercept', 0),
    numberOfFrames: frames >= 1 ? Math.trunc(frames) : 1,
  };
  const optionalText: Array<[keyof DicomMeta, string]> = [
    ['modality', 'x00080060'],
    ['patientId', 'x00100020'],
    ['studyInstanceUid', 'x0020000d'],
    ['seriesInstanceUid', 'x0020000e'],
    ['sopInstanceUid', 'x00080018'],
  ];
  for (const [key, tag] of optionalText) {
    const value = text(ds, tag);
    if (value !== undefined) (meta as unknown as Record<string, unknown>)[key] = value;
  }
  const imageType = strings(ds, 'x00080008');
  if (imageType) meta.imageType = imageType.map((v) => v.trim().toUpperCase());
  const instanceNumber = numbers(ds, 'x00200013')?.[0];
  if (instanceNumber !== undefined) meta.instanceNumber = instanceNumber;
  const position = tuple(ds, 'x00200032', 3);
  if (position) meta.imagePositionPatient = position as [number, number, number];
  const orientation = tuple(ds, 'x00200037', 6);
  if (orientation) meta.imageOrientationPatient = orientation as [number, number, number, number, number, number];
  const spacing = tuple(ds, 'x00280030', 2);
  if (spacing) meta.pixelSpacing = spacing as [number, number];
  const thickness = numbers(ds, 'x00180050')?.[0];
  if (thickness !== undefined) meta.sliceThickness = thickness;
  const center = numbers(ds, 'x00281050');
  if (center) meta.windowCenter = center;
  const width = numbers(ds, 'x00281051');
  if (width) meta.windowWidth = width;
  return meta;
}

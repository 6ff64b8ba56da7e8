/**
 * Encodes one synthetic CT slice as a DICOM Part-10 file (CT Image Storage, Explicit VR Little
 * Endian, uncompressed) with dcmjs. dcmjs writes the preamble, the group-2 meta header with its
 * group length, the elements in tag order and even-length values; we only hand it a naturalised
 * dataset. All values are explicit (no clock, no random UIDs), so the bytes are a pure function
 * of the input.
 */
import { createRequire } from 'node:module';

import { deterministicUid } from '../rng.js';
import { IchnetError } from '../../errors/ichnet-error.js';

/** The part of dcmjs' (untyped) `data` namespace used here. */
interface DcmjsData {
  DicomDict: new (meta: Record<string, unknown>) => {
    dict: Record<string, unknown>;
    write(options?: Record<string, unknown>): ArrayBuffer;
  };
  DicomMetaDictionary: {
    denaturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown>;
  };
}

const requireCjs = createRequire(import.meta.url);
let dcmjsData: DcmjsData | undefined;

function dcmjs(): DcmjsData {
  // dcmjs ships no type declarations; its CommonJS build is loaded and typed locally.
  dcmjsData ??= (requireCjs('dcmjs') as { data: DcmjsData }).data;
  return dcmjsData;
}

/** SOP Class UID of CT Image Storage. */
export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
/** Transfer Syntax UID of Explicit VR Little Endian. */
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Implementation Class UID written in the meta header (a fixed 2.25 UID for ichnet's writer). */
export const ICHNET_IMPLEMENTATION_UID = deterministicUid('ichnet', 'synthetic DICOM writer', 1);

/** What one DICOM slice holds. */
export interface CtSliceInput {
  /** Hounsfield units, rows × cols, row-major. */
  hu: Int16Array;
  rows: number;
  cols: number;
  patientId: string;
  patientName?: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  frameOfReferenceUid: string;
  /** 1-based position in the series. */
  instanceNumber: number;
  /** ImagePositionPatient (mm) of the first pixel's centre. */
  position: readonly [number, number, number];
  pixelSpacingMm: number;
  sliceThicknessMm: number;
  /**
   * Storage: signed 16-bit (PixelRepresentation 1) holding `HU − rescaleIntercept`, so
   * `stored × 1 + intercept` gives the HU back exactly. Default −1024.
   */
  rescaleIntercept?: 0 | -1024;
  window?: { center: number; width: number };
  /** YYYYMMDD. */
  studyDate?: string;
  /** Image Type (0008,0008). Default ORIGINAL\\PRIMARY\\AXIAL; LOCALIZER marks a scout. */
  imageType?: readonly string[];
  /** Image Orientation (Patient): row then column direction cosines. Default axial, [1, 0, 0, 0, 1, 0]. */
  orientation?: readonly [number, number, number, number, number, number];
  seriesDescription?: string;
}

/** A DS value (≤ 16 characters) without binary-float noise such as 0.30000000000000004. */
export function formatDecimalString(value: number): string {
  if (!Number.isFinite(value)) throw new IchnetError('INVALID_ARGUMENT', `DS value must be finite, got ${value}`);
  for (let digits = 6; digits >= 0; digits--) {
    const text = String(Number(value.toFixed(digits)));
    if (text.length <= 16) return text;
  }
  throw new IchnetError('INVALID_ARGUMENT', `DS value ${value} does not fit in 16 characters`);
}

/** Encodes a slice as a complete DICOM Part-10 file. */
export function encodeCtSlice(input: CtSliceInput): Uint8Array {
  const { rows, cols, hu } = input;
  if (hu.length !== rows * cols) throw new IchnetError('INVALID_ARGUMENT', `encodeCtSlice: ${hu.length} pixels for ${rows}×${cols}`);
  const intercept = input.rescaleIntercept ?? -1024;
  const stored = new Int16Array(hu.length);
  for (let i = 0; i < hu.length; i++) {
    const v = hu[i]! - intercept;
    if (v < -32768 || v > 32767) throw new IchnetError('INVALID_ARGUMENT', `encodeCtSlice: HU ${hu[i]} does not fit int16 storage with intercept ${intercept}`);
    stored[i] = v;
  }
  // Pixel data little-endian regardless of the host.
  const pixelBytes = new ArrayBuffer(stored.length * 2);
  const view = new DataView(pixelBytes);
  for (let i = 0; i < stored.length; i++) view.setInt16(i * 2, stored[i]!, true);

  const window = input.window ?? { center: 40, width: 80 };
  const date = input.studyDate ?? '20200101';
  const ds = formatDecimalString;
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 100',
    ImageType: [...(input.imageType ?? ['ORIGINAL', 'PRIMARY', 'AXIAL'])],
    SOPClassUID: CT_IMAGE_STORAGE,
    SOPInstanceUID: input.sopInstanceUid,
    StudyDate: date,
    SeriesDate: date,
    ContentDate: date,
    StudyTime: '120000',
    SeriesTime: '120000',
    ContentTime: '120000',
    AccessionNumber: '',
    Modality: 'CT',
    Manufacturer: 'ichnet synthetic phantom',
    ReferringPhysicianName: '',
    StudyDescription: 'Synthetic head CT',
    SeriesDescription: input.seriesDescription ?? 'Axial head (synthetic)',
    PatientName: input.patientName ?? input.patientId,
    PatientID: input.patientId,
    PatientBirthDate: '',
    PatientSex: '',
    BodyPartExamined: 'HEAD',
    SliceThickness: ds(input.sliceThicknessMm),
    KVP: '120',
    PatientPosition: 'HFS',
    StudyInstanceUID: input.studyInstanceUid,
    SeriesInstanceUID: input.seriesInstanceUid,
    StudyID: '1',
    SeriesNumber: '1',
    AcquisitionNumber: '1',
    InstanceNumber: String(input.instanceNumber),
    ImagePositionPatient: input.position.map(ds),
    ImageOrientationPatient: (input.orientation ?? [1, 0, 0, 0, 1, 0]).map(ds),
    FrameOfReferenceUID: input.frameOfReferenceUid,
    PositionReferenceIndicator: '',
    SliceLocation: ds(input.position[2]),
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: rows,
    Columns: cols,
    PixelSpacing: [ds(input.pixelSpacingMm), ds(input.pixelSpacingMm)],
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 1,
    WindowCenter: ds(window.center),
    WindowWidth: ds(window.width),
    RescaleIntercept: ds(intercept),
    RescaleSlope: '1',
    RescaleType: 'HU',
    PixelData: [pixelBytes],
    _vrMap: { PixelData: 'OW' },
  };
  const meta: Record<string, unknown> = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: CT_IMAGE_STORAGE,
    MediaStorageSOPInstanceUID: input.sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: ICHNET_IMPLEMENTATION_UID,
    ImplementationVersionName: 'ICHNET_SYNTH_1',
  };
  const { DicomDict, DicomMetaDictionary } = dcmjs();
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(dict.write());
}

/**
 * DICOM transfer syntaxes: their names (as in PS3.6 Table A-1 and pydicom's UID dictionary) and
 * how `readDicom` decodes each one.
 */

/** How the pixel data of a transfer syntax is decoded. */
export type PixelCodec =
  /** Native (uncompressed) little endian pixel data. */
  | 'native-le'
  /** Native big endian pixel data. */
  | 'native-be'
  /** Native little endian after the whole dataset has been inflated (deflate). */
  | 'deflate'
  /** DICOM RLE (PS3.5 Annex G). */
  | 'rle'
  /** ISO 10918-1 JPEG: baseline, extended (12-bit) and lossless processes. */
  | 'jpeg'
  /** ISO 14495-1 JPEG-LS, lossless and near-lossless. */
  | 'jpeg-ls'
  /** ISO 15444-1 JPEG 2000, lossless and lossy. */
  | 'jpeg-2000';

/** One transfer syntax: UID, name and codec (`undefined` when readDicom cannot decode it). */
export interface TransferSyntax {
  uid: string;
  name: string;
  codec?: PixelCodec;
}

const TABLE: ReadonlyArray<readonly [string, string, PixelCodec?]> = [
  ['1.2.840.10008.1.2', 'Implicit VR Little Endian', 'native-le'],
  ['1.2.840.10008.1.2.1', 'Explicit VR Little Endian', 'native-le'],
  ['1.2.840.10008.1.2.1.98', 'Encapsulated Uncompressed Explicit VR Little Endian'],
  ['1.2.840.10008.1.2.1.99', 'Deflated Explicit VR Little Endian', 'deflate'],
  ['1.2.840.10008.1.2.2', 'Explicit VR Big Endian', 'native-be'],
  ['1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', 'jpeg'],
  ['1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 and 4)', 'jpeg'],
  ['1.2.840.10008.1.2.4.57', 'JPEG Lossless, Non-Hierarchical (Process 14)', 'jpeg'],
  [
    '1.2.840.10008.1.2.4.70',
    'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])',
    'jpeg',
  ],
  ['1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless Image Compression', 'jpeg-ls'],
  ['1.2.840.10008.1.2.4.81', 'JPEG-LS Lossy (Near-Lossless) Image Compression', 'jpeg-ls'],
  ['1.2.840.10008.1.2.4.90', 'JPEG 2000 Image Compression (Lossless Only)', 'jpeg-2000'],
  ['1.2.840.10008.1.2.4.91', 'JPEG 2000 Image Compression', 'jpeg-2000'],
  ['1.2.840.10008.1.2.4.92', 'JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)'],
  ['1.2.840.10008.1.2.4.93', 'JPEG 2000 Part 2 Multi-component Image Compression'],
  ['1.2.840.10008.1.2.4.94', 'JPIP Referenced'],
  ['1.2.840.10008.1.2.4.95', 'JPIP Referenced Deflate'],
  ['1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile / Main Level'],
  ['1.2.840.10008.1.2.4.100.1', 'Fragmentable MPEG2 Main Profile / Main Level'],
  ['1.2.840.10008.1.2.4.101', 'MPEG2 Main Profile / High Level'],
  ['1.2.840.10008.1.2.4.101.1', 'Fragmentable MPEG2 Main Profile / High Level'],
  ['1.2.840.10008.1.2.4.102', 'MPEG-4 AVC/H.264 High Profile / Level 4.1'],
  ['1.2.840.10008.1.2.4.102.1', 'Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1'],
  ['1.2.840.10008.1.2.4.103', 'MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1'],
  ['1.2.840.10008.1.2.4.103.1', 'Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1'],
  ['1.2.840.10008.1.2.4.104', 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video'],
  ['1.2.840.10008.1.2.4.105', 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video'],
  ['1.2.840.10008.1.2.4.106', 'MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2'],
  ['1.2.840.10008.1.2.4.107', 'HEVC/H.265 Main Profile / Level 5.1'],
  ['1.2.840.10008.1.2.4.108', 'HEVC/H.265 Main 10 Profile / Level 5.1'],
  ['1.2.840.10008.1.2.4.110', 'JPEG XL Lossless'],
  ['1.2.840.10008.1.2.4.111', 'JPEG XL JPEG Recompression'],
  ['1.2.840.10008.1.2.4.112', 'JPEG XL'],
  ['1.2.840.10008.1.2.4.201', 'High-Throughput JPEG 2000 Image Compression (Lossless Only)'],
  ['1.2.840.10008.1.2.4.202', 'High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)'],
  ['1.2.840.10008.1.2.4.203', 'High-Throughput JPEG 2000 Image Compression'],
  ['1.2.840.10008.1.2.5', 'RLE Lossless', 'rle'],
  ['1.2.840.10008.1.2.6.1', 'RFC 2557 MIME encapsulation'],
  ['1.2.840.10008.1.2.6.2', 'XML Encoding'],
  ['1.2.840.10008.1.2.7.1', 'SMPTE ST 2110-20 Uncompressed Progressive Active Video'],
  ['1.2.840.10008.1.2.7.2', 'SMPTE ST 2110-20 Uncompressed Interlaced Active Video'],
  ['1.2.840.10008.1.2.7.3', 'SMPTE ST 2110-30 PCM Digital Audio'],
];

const BY_UID = new Map<string, TransferSyntax>(
  TABLE.map(([uid, name, codec]) => [uid, codec === undefined ? { uid, name } : { uid, name, codec }]),
);

/**
 * Looks up a transfer syntax UID. Retired JPEG processes (1.2.840.10008.1.2.4.52–.66) are named
 * generically; any other unknown UID is named `unknown transfer syntax`.
 */
export function transferSyntax(uid: string): TransferSyntax {
  const known = BY_UID.get(uid);
  if (known) return known;
  const jpeg = /^1\.2\.840\.10008\.1\.2\.4\.(\d+)$/.exec(uid);
  if (jpeg && Number(jpeg[1]) >= 52 && Number(jpeg[1]) <= 66) {
    return { uid, name: `JPEG (retired process, ${uid.slice(uid.lastIndexOf('.') + 1)})` };
  }
  return { uid, name: 'unknown transfer syntax' };
}

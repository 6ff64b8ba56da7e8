/**
 * DICOM reading: pixel values and header fields equal pydicom's on real files from pydicom's test
 * corpus (Debian's python3-pydicom), written by DCMTK, GDCM, highdicom and scanners; the promised
 * errors; `isDicom`; and the RSNA intercept fix.
 *
 * The oracle is Debian's pydicom (2.3) with its numpy, RLE and Pillow handlers. Where that pydicom
 * cannot decode a file (JPEG Lossless and JPEG-LS need plugins Debian does not ship) the reference
 * is a sibling file in the corpus holding the same image uncompressed (or lossless in another
 * syntax), which pydicom decodes. For YCbCr JPEG, pydicom 2.3 returns the raw YCbCr samples; the
 * reference is then Pillow's own RGB decode of the same frame — the library pydicom uses, and what
 * pydicom ≥ 3 returns by default.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { isDicom, readDicom, readDicomHeader, type DicomImage, type DicomMeta } from '../src/data/dicom/read.js';
import { toHu16 } from '../src/data/dicom/hu.js';
import { fixRsnaIntercept } from '../src/data/dicom/rsna-fix.js';
import { readSlice } from '../src/data/slices.js';
import { pydicomCorpus } from './helpers/corpus.js';
import { python, runPython } from './helpers/oracle.js';
import { tempDir } from './helpers/temp-dir.js';

const corpus = pydicomCorpus();
const skipAll = corpus ? false : `pydicom (Debian's python3-pydicom, with its test corpus) is not importable by ${python}`;
const work = tempDir('ichnet-dicom-');
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * The oracle: for each case, the first frame as pydicom decodes it, as float64 — grey images
 * through `apply_modality_lut` (slope · stored + intercept), colour images as RGB — and the header
 * fields pydicom reads. `mode`: `pydicom` (pixel_array; YBR_FULL(_422) native/RLE data converted
 * with pydicom's convert_color_space, as pydicom ≥ 3 does by default), `pillow-rgb` (Pillow's RGB
 * decode of the JPEG frame) or `unused-bits` (pixel_array with the bits above BitsStored ignored,
 * as pydicom ≥ 3's default `correct_unused_bits` does).
 */
const ORACLE = `
import json, sys, io, warnings
import numpy as np
import pydicom
from pydicom.encaps import generate_pixel_data_frame
from pydicom.pixel_data_handlers.util import apply_modality_lut, convert_color_space
warnings.simplefilter('ignore')
cases, out = json.loads(sys.argv[1]), sys.argv[2]

def num(v):
    return None if v is None or v == '' else float(v)

def nums(v):
    if v is None or v == '':
        return None
    return [float(x) for x in v] if isinstance(v, pydicom.multival.MultiValue) else [float(v)]

result = {}
for case in cases:
    ds = pydicom.dcmread(case['ref'])
    frames = int(ds.get('NumberOfFrames', 1) or 1)
    spp = int(ds.SamplesPerPixel)
    note = ''
    if case['mode'] == 'pillow-rgb':
        from PIL import Image
        frame = next(generate_pixel_data_frame(ds.PixelData, frames))
        im = Image.open(io.BytesIO(frame))
        assert im.mode == 'RGB', im.mode
        arr = np.asarray(im).astype(np.float64)
        note = 'Pillow ' + Image.__version__ + ' RGB decode'
    else:
        arr = ds.pixel_array
        if frames > 1:
            arr = arr[0]
        if case['mode'] == 'unused-bits':
            shift = ds.BitsAllocated - ds.BitsStored
            wide = arr.astype(np.int64) & ((1 << ds.BitsStored) - 1)
            if ds.PixelRepresentation == 1:
                wide = np.where(wide >= (1 << (ds.BitsStored - 1)), wide - (1 << ds.BitsStored), wide)
            arr = wide
        if spp == 1:
            arr = apply_modality_lut(arr, ds).astype(np.float64)
        else:
            # pydicom 2.3 returns native and RLE YBR data as stored (422 already expanded)
            jpeg_family = str(ds.file_meta.TransferSyntaxUID).startswith('1.2.840.10008.1.2.4.')
            if ds.PhotometricInterpretation in ('YBR_FULL', 'YBR_FULL_422') and not jpeg_family:
                arr = convert_color_space(arr, 'YBR_FULL', 'RGB')
                note = 'pydicom convert_color_space YBR_FULL -> RGB'
            arr = arr.astype(np.float64)
    np.ascontiguousarray(arr, dtype='<f8').tofile(out + '/' + case['id'] + '.f64')
    fm = ds.file_meta
    result[case['id']] = dict(
        note=note, pydicom=pydicom.__version__,
        transferSyntaxUid=str(fm.TransferSyntaxUID), transferSyntaxName=fm.TransferSyntaxUID.name, rows=int(ds.Rows), columns=int(ds.Columns),
        samplesPerPixel=spp, photometricInterpretation=str(ds.PhotometricInterpretation),
        bitsAllocated=int(ds.BitsAllocated), bitsStored=int(ds.BitsStored), highBit=int(ds.HighBit),
        pixelRepresentation=int(ds.PixelRepresentation),
        rescaleSlope=num(ds.get('RescaleSlope')) if 'RescaleSlope' in ds else 1.0,
        rescaleIntercept=num(ds.get('RescaleIntercept')) if 'RescaleIntercept' in ds else 0.0,
        windowCenter=nums(ds.get('WindowCenter')), windowWidth=nums(ds.get('WindowWidth')),
        numberOfFrames=frames,
        modality=ds.get('Modality') or None, patientId=ds.get('PatientID') or None,
        studyInstanceUid=ds.get('StudyInstanceUID') or None, seriesInstanceUid=ds.get('SeriesInstanceUID') or None,
        sopInstanceUid=ds.get('SOPInstanceUID') or None,
        instanceNumber=num(ds.get('InstanceNumber')),
        imagePositionPatient=nums(ds.get('ImagePositionPatient')),
        imageOrientationPatient=nums(ds.get('ImageOrientationPatient')),
        pixelSpacing=nums(ds.get('PixelSpacing')), sliceThickness=num(ds.get('SliceThickness')),
    )
print(json.dumps(result))
`;

type Mode = 'pydicom' | 'pillow-rgb' | 'unused-bits';
interface Case {
  /** File read by readDicom (relative to the corpus, or absolute). */
  file: string;
  /** What it exercises. */
  what: string;
  mode: Mode;
  /** Reference file for the oracle, when not `file` itself (a decompressed sibling). */
  ref?: string;
  /** Allowed |ours − reference|: 0 unless slopes are fractional or values exceed float32's 2^24. */
  tolerance?: number;
}
type Reference = DicomMeta & { note: string; pydicom: string } & Record<string, unknown>;

const CASES: Case[] = [
  { file: 'CT_small.dcm', what: 'CT in HU, signed 16-bit, explicit VR LE', mode: 'pydicom' },
  { file: 'MR_small.dcm', what: 'MR, explicit VR LE', mode: 'pydicom' },
  { file: 'MR_small_bigendian.dcm', what: 'explicit VR big endian', mode: 'pydicom' },
  { file: 'MR_small_expb.dcm', what: 'explicit VR big endian (2)', mode: 'pydicom' },
  { file: 'MR_small_implicit.dcm', what: 'implicit VR LE', mode: 'pydicom' },
  { file: 'MR_small_padded.dcm', what: 'excess padding after pixel data', mode: 'pydicom' },
  { file: 'MR_small_RLE.dcm', what: 'RLE lossless, 16-bit', mode: 'pydicom' },
  { file: 'MR_small_jp2klossless.dcm', what: 'JPEG 2000 lossless', mode: 'pydicom' },
  { file: 'JPEG2000.dcm', what: 'JPEG 2000 lossy (NM, signed)', mode: 'pydicom' },
  { file: '693_J2KI.dcm', what: 'JPEG 2000 lossy CT, signed, BitsStored 14', mode: 'pydicom' },
  { file: 'J2K_pixelrep_mismatch.dcm', what: 'JPEG 2000 unsigned codestream, PixelRepresentation 1 (sign fix)', mode: 'pydicom' },
  { file: 'SC_rgb_gdcm_KY.dcm', what: 'JPEG 2000 lossy RGB (GDCM)', mode: 'pydicom' },
  { file: 'MR_small_jpeg_ls_lossless.dcm', what: 'JPEG-LS lossless', mode: 'pydicom', ref: 'MR_small.dcm' },
  { file: 'SC_rgb_jpeg_gdcm.dcm', what: 'JPEG lossless SV1, RGB (GDCM)', mode: 'pydicom', ref: 'SC_rgb_rle.dcm' },
  { file: 'SC_rgb_dcmtk_+eb+cr.dcm', what: 'JPEG baseline, RGB (DCMTK)', mode: 'pydicom' },
  { file: 'SC_rgb_jpeg_lossy_gdcm.dcm', what: 'JPEG baseline, RGB (GDCM)', mode: 'pydicom' },
  { file: 'SC_jpeg_no_color_transform.dcm', what: 'JPEG baseline, RGB, no colour transform', mode: 'pydicom' },
  { file: 'SC_rgb_jpeg_app14_dcmd.dcm', what: 'JPEG baseline, RGB, Adobe APP14', mode: 'pydicom' },
  { file: 'SC_rgb_jpeg_dcmtk.dcm', what: 'JPEG baseline, YBR_FULL (DCMTK)', mode: 'pillow-rgb' },
  { file: 'SC_rgb_dcmtk_+eb+cy+np.dcm', what: 'JPEG baseline, YBR_FULL_422 subsampled', mode: 'pillow-rgb' },
  { file: 'SC_rgb_dcmtk_+eb+cy+s2.dcm', what: 'JPEG baseline, YBR_FULL_422 (s2)', mode: 'pillow-rgb' },
  { file: 'SC_rgb_small_odd_jpeg.dcm', what: 'JPEG baseline, YBR_FULL, 3×3', mode: 'pillow-rgb' },
  { file: 'image_dfl.dcm', what: 'deflated explicit VR LE, 8-bit grey', mode: 'pydicom' },
  { file: 'SC_rgb_small_odd.dcm', what: '8-bit RGB, odd size', mode: 'pydicom' },
  { file: 'ExplVR_BigEnd.dcm', what: '8-bit RGB, big endian, planar', mode: 'pydicom' },
  { file: 'SC_rgb_jpeg_dcmd.dcm', what: '8-bit RGB, implicit VR', mode: 'pydicom' },
  { file: 'SC_ybr_full_422_uncompressed.dcm', what: 'native YBR_FULL_422 → RGB', mode: 'pydicom' },
  { file: 'SC_rgb_rle.dcm', what: 'RLE, 8-bit RGB', mode: 'pydicom' },
  { file: 'SC_rgb_rle_2frame.dcm', what: 'RLE, 8-bit RGB, 2 frames (first)', mode: 'pydicom' },
  { file: 'SC_rgb_rle_16bit.dcm', what: 'RLE, 16-bit RGB', mode: 'pydicom' },
  { file: 'SC_rgb_rle_32bit.dcm', what: 'RLE, 32-bit RGB (float32 rounds above 2^24)', mode: 'pydicom', tolerance: 256 },
  { file: 'rtdose.dcm', what: '32-bit unsigned, implicit VR, 15 frames (first)', mode: 'pydicom' },
  { file: 'rtdose_expb.dcm', what: '32-bit unsigned, big endian, 15 frames', mode: 'pydicom' },
  { file: 'rtdose_rle.dcm', what: 'RLE, 32-bit, 15 frames', mode: 'pydicom' },
  { file: 'liver_1frame.dcm', what: '1-bit (SEG)', mode: 'pydicom' },
  { file: 'liver_expb_1frame.dcm', what: '1-bit (SEG), big endian', mode: 'pydicom' },
  { file: 'dicomdirtests/77654033/CR1/6154', what: 'BitsStored 12 unsigned, slope 0.684', mode: 'pydicom', tolerance: 1e-3 },
  { file: 'dicomdirtests/77654033/CT2/17106', what: 'CT, signed 16-bit', mode: 'pydicom' },
];

// Derived files, written into `work` by DERIVE below from corpus files: the same pixels through
// other syntaxes and edge cases that the corpus lacks. Their reference is pydicom on the source.
const DERIVED: Case[] = [
  { file: 'ct14.dcm', what: 'CT stored −2971…2836 (693_J2KI decompressed), BitsStored 14', mode: 'pydicom' },
  { file: 'ct14-rle.dcm', what: 'RLE, negative signed values', mode: 'pydicom', ref: 'ct14.dcm' },
  { file: 'ct14-jpeg-ll.dcm', what: 'JPEG lossless SV1, signed 14-bit', mode: 'pydicom', ref: 'ct14.dcm' },
  { file: 'ct14-jpeg-ls.dcm', what: 'JPEG-LS lossless, signed 14-bit', mode: 'pydicom', ref: 'ct14.dcm' },
  { file: 'ct14-j2k.dcm', what: 'JPEG 2000 lossless, signed 14-bit', mode: 'pydicom', ref: 'ct14.dcm' },
  { file: 'ct14-p7.dcm', what: 'JPEG lossless process 14, predictor 7, signed 14-bit', mode: 'pydicom', ref: 'ct14.dcm' },
  { file: 'ct14-jpeg-ls-near.dcm', what: 'JPEG-LS near-lossless (NEAR 3), signed 14-bit', mode: 'pydicom', ref: 'ct14.dcm', tolerance: 3 },
  { file: 'grey8.dcm', what: '8-bit grey, explicit VR LE (image_dfl inflated)', mode: 'pydicom' },
  { file: 'grey8-jpeg.dcm', what: 'JPEG baseline, 8-bit grey (pydicom decodes it with Pillow)', mode: 'pydicom' },
  { file: 'cr12-jpeg-ll.dcm', what: 'JPEG lossless SV1, unsigned 12-bit, slope 0.684', mode: 'pydicom', ref: 'cr12.dcm', tolerance: 1e-3 },
  { file: 'cr12-jpeg-ls.dcm', what: 'JPEG-LS lossless, unsigned 12-bit', mode: 'pydicom', ref: 'cr12.dcm', tolerance: 1e-3 },
  { file: 'dirty12u.dcm', what: 'BitsStored 12 unsigned, garbage in bits 12–15 (masked)', mode: 'unused-bits' },
  { file: 'dirty12s.dcm', what: 'BitsStored 12 signed, garbage in bits 12–15 (sign-extended)', mode: 'unused-bits' },
];

/** Writes the derived files: uncompressed ones with pydicom, compressed ones with dcmjs-codecs. */
const DERIVE = `
import sys, warnings, numpy as np, pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian
warnings.simplefilter('ignore')
out, corpus = sys.argv[1], sys.argv[2]
ds = pydicom.dcmread(get_testdata_file('693_J2KI.dcm'))
ds.decompress()
ds.save_as(out + '/ct14.dcm')
open(out + '/ct14.raw', 'wb').write(ds.PixelData)
grey = pydicom.dcmread(get_testdata_file('image_dfl.dcm'))
grey.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
grey.save_as(out + '/grey8.dcm', write_like_original=False)
cr = pydicom.dcmread(corpus + '/dicomdirtests/77654033/CR1/6154')
cr.save_as(out + '/cr12.dcm')
rng = np.random.default_rng(0)
for name, rep in (('dirty12u', 0), ('dirty12s', 1)):
    d = pydicom.dcmread(get_testdata_file('CT_small.dcm'))
    arr = d.pixel_array.astype(np.int64)
    if rep == 1:
        arr = arr - 1100  # negative values too
    arr = (arr & 0xFFF) | (rng.integers(0, 16, arr.shape) << 12)
    d.PixelRepresentation = rep
    d.BitsStored, d.HighBit = 12, 11
    d.PixelData = arr.astype('<u2').tobytes()
    d.save_as(out + '/' + name + '.dcm')
`;

/** Wraps a JPEG codestream as the Pixel Data of ct14.dcm under JPEG Lossless process 14 (.57). */
const WRAP_57 = `
import sys, pydicom
from pydicom.encaps import encapsulate
ds = pydicom.dcmread(sys.argv[1] + '/ct14.dcm')
ds.file_meta.TransferSyntaxUID = '1.2.840.10008.1.2.4.57'
ds.PixelData = encapsulate([open(sys.argv[1] + '/ct14-p7.jpg', 'rb').read()])
ds['PixelData'].VR = 'OB'
ds.is_little_endian, ds.is_implicit_VR = True, False
ds.save_as(sys.argv[1] + '/ct14-p7.dcm')
`;

/** Encodes ct14.raw as lossless JPEG with predictor 7 (dcmjs-codecs' libjpeg) for WRAP_57. */
async function encodePredictor7(): Promise<void> {
  const { Context, NativeCodecs } = ((await import('dcmjs-codecs')) as unknown as { default: typeof import('dcmjs-codecs') }).default;
  if (!NativeCodecs.isInitialized()) await NativeCodecs.initializeAsync();
  const context = new Context({
    width: 512,
    height: 512,
    bitsAllocated: 16,
    bitsStored: 14,
    samplesPerPixel: 1,
    pixelRepresentation: 1,
    planarConfiguration: 0,
    photometricInterpretation: 'MONOCHROME2',
    decodedBuffer: new Uint8Array(readFileSync(join(work, 'ct14.raw'))),
  });
  const encoded = NativeCodecs.encodeJpeg(context, { lossy: false, predictor: 7, pointTransform: 0 }).getEncodedBuffer();
  assert.ok(encoded);
  // The scan header's Ss byte is the predictor: make sure the encoder honoured it.
  const sos = Buffer.from(encoded).indexOf(Buffer.from([0xff, 0xda]));
  assert.equal(encoded[sos + 5 + 2 * (encoded[sos + 4] ?? 0)], 7, 'predictor in SOS');
  writeFileSync(join(work, 'ct14-p7.jpg'), encoded);
  runPython(WRAP_57, [work]);
}

/** Transcodes `source` (in `work`) to `syntax` with dcmjs-codecs' encoders. */
async function transcode(source: string, target: string, syntax: string, options: Record<string, unknown> = {}): Promise<void> {
  const mod = (await import('dcmjs-codecs')) as unknown as { default: typeof import('dcmjs-codecs') };
  const { NativeCodecs, Transcoder } = mod.default;
  if (!NativeCodecs.isInitialized()) await NativeCodecs.initializeAsync();
  quietDcmjs();
  const bytes = readFileSync(join(work, source));
  const transcoder = new Transcoder(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  transcoder.transcode(syntax, options);
  writeFileSync(join(work, target), Buffer.from(transcoder.getDicomPart10()));
}

/** Silences the validation log of the dcmjs copy dcmjs-codecs' Transcoder writes files with. */
function quietDcmjs(): void {
  try {
    const dcmjs = createRequire(createRequire(import.meta.url).resolve('dcmjs-codecs'))('dcmjs') as {
      log?: { getLogger?: (name: string) => { setLevel: (level: string) => void } };
    };
    dcmjs.log?.getLogger?.('validation.dcmjs').setLevel('silent');
  } catch {
    // only noise is at stake
  }
}

const resolvePath = (file: string): string => (file.startsWith('/') ? file : join(corpus ?? '', file));
const stats: string[] = [];
after(() => {
  if (stats.length > 0) console.log(`pixel parity (max |ours − reference|):\n${stats.join('\n')}`);
});

/** Runs the oracle for `cases` and checks readDicom against it, file by file. */
function parity(title: string, cases: Case[], base: () => string, prepare?: () => Promise<void>): void {
  describe(title, { skip: skipAll }, () => {
    let reference: Record<string, Reference> = {};
    const out = mkdtempSync(join(work, 'oracle-'));
    // Corpus files another pydicom release may not ship are skipped, saying so; derived files are
    // written by `prepare`.
    const missing = (c: Case): boolean =>
      !prepare && [c.file, c.ref ?? c.file].some((f) => !existsSync(join(base(), f)));
    before(async () => {
      await prepare?.();
      const spec = cases
        .map((c, i) => ({ id: String(i), ref: join(base(), c.ref ?? c.file), mode: c.mode, c }))
        .filter(({ c }) => !missing(c))
        .map(({ c: _c, ...rest }) => rest);
      reference = JSON.parse(runPython(ORACLE, [JSON.stringify(spec), out])) as Record<string, Reference>;
    });
    cases.forEach((c, i) => {
      const skip = skipAll ? false : missing(c) ? `${c.ref ?? c.file} is not in this pydicom test corpus` : false;
      it(`${c.file}: ${c.what}`, { skip }, async () => {
        const ref = reference[String(i)];
        assert.ok(ref, 'oracle result');
        const image = await readDicom(join(base(), c.file));
        const raw = readFileSync(join(out, `${i}.f64`));
        const expected = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
        assert.equal(image.pixels.length, expected.length, 'pixel count');
        assert.equal(image.rows, ref.rows);
        assert.equal(image.columns, ref.columns);
        let maxDiff = 0;
        for (let k = 0; k < expected.length; k++) maxDiff = Math.max(maxDiff, Math.abs((image.pixels[k] ?? NaN) - (expected[k] ?? NaN)));
        const syntax = `${image.meta.transferSyntaxUid} ${image.meta.transferSyntaxName}`;
        stats.push(`  ${c.file.padEnd(36)} ${syntax.padEnd(60).slice(0, 60)} ${String(maxDiff).padStart(8)}${ref.note ? `  [${ref.note}]` : ''}${c.ref ? `  [vs ${c.ref}]` : ''}`);
        assert.ok(maxDiff <= (c.tolerance ?? 0), `max |diff| ${maxDiff} > ${c.tolerance ?? 0}`);
        if (!c.ref) checkHeader(image, ref);
        if (image.meta.samplesPerPixel === 1) {
          // The loader's int16 HU (hu.ts: one integer pass when slope and intercept are integral)
          // are readDicom's values rounded, with and without the RSNA fix.
          for (const rsnaFix of [false, true]) {
            const slice = await readSlice(join(base(), c.file), { rsnaFix });
            assert.deepEqual(slice.data, toHu16((rsnaFix ? fixRsnaIntercept(image) : image).pixels), `HU, rsnaFix ${rsnaFix}`);
          }
        }
      });
    });
  });
}

/** Every header field equals pydicom's (absent ↔ null). */
function checkHeader(image: DicomImage, ref: Reference): void {
  const meta = image.meta as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(ref)) {
    if (key === 'note' || key === 'pydicom') continue;
    assert.deepEqual(meta[key] ?? null, value, key);
  }
}

parity('readDicom: pixel and header parity with pydicom on its test corpus', CASES, () => corpus ?? '');
parity('readDicom: parity on derived files (other syntaxes, negative values, unused bits)', DERIVED, () => work, async () => {
  runPython(DERIVE, [work, corpus ?? '']);
  const { constants } = ((await import('dcmjs-codecs')) as unknown as { default: typeof import('dcmjs-codecs') }).default;
  const ts = constants.TransferSyntax;
  await transcode('ct14.dcm', 'ct14-rle.dcm', ts.RleLossless);
  await transcode('ct14.dcm', 'ct14-jpeg-ll.dcm', ts.JpegLosslessProcess14V1);
  await transcode('ct14.dcm', 'ct14-jpeg-ls.dcm', ts.JpegLsLossless);
  await transcode('ct14.dcm', 'ct14-j2k.dcm', ts.Jpeg2000Lossless);
  await transcode('ct14.dcm', 'ct14-jpeg-ls-near.dcm', ts.JpegLsLossy, { allowedLossyError: 3 });
  await encodePredictor7();
  await transcode('grey8.dcm', 'grey8-jpeg.dcm', ts.JpegBaselineProcess1, { quality: 80 });
  await transcode('cr12.dcm', 'cr12-jpeg-ll.dcm', ts.JpegLosslessProcess14V1);
  await transcode('cr12.dcm', 'cr12-jpeg-ls.dcm', ts.JpegLsLossless);
});

describe('readDicomHeader', { skip: skipAll }, () => {
  it('equals the header readDicom returns', async () => {
    for (const file of ['CT_small.dcm', 'MR_small_bigendian.dcm', 'MR_small_implicit.dcm', 'JPEG2000.dcm', 'image_dfl.dcm']) {
      const path = resolvePath(file);
      assert.deepEqual(await readDicomHeader(path), (await readDicom(path)).meta, file);
    }
  });

  it('needs no pixel data: reads a file cut right after the Pixel Data element header', async () => {
    const bytes = readFileSync(resolvePath('CT_small.dcm'));
    const at = bytes.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57])); // (7FE0,0010) OW, little endian
    assert.ok(at > 0);
    const cut = join(work, 'ct-header-only.dcm');
    writeFileSync(cut, bytes.subarray(0, at + 12));
    const meta = await readDicomHeader(cut);
    assert.equal(meta.sopInstanceUid, (await readDicomHeader(resolvePath('CT_small.dcm'))).sopInstanceUid);
    await assert.rejects(readDicom(cut), (e: Error) => e.message.startsWith(`${cut}: `) && /truncated/.test(e.message));
  });

  it('parses multi-valued Window Center / Width', async () => {
    const path = join(work, 'window.dcm');
    runPython(
      `import sys, pydicom
from pydicom.data import get_testdata_file
ds = pydicom.dcmread(get_testdata_file('CT_small.dcm'))
ds.WindowCenter = ['40', '50']
ds.WindowWidth = ['80', '200.5']
ds.save_as(sys.argv[1])`,
      [path],
    );
    const meta = await readDicomHeader(path);
    assert.deepEqual(meta.windowCenter, [40, 50]);
    assert.deepEqual(meta.windowWidth, [80, 200.5]);
  });
});

describe('readDicom errors name the file and the problem', { skip: skipAll }, () => {
  const unsupported = [
    ['1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile / Main Level'],
    ['1.2.840.10008.1.2.4.110', 'JPEG XL Lossless'],
    ['1.2.840.10008.1.2.4.201', 'High-Throughput JPEG 2000 Image Compression (Lossless Only)'],
  ] as const;
  for (const [uid, name] of unsupported) {
    it(`unsupported transfer syntax ${uid}`, async () => {
      const path = join(work, `ts-${uid}.dcm`);
      runPython(
        `import sys, pydicom
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate
ds = pydicom.dcmread(get_testdata_file('MR_small.dcm'))
mpeg2 = '1.2.840.10008.1.2.4.100'
assert len(sys.argv[2]) == len(mpeg2)
ds.file_meta.TransferSyntaxUID = mpeg2
ds.PixelData = encapsulate([b'\\x00\\x00\\x01\\xb3' + bytes(60)])
ds['PixelData'].VR = 'OB'
ds.is_little_endian, ds.is_implicit_VR = True, False
ds.save_as(sys.argv[1])
# pydicom 2.3 does not know the newer UIDs: patch the file meta (same length)
data = open(sys.argv[1], 'rb').read().replace(mpeg2.encode(), sys.argv[2].encode(), 1)
open(sys.argv[1], 'wb').write(data)`,
        [path, uid],
      );
      await assert.rejects(readDicom(path), { message: `${path}: unsupported transfer syntax ${uid} (${name})` });
      const meta = await readDicomHeader(path); // the header still reads
      assert.equal(meta.transferSyntaxName, name);
    });
  }

  it('non-DICOM files', async () => {
    const png = join(work, 'not.dcm');
    writeFileSync(png, Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(300)]));
    const tiny = join(work, 'tiny.dcm');
    writeFileSync(tiny, 'hello');
    for (const path of [png, tiny]) {
      for (const read of [readDicom, readDicomHeader]) {
        await assert.rejects(read(path), (e: Error) => e instanceof Error && e.message.startsWith(`${path}: not a DICOM Part-10 file`));
      }
    }
    const missing = join(work, 'missing.dcm');
    await assert.rejects(readDicom(missing), (e: Error) => e.message.startsWith(`${missing}: cannot read file`));
    await assert.rejects(readDicomHeader(missing), (e: Error) => e.message.startsWith(`${missing}: cannot read file`));
  });

  it('truncated files', async () => {
    const source = readFileSync(resolvePath('CT_small.dcm'));
    const cases = [
      ['in the header, inside an element', 1000, true],
      ['in the header, between two elements', 400, true],
      ['in the pixel data', source.length - 5000, false],
    ] as const;
    for (const [where, length, headerFails] of cases) {
      const path = join(work, `cut-${length}.dcm`);
      writeFileSync(path, source.subarray(0, length));
      await assert.rejects(readDicom(path), (e: Error) => e.message.startsWith(`${path}: `) && /truncated/.test(e.message), where);
      if (headerFails) await assert.rejects(readDicomHeader(path), (e: Error) => e.message.startsWith(`${path}: `), where);
      else assert.equal((await readDicomHeader(path)).rows, 128, where);
    }
    // pydicom's own truncated sample and a compressed file cut mid-fragment.
    const mrTruncated = resolvePath('MR_truncated.dcm');
    await assert.rejects(readDicom(mrTruncated), (e: Error) => e.message.startsWith(`${mrTruncated}: `) && /truncated/.test(e.message));
    const j2k = readFileSync(resolvePath('MR_small_jp2klossless.dcm'));
    const cutJ2k = join(work, 'cut-j2k.dcm');
    writeFileSync(cutJ2k, j2k.subarray(0, j2k.length - 2000));
    await assert.rejects(readDicom(cutJ2k), (e: Error) => e.message.startsWith(`${cutJ2k}: `));
  });

  it('files without an image', async () => {
    const path = resolvePath('rtplan.dcm');
    await assert.rejects(readDicom(path), {
      message: `${path}: no Rows (0028,0010), Columns (0028,0011), Bits Allocated (0028,0100) and no Pixel Data (7FE0,0010): not an image, or a truncated file`,
    });
  });
});

describe('isDicom', () => {
  const withPrefix = (prefix: string, length = 132): Uint8Array => {
    const bytes = new Uint8Array(length);
    bytes.set(Buffer.from(prefix, 'latin1'), 128);
    return bytes;
  };
  it('is true for DICM at byte 128', () => {
    assert.equal(isDicom(withPrefix('DICM')), true);
    assert.equal(isDicom(withPrefix('DICM', 4096)), true);
    if (corpus) assert.equal(isDicom(readFileSync(resolvePath('CT_small.dcm'))), true);
  });
  it('is false otherwise', () => {
    assert.equal(isDicom(new Uint8Array(0)), false);
    assert.equal(isDicom(withPrefix('DICM').subarray(0, 131)), false);
    assert.equal(isDicom(withPrefix('DICO')), false);
    assert.equal(isDicom(withPrefix('dicm')), false);
    assert.equal(isDicom(Buffer.concat([Buffer.from('DICM'), Buffer.alloc(200)])), false);
    assert.equal(isDicom(Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(200)])), false);
  });
});

describe('fixRsnaIntercept', () => {
  const meta = (over: Partial<DicomMeta>): DicomMeta => ({
    transferSyntaxUid: '1.2.840.10008.1.2',
    transferSyntaxName: 'Implicit VR Little Endian',
    rows: 1,
    columns: 5,
    samplesPerPixel: 1,
    photometricInterpretation: 'MONOCHROME2',
    bitsAllocated: 16,
    bitsStored: 12,
    highBit: 11,
    pixelRepresentation: 0,
    rescaleSlope: 1,
    rescaleIntercept: 1,
    numberOfFrames: 1,
    ...over,
  });
  const image = (stored: number[], over: Partial<DicomMeta> = {}): DicomImage => {
    const m = meta(over);
    return { rows: 1, columns: stored.length, meta: m, pixels: Float32Array.from(stored, (s) => s * m.rescaleSlope + m.rescaleIntercept) };
  };

  it('adds 1000 to stored values, wraps those ≥ 4096, and sets the intercept to −1000', () => {
    // Stored 0 (air in the broken files' encoding), 24 (≈ water after the shift), 3095, 3096, 4095.
    const fixed = fixRsnaIntercept(image([0, 24, 3095, 3096, 4095]));
    assert.deepEqual(Array.from(fixed.pixels), [0, 24, 3095, -1000, -1]);
    assert.equal(fixed.meta.rescaleIntercept, -1000);
  });

  it('applies when the intercept truncates to more than −100 (int() as in the public fix)', () => {
    const fixed = fixRsnaIntercept(image([100], { rescaleIntercept: -99.9 }));
    assert.deepEqual(Array.from(fixed.pixels), [100]);
    assert.equal(fixed.meta.rescaleIntercept, -1000);
  });

  it('leaves other images alone (same object)', () => {
    for (const over of [
      { rescaleIntercept: -1024 },
      { rescaleIntercept: -100 },
      { bitsStored: 16 },
      { pixelRepresentation: 1 as const },
    ]) {
      const img = image([0, 1, 2], over);
      assert.equal(fixRsnaIntercept(img), img, JSON.stringify(over));
    }
  });
});

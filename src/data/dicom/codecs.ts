/**
 * Frame decoders for compressed transfer syntaxes, through `dcmjs-codecs`' WebAssembly build of
 * maintained codec libraries: IJG libjpeg 6b (8-, 12- and 16-bit: baseline, extended and lossless
 * JPEG), CharLS 2.3 (JPEG-LS), OpenJPEG 2.5 (JPEG 2000) and its own DICOM RLE decoder.
 *
 * The module (~4 MB of WebAssembly, plus `dcmjs`) is imported and instantiated lazily, on the first
 * compressed frame, so header reads and uncompressed files never pay for it.
 */
import type { PixelCodec } from './transfer-syntax.js';
import { IchnetError } from '../../errors/ichnet-error.js';

/** The image pixel description a decoder needs (group 0028 of the dataset). */
export interface FrameGeometry {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  samplesPerPixel: number;
  pixelRepresentation: 0 | 1;
  planarConfiguration: 0 | 1;
  photometricInterpretation: string;
}

/** A decoded frame: little endian samples of `bitsAllocated` bits. */
export interface DecodedFrame {
  data: Uint8Array;
  /** Layout of `data` for multi-sample images (the decoder may interleave planar input). */
  planarConfiguration: 0 | 1;
}

type CodecsModule = typeof import('dcmjs-codecs');

let loading: Promise<CodecsModule> | undefined;

/** Imports dcmjs-codecs once per process and instantiates its WebAssembly when none is live. */
async function codecs(): Promise<CodecsModule> {
  for (;;) {
    if (!loading) {
      const attempt = (async () => {
        const imported = await import('dcmjs-codecs');
        // dcmjs-codecs is a CommonJS bundle: its exports arrive as the default export under ESM.
        const mod = ((imported as { default?: CodecsModule }).default ?? imported) as CodecsModule;
        // Its own logger (not a global one) echoes codec stderr; failures still throw.
        mod.log.setLevel('silent');
        if (!mod.NativeCodecs.isInitialized()) await mod.NativeCodecs.initializeAsync();
        return mod;
      })();
      loading = attempt;
      // A failed load is not cached: the next call tries again and reports its own error.
      attempt.catch(() => {
        if (loading === attempt) loading = undefined;
      });
    }
    const current = loading;
    const mod = await current;
    if (mod.NativeCodecs.isInitialized()) return mod;
    // Released after a failed decode (below) while this call waited: instantiate a fresh one.
    if (loading === current) loading = undefined;
  }
}

/**
 * Drops the WebAssembly instance after a failed decode. The codecs free their buffers only on
 * success, and a decoder that threw may leave its heap inconsistent: after a handful of failures
 * every later decode — of any codec — traps ("unreachable"). A fresh instance per failure keeps
 * each decode independent of earlier ones; failures are rare, so the re-instantiation is cheap.
 */
function discardInstance(mod: CodecsModule): void {
  mod.NativeCodecs.release();
  loading = undefined;
}

/**
 * Decodes one encapsulated frame.
 *
 * @param codec - Which decoder: `rle`, `jpeg`, `jpeg-ls` or `jpeg-2000`.
 * @param encoded - The frame's bytes (all its fragments concatenated).
 * @param geometry - Rows, columns, bits and photometric interpretation from the dataset.
 * @param convertToRgb - JPEG only: let libjpeg convert YCbCr to RGB (as Pillow does).
 * @throws IchnetError DATA_UNREADABLE with the decoder's message; the caller adds the file name.
 */
export async function decodeFrame(
  codec: Exclude<PixelCodec, 'native-le' | 'native-be' | 'deflate'>,
  encoded: Uint8Array,
  geometry: FrameGeometry,
  convertToRgb: boolean,
): Promise<DecodedFrame> {
  const mod = await codecs();
  const { Context, NativeCodecs } = mod;
  const context = new Context({
    width: geometry.columns,
    height: geometry.rows,
    bitsAllocated: geometry.bitsAllocated,
    bitsStored: geometry.bitsStored,
    samplesPerPixel: geometry.samplesPerPixel,
    pixelRepresentation: geometry.pixelRepresentation,
    planarConfiguration: geometry.planarConfiguration,
    photometricInterpretation: geometry.photometricInterpretation,
    encodedBuffer: encoded,
  });
  let out;
  try {
    switch (codec) {
      case 'rle':
        out = NativeCodecs.decodeRle(context);
        break;
      case 'jpeg':
        out = NativeCodecs.decodeJpeg(context, { convertColorspaceToRgb: convertToRgb });
        break;
      case 'jpeg-ls':
        out = NativeCodecs.decodeJpegLs(context);
        break;
      case 'jpeg-2000':
        out = NativeCodecs.decodeJpeg2000(context);
        break;
    }
  } catch (e) {
    discardInstance(mod);
    // The WebAssembly layer throws strings as well as Errors.
    throw new IchnetError('DATA_UNREADABLE', (e instanceof Error ? e.message : String(e)).trim());
  }
  const data = out.getDecodedBuffer();
  if (!data || data.length === 0) throw new IchnetError('DATA_UNREADABLE', 'the decoder returned no pixels');
  return { data, planarConfiguration: out.getPlanarConfiguration() === 1 ? 1 : 0 };
}

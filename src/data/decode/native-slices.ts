/**
 * The loader's common case — uncompressed grey single-frame DICOM slices of the batch's size —
 * decoded by the addon's own threads (native/binding/slice_decoder.cc) straight into the batch's
 * memory: no JavaScript isolate runs for them, so the cores go to decoding rather than to each
 * isolate's garbage collection, compilation and messages. The addon declines every slice it does not
 * read exactly as `readSlice` would (compressed or big-endian syntaxes, several frames, colour,
 * non-integral rescale, malformed or unreadable files): the pool decodes those on its worker
 * threads, which give their values or their errors.
 */
import { callNative, callNativeSync, type NativeSliceDecoder } from '../../session/binding.js';
import type { DecodeTarget, PixelShape, SliceJob } from './protocol.js';

/** Numbers per slice in the addon's answer: status, rows, columns, microseconds. */
const STRIDE = 4;
const WRITTEN = 1;
const PARSED = 2;

/** What the native threads did with a call's slices. */
export interface NativeResult {
  /** Per job: written into the target at its offset. */
  placed: boolean[];
  /** Milliseconds the threads spent on the call's slices, summed. */
  busyMs: number;
}

export class NativeSlices {
  private readonly decoder: NativeSliceDecoder;

  /** @param threads - Decode threads (≥ 1). */
  constructor(threads: number) {
    this.decoder = callNativeSync((addon) => new addon.SliceDecoder(threads));
  }

  /** Whether slices of `target` can be decoded here: int16 HU, one channel. */
  static serves(target: DecodeTarget | undefined): target is DecodeTarget {
    return target !== undefined && target.shape.kind === 'hu' && target.shape.channels === 1;
  }

  /** Decodes the jobs (each with an offset) into `target`; the slices not placed are the caller's. */
  async place(jobs: SliceJob[], target: DecodeTarget): Promise<NativeResult> {
    const { width, height } = target.shape;
    const offsets = Float64Array.from(jobs, (j) => j.offset ?? 0);
    const images = new Int16Array(target.buffer);
    const out = await this.call(jobs, images, offsets, height, width);
    return { placed: jobs.map((_, k) => out[k * STRIDE] === WRITTEN), busyMs: busyMs(out, jobs.length) };
  }

  /** The shape a slice decodes to when the native threads can read it (a common-case DICOM), else undefined. */
  async shapeOf(job: SliceJob): Promise<PixelShape | undefined> {
    const out = await this.call([job], undefined, new Float64Array(1), 0, 0);
    return out[0] === PARSED ? { kind: 'hu', channels: 1, width: out[2] as number, height: out[1] as number } : undefined;
  }

  /** No more calls; the threads stop once the calls in flight have resolved. */
  close(): void {
    this.decoder.close();
  }

  private call(jobs: SliceJob[], images: Int16Array | undefined, offsets: Float64Array, rows: number, columns: number): Promise<Int32Array> {
    const paths = jobs.map((j) => j.path);
    const fix = Uint8Array.from(jobs, (j) => (j.rsnaFix ? 1 : 0));
    return callNative(() => this.decoder.decode(paths, fix, offsets, images, rows, columns));
  }
}

function busyMs(out: Int32Array, n: number): number {
  let us = 0;
  for (let k = 0; k < n; k++) us += out[k * STRIDE + 3] as number;
  return us / 1000;
}

/**
 * Running one decode request: the work of a decode worker thread, and of the pool itself when it
 * has no workers. Slices of the target's shape are written straight into the batch memory the
 * request names; the others come back as pixels of their own.
 */
import { performance } from 'node:perf_hooks';

import { IchnetError } from '../../errors/ichnet-error.js';
import { readSlice } from '../slices.js';
import type { SlicePixels } from '../types.js';
import type { DecodeReply, DecodeRequest, PixelShape, SliceOutcome } from './protocol.js';

/** `kind:channels:WxH`, the key batches are grouped by. */
export const shapeKey = (p: PixelShape): string => `${p.kind}:${p.channels}:${p.width}x${p.height}`;

/** Only the shape of some pixels (no reference to their data). */
export const shapeOf = ({ kind, channels, width, height }: PixelShape): PixelShape => ({ kind, channels, width, height });

/** Elements of one slice of this shape. */
export const planeSize = (p: PixelShape): number => p.channels * p.height * p.width;

/** A typed array of the shape's element type over `length` elements of `buffer` from element `offset`. */
export function pixelView(shape: PixelShape, buffer: SharedArrayBuffer, offset: number, length: number): Int16Array | Uint8Array {
  return shape.kind === 'hu' ? new Int16Array(buffer, offset * 2, length) : new Uint8Array(buffer, offset, length);
}

const sameShape = (p: SlicePixels, s: PixelShape) => p.kind === s.kind && p.channels === s.channels && p.width === s.width && p.height === s.height;

/**
 * Decodes a request's slices in order. `transfer` lists the buffers the reply may move instead of
 * copying: whole buffers of pixels that did not go into the target. `readSync`: read files with
 * blocking calls (a decode worker; see `readSlice`).
 */
export async function runRequest(request: DecodeRequest, { readSync = false }: { readSync?: boolean } = {}): Promise<{ reply: DecodeReply; transfer: ArrayBuffer[] }> {
  const started = performance.now();
  const { target } = request;
  const outcomes: SliceOutcome[] = [];
  const transfer = new Set<ArrayBuffer>();
  for (const job of request.jobs) {
    try {
      // A slice of the target's shape goes to its place in the batch: a DICOM slice is rescaled
      // straight into it, other pixels are copied there.
      const place = target && job.offset !== undefined ? pixelView(target.shape, target.buffer, job.offset, planeSize(target.shape)) : undefined;
      const into = place instanceof Int16Array && target ? (rows: number, columns: number) => (rows === target.shape.height && columns === target.shape.width ? place : undefined) : undefined;
      const pixels = await readSlice(job.path, { rsnaFix: job.rsnaFix, readSync, into });
      if (place && target && (pixels.data === place || sameShape(pixels, target.shape))) {
        if (pixels.data !== place) place.set(pixels.data);
        outcomes.push({ ok: true, placed: true });
        continue;
      }
      outcomes.push({ ok: true, placed: false, pixels });
      // Only a buffer the pixels own can move: sharp's output may be a view of a larger pool.
      const { buffer, byteOffset, byteLength } = pixels.data;
      if (buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength) transfer.add(buffer);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      outcomes.push({ ok: false, message, code: e instanceof IchnetError ? e.code : 'DATA_UNREADABLE' });
    }
  }
  return { reply: { id: request.id, outcomes, busyMs: performance.now() - started }, transfer: [...transfer] };
}

/**
 * A decode worker thread: reads and decodes the slices the pool sends (DICOM parsing, every pixel
 * codec, HU rescaling, PNG/JPEG/TIFF decoding — all of `readSlice`) and transfers the pixels back.
 */
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';

import sharp from 'sharp';

import { IchnetError } from '../../errors/ichnet-error.js';
import { readSlice } from '../slices.js';
import type { SlicePixels } from '../types.js';
import type { DecodeReply, DecodeRequest } from './protocol.js';

if (!parentPort) throw new IchnetError('INVALID_ARGUMENT', 'decode worker: must run as a worker thread');
const port = parentPort;
// The pool runs one slice per worker at a time: libvips' own threads would only compete with the
// other workers for the same cores.
sharp.concurrency(1);

// Spent pixel buffers the main thread handed back. The decoded pixels are copied into one of the
// right size and that one travels: the main thread then receives and returns the same memory over
// and over, instead of adopting a fresh buffer per slice, whose external-memory growth made V8
// collect garbage on the main thread every few batches.
const spares: ArrayBuffer[] = [];
const MAX_SPARES = 8;

/** The pixels in a spare buffer of their size when there is one, else as decoded. */
function inSpare(pixels: SlicePixels): SlicePixels {
  const at = spares.findIndex((b) => b.byteLength === pixels.data.byteLength);
  if (at < 0) return pixels;
  const [buffer] = spares.splice(at, 1) as [ArrayBuffer];
  if (pixels.kind === 'hu') {
    const data = new Int16Array(buffer);
    data.set(pixels.data);
    return { ...pixels, data };
  }
  const data = new Uint8Array(buffer);
  data.set(pixels.data);
  return { ...pixels, data };
}

port.on('message', (request: DecodeRequest) => {
  const started = performance.now();
  if (request.spare) {
    spares.push(request.spare);
    if (spares.length > MAX_SPARES) spares.shift();
  }
  readSlice(request.path, { rsnaFix: request.rsnaFix }).then(
    (decoded) => {
      const pixels = inSpare(decoded);
      const reply: DecodeReply = { id: request.id, ok: true, pixels, busyMs: performance.now() - started };
      const { buffer, byteOffset, byteLength } = pixels.data;
      // Move the pixels without a copy when they own their buffer; sharp's output may live in
      // memory V8 cannot hand over, and a view of a larger buffer would move the rest too.
      if (byteOffset === 0 && byteLength === buffer.byteLength) {
        try {
          port.postMessage(reply, [buffer as ArrayBuffer]);
          return;
        } catch {
          // not transferable: copied below
        }
      }
      port.postMessage(reply);
    },
    (e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      const code = e instanceof IchnetError ? e.code : 'DATA_UNREADABLE';
      const reply: DecodeReply = { id: request.id, ok: false, message, code, busyMs: performance.now() - started };
      port.postMessage(reply);
    },
  );
});

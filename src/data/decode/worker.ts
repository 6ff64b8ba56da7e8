/**
 * A decode worker thread: reads and decodes the slices the pool sends (DICOM parsing, every pixel
 * codec, HU rescaling, PNG/JPEG/TIFF decoding — all of `readSlice`) and transfers the pixels back.
 */
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';

import sharp from 'sharp';

import { IchnetError } from '../../errors/ichnet-error.js';
import { readSlice } from '../slices.js';
import type { DecodeReply, DecodeRequest } from './protocol.js';

if (!parentPort) throw new IchnetError('INVALID_ARGUMENT', 'decode worker: must run as a worker thread');
const port = parentPort;
// The pool runs one slice per worker at a time: libvips' own threads would only compete with the
// other workers for the same cores.
sharp.concurrency(1);

port.on('message', (request: DecodeRequest) => {
  const started = performance.now();
  readSlice(request.path, { rsnaFix: request.rsnaFix }).then(
    (pixels) => {
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

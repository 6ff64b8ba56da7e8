/**
 * A decode worker thread: reads and decodes the slices the pool sends (DICOM parsing, every pixel
 * codec, HU rescaling, PNG/JPEG/TIFF decoding — all of `readSlice`), writes them into the batch
 * memory the request names, and answers each request with one message.
 */
import { parentPort } from 'node:worker_threads';

import sharp from 'sharp';

import { IchnetError } from '../../errors/ichnet-error.js';
import type { DecodeRequest } from './protocol.js';
import { runRequest } from './request.js';

if (!parentPort) throw new IchnetError('INVALID_ARGUMENT', 'decode worker: must run as a worker thread');
const port = parentPort;
// The pool runs one request per worker at a time: libvips' own threads would only compete with the
// other workers for the same cores.
sharp.concurrency(1);

// Requests run one after another, in the order they came (the pool sends the next one before this
// one is answered, and reads the replies in that order): a request that awaits (sharp's decoding)
// must not let the next one start.
let previous: Promise<void> = Promise.resolve();
port.on('message', (request: DecodeRequest) => {
  previous = previous.then(async () => {
    const { reply, transfer } = await runRequest(request, { readSync: true });
    try {
      port.postMessage(reply, transfer);
    } catch {
      port.postMessage(reply); // a buffer V8 cannot hand over (memory it does not own): copied
    }
  }).catch((e: unknown) => {
    // Unreachable (runRequest answers every slice's failure): should it happen, the worker dies
    // and the pool retries its requests on a fresh one, rather than waiting for a reply forever.
    process.nextTick(() => {
      throw e;
    });
  });
});

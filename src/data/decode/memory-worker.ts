/**
 * The batch-memory thread: allocates the SharedArrayBuffers of batches (zero-filled here, off the
 * main thread; see batch-memory.ts) and hands them over. It counts each one in its own heap too, so
 * its reference is collected soon after the hand-over and never keeps the memory alive.
 */
import { parentPort } from 'node:worker_threads';

import { IchnetError } from '../../errors/ichnet-error.js';
import { countShared } from './batch-memory.js';
import type { MemoryReply, MemoryRequest } from './protocol.js';

if (!parentPort) throw new IchnetError('INVALID_ARGUMENT', 'batch-memory thread: must run as a worker thread');
const port = parentPort;

port.on('message', ({ id, bytes }: MemoryRequest) => {
  let reply: MemoryReply;
  try {
    reply = { id, buffer: countShared(new SharedArrayBuffer(bytes)) };
  } catch (e) {
    reply = { id, bytes, message: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});

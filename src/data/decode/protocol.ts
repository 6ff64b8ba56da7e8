/** The messages between the decode pool and its worker threads, and those of the batch-memory thread. */
import type { IchnetErrorCode } from '../../errors/ichnet-error.js';
import type { SlicePixels } from '../types.js';

/** What a slice's pixels must be to go into a batch's memory: kind, channels and size. */
export interface PixelShape {
  kind: SlicePixels['kind'];
  channels: 1 | 3;
  width: number;
  height: number;
}

/**
 * Batch memory laid out before decoding: a slice that decodes to `shape` is written into `buffer`
 * (element type Int16 for `hu`, Uint8 otherwise) at its job's `offset`, counted in elements.
 */
export interface DecodeTarget {
  buffer: SharedArrayBuffer;
  shape: PixelShape;
}

/** One slice to decode; `offset` places it in the request's target. */
export interface SliceJob {
  path: string;
  rsnaFix: boolean;
  offset?: number;
}

/** Slices decoded one after another by one worker, answered by one reply. */
export interface DecodeRequest {
  id: number;
  jobs: SliceJob[];
  target?: DecodeTarget;
}

/**
 * One slice's outcome: written into the target (`placed`), decoded but of another shape or without
 * a place (`pixels`, transferred), or the error readSlice threw (its message starts with the path).
 */
export type SliceOutcome =
  | { ok: true; placed: true }
  | { ok: true; placed: false; pixels: SlicePixels }
  | { ok: false; message: string; code: IchnetErrorCode };

/** The outcomes of a request's jobs, in order, and the milliseconds spent decoding them. */
export interface DecodeReply {
  id: number;
  outcomes: SliceOutcome[];
  busyMs: number;
}

/** Asks the batch-memory thread for a zeroed SharedArrayBuffer of `bytes`. */
export interface MemoryRequest {
  id: number;
  bytes: number;
}

/** The buffer asked for (shared, not copied), or why it could not be allocated. */
export type MemoryReply = { id: number; buffer: SharedArrayBuffer } | { id: number; bytes: number; message: string };
